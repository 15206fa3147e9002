"""Adapter for the benefits agency's REST/JSON API, over the SDK's HttpUpstream.

Replies are hostile until parsed (HttpUpstream caps, times and decodes them);
anything that is not a JSON object of the expected shape is ``UPSTREAM_BAD_REPLY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.sdk import (
    Candidate,
    Demographics,
    EventSpec,
    FieldSpec,
    HttpAdapter,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
)
from adapters.sdk.demographics import (
    demographics_from,
    rest_search,
    rest_search_many,
)
from adapters.sdk.http_adapter import RestLookups

AGENCY = "benefits"
_PARAM_OF_SCHEME = {"NI_NUMBER": "ni_number"}

_CLAIM_FIELDS = (
    FieldSpec("type", "string", "Benefit claimed."),
    FieldSpec("status", "string", "in payment, suspended or closed."),
    FieldSpec("startDate", "date", "Date the claim started."),
)

SECTION = SectionSpec(
    agency=AGENCY,
    title="Benefits agency",
    lookup_schemes=("NI_NUMBER",),
    demographic_search=True,
    batch_lookup=True,
    batch_search=True,
    search_by_block_keys=True,
    read_on_lookup=True,
    fields=(
        FieldSpec("niNumber", "string", "National Insurance number."),
        FieldSpec("name", "string", "Claimant name."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec("postcode", "string", "Postcode held by the agency."),
        FieldSpec("claims", "list", "Benefit claims.", item_fields=_CLAIM_FIELDS),
        FieldSpec("sanctions", "int", "Number of sanctions applied."),
        FieldSpec("workCoach", "string", "Assigned work coach."),
    ),
    events=(EventSpec("claims", "startDate", "benefit claim started", ("type", "status")),),
)


@dataclass
class BenefitsAdapter(HttpAdapter):
    def discover(self) -> SectionSpec:
        return SECTION

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self._upstream.json(method, path, not_found_is_none=True, **kwargs)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        for ident in identifiers:
            if ident.scheme != "NI_NUMBER":
                continue
            reply = await self._call("GET", "/claimants", params={"ni_number": ident.value})
            if match := _match(reply):
                return match
        return None

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """Every person's NI numbers in one ``POST /claimants/lookup``; first found wins."""
        return await _LOOKUPS.lookup_many(self._upstream, identifier_sets)

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        """:meth:`lookup_many`, asking the same ``POST /claimants/lookup`` for the
        claimants' records too, read as :meth:`read` reads them."""
        return await _LOOKUPS.lookup_and_read_many(self._upstream, identifier_sets, fields)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        return await rest_search(
            AGENCY,
            demographics,
            lambda body: self._call("POST", "/claimants/search", json=body),
            "claimants",
            _candidates,
        )

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        """Every person's search in one ``POST /claimants/search/batch``."""
        return await rest_search_many(
            AGENCY,
            demographics_list,
            lambda body: self._call("POST", "/claimants/search/batch", json=body),
            _candidates,
        )

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        reply = await self._call("POST", "/claimants/batch", json={"ids": list(local_ids)})
        return _sections(reply, fields)


def _candidates(claimants: Any) -> list[Candidate]:
    """A search's claimants as candidates, keyed and identified by NI number."""
    try:
        return [
            Candidate(
                str(c["ni_number"]),
                demographics_from(c),
                (Identifier("NI_NUMBER", str(c["ni_number"])),),
            )
            for c in claimants
        ]
    except (TypeError, KeyError, AttributeError) as exc:
        raise UpstreamBadReply(AGENCY, "search reply has an unexpected shape") from exc


def _match(reply: Any) -> Match | None:
    """The first claimant of a lookup reply, by the NI number it holds."""
    try:
        found = [(str(c["ni_number"]), demographics_from(c)) for c in reply["claimants"]]
    except (TypeError, KeyError) as exc:
        raise UpstreamBadReply(AGENCY, "lookup reply has an unexpected shape") from exc
    if not found:
        return None
    ni_number, held = found[0]
    return Match(AGENCY, ni_number, (Identifier("NI_NUMBER", ni_number),), demographics=held)


def _sections(reply: Any, fields: frozenset[str]) -> dict[str, dict[str, Any]]:
    """A reply's claimants as sections of ``fields``, by NI number: what
    :meth:`BenefitsAdapter.read` returns (a batch read's reply, or the records a lookup
    answered)."""
    try:
        return {
            claimant["ni_number"]: _section(claimant, fields) for claimant in reply["claimants"]
        }
    except (TypeError, KeyError, ValueError) as exc:
        raise UpstreamBadReply(AGENCY, "claimant reply has an unexpected shape") from exc


def _query_match(query: Mapping[str, str], claimants: Any) -> Match | None:
    """The match one query of a batch lookup found: its first claimant, as :func:`_match`."""
    return _match({"claimants": claimants})


def _section(claimant: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    record = {
        "niNumber": claimant["ni_number"],
        "name": claimant["name"],
        "dateOfBirth": claimant["date_of_birth"],
        "postcode": claimant["postcode"],
        "claims": [
            {"type": c["type"], "status": c["status"], "startDate": c["start_date"]}
            for c in claimant["claims"]
        ],
        "sanctions": int(claimant["sanctions"]),
        "workCoach": claimant["work_coach"],
    }
    return {name: value for name, value in record.items() if name in fields}


_LOOKUPS = RestLookups(AGENCY, "claimants", _PARAM_OF_SCHEME, _query_match, _sections)
