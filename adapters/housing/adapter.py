"""Adapter for the housing service's REST/JSON API: tenancy, homelessness, arrears."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.sdk import (
    LABELS_KEY,
    SENSITIVITY_LABELS,
    Candidate,
    Demographics,
    EventSpec,
    FieldSpec,
    HouseholdLink,
    HttpAdapter,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    requested_only,
)
from adapters.sdk.demographics import (
    demographics_from,
    rest_search,
    rest_search_many,
)
from adapters.sdk.http_adapter import RestLookups

AGENCY = "housing"
_PARAM_OF_SCHEME = {"HOUSING_REF": "housing_ref", "NI_NUMBER": "ni_number"}

_APPLICATION_FIELDS = (
    FieldSpec("appliedOn", "date", "Date of the homelessness application."),
    FieldSpec("status", "string", "accepted, under assessment or closed."),
    FieldSpec("duty", "string", "Duty owed: prevention, relief or main housing duty."),
)

SECTION = SectionSpec(
    agency=AGENCY,
    title="Housing: tenancy, homelessness applications and rent arrears.",
    lookup_schemes=("HOUSING_REF", "NI_NUMBER"),
    demographic_search=True,
    household_links=True,
    batch_lookup=True,
    batch_search=True,
    search_by_block_keys=True,
    read_on_lookup=True,
    fields=(
        FieldSpec("housingReference", "string", "Housing reference."),
        FieldSpec("name", "string", "Tenant or applicant name."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec("address", "address", "Address of the tenancy or accommodation."),
        FieldSpec("postcode", "string", "Postcode of the tenancy or accommodation."),
        FieldSpec("tenure", "string", "Kind of tenancy, e.g. secure council tenancy."),
        FieldSpec("tenancyStart", "date", "Date the tenancy started."),
        FieldSpec("rentArrears", "float", "Rent arrears in pounds (0 when none)."),
        FieldSpec(
            "homelessnessApplications",
            "list",
            "Homelessness applications.",
            item_fields=_APPLICATION_FIELDS,
        ),
    ),
    labels=("refuge_address",),
    events=(
        EventSpec(
            "homelessnessApplications", "appliedOn", "homelessness application", ("duty", "status")
        ),
    ),
)


def _sections(reply: Any, fields: frozenset[str]) -> dict[str, dict[str, Any]]:
    """A reply's tenants as sections of ``fields``, by housing reference: what
    :meth:`HousingAdapter.read` returns (a batch read's reply, or the records a lookup
    answered)."""
    try:
        records = {str(t["housing_ref"]): _record(t) for t in reply["tenants"]}
    except (TypeError, KeyError, ValueError) as exc:
        raise UpstreamBadReply(AGENCY, "tenant reply has an unexpected shape") from exc
    return requested_only(records, fields)


def _record(tenant: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "housingReference": tenant["housing_ref"],
        "name": tenant["name"],
        "dateOfBirth": tenant["date_of_birth"],
        "address": tenant["address"],
        "postcode": tenant["postcode"],
        "tenure": tenant["tenancy"]["tenure"],
        "tenancyStart": tenant["tenancy"]["start_date"],
        "rentArrears": float(tenant["arrears"]),
        "homelessnessApplications": [
            {"appliedOn": a["date"], "status": a["status"], "duty": a["duty"]}
            for a in tenant["homelessness_applications"]
        ],
        LABELS_KEY: [label for label in tenant["labels"] if label in SENSITIVITY_LABELS],
    }


def _link(member: Mapping[str, Any]) -> HouseholdLink:
    """A tenancy's household member: a joint tenant by housing reference, anyone else
    (children on the application) by name and date of birth only."""
    relationship = str(member["relationship"])
    if member.get("housing_ref"):
        return HouseholdLink(relationship, (Identifier("HOUSING_REF", str(member["housing_ref"])),))
    described = demographics_from(member)
    if described.family_name is None or described.date_of_birth is None:
        raise KeyError("a household member needs a housing reference or a name and birth date")
    return HouseholdLink(relationship, demographics=described)


def _candidates(tenants: Any) -> list[Candidate]:
    """A search's tenants as candidates, with the identifiers housing holds."""
    try:
        return [
            Candidate(
                str(tenant["housing_ref"]),
                demographics_from(tenant),
                tuple(
                    Identifier(scheme, str(tenant[key]))
                    for scheme, key in (("HOUSING_REF", "housing_ref"), ("NI_NUMBER", "ni_number"))
                    if tenant.get(key)
                ),
            )
            for tenant in tenants
        ]
    except (TypeError, KeyError, AttributeError) as exc:
        raise UpstreamBadReply(AGENCY, "search reply has an unexpected shape") from exc


def _match(reply: Any) -> Match | None:
    """The first tenant of a lookup reply, with the identifiers housing holds."""
    try:
        found = reply["tenants"]
        if not found:
            return None
        tenant = found[0]
        held = [Identifier("HOUSING_REF", str(tenant["housing_ref"]))]
        if tenant.get("ni_number"):
            held.append(Identifier("NI_NUMBER", str(tenant["ni_number"])))
        return Match(
            AGENCY,
            str(tenant["housing_ref"]),
            tuple(held),
            demographics=demographics_from(tenant),
        )
    except (TypeError, KeyError, IndexError) as exc:
        raise UpstreamBadReply(AGENCY, "lookup reply has an unexpected shape") from exc


def _query_match(query: Mapping[str, str], tenants: Any) -> Match | None:
    """The match one query of a batch lookup found: its first tenant, as :func:`_match`."""
    return _match({"tenants": tenants})


@dataclass
class HousingAdapter(HttpAdapter):
    def discover(self) -> SectionSpec:
        return SECTION

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        for ident in identifiers:
            param = _PARAM_OF_SCHEME.get(ident.scheme)
            if param is None:
                continue
            reply = await self._upstream.json("GET", "/tenants", params={param: ident.value})
            if match := _match(reply):
                return match
        return None

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """Every person's identifiers in one ``POST /tenants/lookup``; first found wins."""
        return await _LOOKUPS.lookup_many(self._upstream, identifier_sets)

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        """:meth:`lookup_many`, asking the same ``POST /tenants/lookup`` for the
        tenants' records too, read as :meth:`read` reads them."""
        return await _LOOKUPS.lookup_and_read_many(self._upstream, identifier_sets, fields)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        return await rest_search(
            AGENCY,
            demographics,
            lambda body: self._upstream.json("POST", "/tenants/search", json=body),
            "tenants",
            _candidates,
        )

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        """Every person's search in one ``POST /tenants/search/batch``."""
        return await rest_search_many(
            AGENCY,
            demographics_list,
            lambda body: self._upstream.json("POST", "/tenants/search/batch", json=body),
            _candidates,
        )

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        reply = await self._upstream.json("POST", "/tenants/batch", json={"ids": list(local_ids)})
        return _sections(reply, fields)

    async def household(
        self, local_ids: tuple[str, ...]
    ) -> Mapping[str, tuple[HouseholdLink, ...]]:
        """Who lives at each tenancy, from the tenancy records (one batch request)."""
        reply = await self._upstream.json("POST", "/tenants/batch", json={"ids": list(local_ids)})
        try:
            return {
                str(t["housing_ref"]): tuple(_link(m) for m in t.get("household") or ())
                for t in reply["tenants"]
            }
        except (TypeError, KeyError, AttributeError) as exc:
            raise UpstreamBadReply(AGENCY, "tenant reply has an unexpected shape") from exc


_LOOKUPS = RestLookups(AGENCY, "tenants", _PARAM_OF_SCHEME, _query_match, _sections)
