"""Adapter for the schools' REST/JSON pupil service.

Pupils are found by NHS number and keyed by the school system's own pupil id.
The Unique Pupil Number is for education use only: this adapter never offers
it as an identifier to other agencies and never puts it in the section.
"""

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

AGENCY = "schools"
_PARAM_OF_SCHEME = {"NHS_NUMBER": "nhs_number"}

_EXCLUSION_FIELDS = (
    FieldSpec("type", "string", "Suspension or permanent exclusion."),
    FieldSpec("startDate", "date", "First day of the exclusion."),
    FieldSpec("days", "int", "School days excluded."),
    FieldSpec("reason", "string", "Reason recorded by the school."),
)

SECTION = SectionSpec(
    agency=AGENCY,
    title="Schools: school attended, attendance, exclusions and special educational needs.",
    lookup_schemes=("NHS_NUMBER",),
    demographic_search=True,
    batch_lookup=True,
    batch_search=True,
    search_by_block_keys=True,
    read_on_lookup=True,
    fields=(
        FieldSpec("name", "string", "Pupil name as recorded by the school."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec("postcode", "string", "Home postcode held by the school."),
        FieldSpec("school", "string", "School the pupil is on roll at."),
        FieldSpec("yearGroup", "int", "National curriculum year (0 = reception)."),
        FieldSpec("attendancePercent", "float", "Attendance this academic year, percent."),
        FieldSpec("senStatus", "string", "Special educational needs: none, SEN support, EHC plan."),
        FieldSpec(
            "exclusions", "list", "Suspensions and exclusions.", item_fields=_EXCLUSION_FIELDS
        ),
    ),
    labels=("safeguarding_flag",),
    events=(EventSpec("exclusions", "startDate", "school exclusion", ("type", "reason")),),
)


def _candidates(pupils: Any) -> list[Candidate]:
    """A search's pupils as candidates, keyed by pupil id."""
    try:
        return [
            Candidate(
                str(p["pupil_id"]),
                demographics_from(p),
                # The NHS number only: the UPN is never a cross-agency join key.
                (Identifier("NHS_NUMBER", str(p["nhs_number"])),) if p.get("nhs_number") else (),
            )
            for p in pupils
        ]
    except (TypeError, KeyError, AttributeError) as exc:
        raise UpstreamBadReply(AGENCY, "search reply has an unexpected shape") from exc


def _match(asked: Identifier, reply: Any) -> Match | None:
    """The first pupil of a lookup reply; only the identifier asked by goes back, never the UPN."""
    try:
        found = [(str(p["pupil_id"]), demographics_from(p)) for p in reply["pupils"]]
    except (TypeError, KeyError, AttributeError) as exc:
        raise UpstreamBadReply(AGENCY, "lookup reply has an unexpected shape") from exc
    if not found:
        return None
    pupil_id, held = found[0]
    return Match(AGENCY, pupil_id, (asked,), demographics=held)


def _query_match(query: Mapping[str, str], pupils: Any) -> Match | None:
    """The match one query of a batch lookup found, by the NHS number it asked with."""
    return _match(Identifier("NHS_NUMBER", query["nhs_number"]), {"pupils": pupils})


def _sections(reply: Any, fields: frozenset[str]) -> dict[str, dict[str, Any]]:
    """A reply's pupils as sections of ``fields``, by pupil id: what
    :meth:`SchoolsAdapter.read` returns (a batch read's reply, or the records a lookup answered)."""
    try:
        records = {str(p["pupil_id"]): _record(p) for p in reply["pupils"]}
    except (TypeError, KeyError, ValueError) as exc:
        raise UpstreamBadReply(AGENCY, "pupil reply has an unexpected shape") from exc
    return requested_only(records, fields)


def _record(pupil: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": f"{pupil['given_name']} {pupil['family_name']}",
        "dateOfBirth": pupil["date_of_birth"],
        "postcode": pupil["postcode"],
        "school": pupil["school"],
        "yearGroup": int(pupil["year_group"]),
        "attendancePercent": float(pupil["attendance_pct"]),
        "senStatus": pupil["sen_status"],
        "exclusions": [
            {
                "type": e["type"],
                "startDate": e["start_date"],
                "days": int(e["days"]),
                "reason": e["reason"],
            }
            for e in pupil["exclusions"]
        ],
        LABELS_KEY: [label for label in pupil["labels"] if label in SENSITIVITY_LABELS],
    }


@dataclass
class SchoolsAdapter(HttpAdapter):
    def discover(self) -> SectionSpec:
        return SECTION

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        for ident in identifiers:
            if ident.scheme != "NHS_NUMBER":
                continue
            reply = await self._upstream.json("GET", "/pupils", params={"nhs_number": ident.value})
            if match := _match(ident, reply):
                return match
        return None

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """Every person's NHS numbers in one ``POST /pupils/lookup``; first found wins."""
        return await _LOOKUPS.lookup_many(self._upstream, identifier_sets)

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        """:meth:`lookup_many`, asking the same ``POST /pupils/lookup`` for the
        pupils' records too, read as :meth:`read` reads them."""
        return await _LOOKUPS.lookup_and_read_many(self._upstream, identifier_sets, fields)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        return await rest_search(
            AGENCY,
            demographics,
            lambda body: self._upstream.json("POST", "/pupils/search", json=body),
            "pupils",
            _candidates,
        )

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        """Every person's search in one ``POST /pupils/search/batch``."""
        return await rest_search_many(
            AGENCY,
            demographics_list,
            lambda body: self._upstream.json("POST", "/pupils/search/batch", json=body),
            _candidates,
        )

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        reply = await self._upstream.json("POST", "/pupils/batch", json={"ids": list(local_ids)})
        return _sections(reply, fields)


_LOOKUPS = RestLookups(AGENCY, "pupils", _PARAM_OF_SCHEME, _query_match, _sections)
