"""Adapter for the probation service's GraphQL API.

A GraphQL reply can be HTTP 200 and still carry ``errors``; any error, or a
``data`` without the field asked for, becomes UPSTREAM_BAD_REPLY naming how
many errors came back (their messages may quote case data, so they are not
passed on).
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
    FieldSpec,
    HttpAdapter,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    requested_only,
)
from adapters.sdk.demographics import demographics_from

AGENCY = "probation"
_ARGUMENT_OF_SCHEME = {"CASE_REFERENCE": "crn", "PNC_ID": "pncId", "NI_NUMBER": "niNumber"}

_IDENTITY_SELECTION = "crn pncId niNumber givenName familyName dateOfBirth"
"""What lookups and searches select of an offender: identifiers and demographics only."""

_RECORD_SELECTION = """crn givenName familyName dateOfBirth supervisionStatus
    practitioner { name team }
    licenceConditions riskLevel mappaLevel labels"""
"""What reads select of an offender: everything :func:`_record` maps onto the section."""

FIND_QUERY = f"""
query Find($crn: String, $pncId: String, $niNumber: String) {{
  findOffenders(crn: $crn, pncId: $pncId, niNumber: $niNumber) {{ {_IDENTITY_SELECTION} }}
}}"""

READ_QUERY = f"""
query Read($crns: [String!]!) {{
  offenders(crns: $crns) {{
    {_RECORD_SELECTION}
  }}
}}"""

SECTION = SectionSpec(
    agency=AGENCY,
    title="Probation: supervision, practitioner, licence conditions and risk.",
    lookup_schemes=("CASE_REFERENCE", "PNC_ID", "NI_NUMBER"),
    demographic_search=True,
    batch_lookup=True,
    batch_search=True,
    search_by_block_keys=True,
    read_on_lookup=True,
    fields=(
        FieldSpec("caseReference", "string", "Probation case reference number (CRN)."),
        FieldSpec("name", "string", "Name on the probation case."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec(
            "supervisionStatus",
            "string",
            "Current supervision: community order, licence or post-sentence supervision.",
        ),
        FieldSpec("practitioner", "string", "Probation practitioner managing the case."),
        FieldSpec("practitionerTeam", "string", "The practitioner's team."),
        FieldSpec("licenceConditions", "string_list", "Licence conditions in force."),
        FieldSpec(
            "riskOfSeriousHarm", "string", "Risk of serious harm: low, medium, high, very high."
        ),
        FieldSpec("mappaLevel", "int", "MAPPA management level (0 when not MAPPA-managed)."),
    ),
    labels=("mappa_level_1", "mappa_level_2", "mappa_level_3"),
)


def _record(offender: Mapping[str, Any]) -> dict[str, Any]:
    practitioner = offender.get("practitioner") or {}
    return {
        "caseReference": offender["crn"],
        "name": f"{offender.get('givenName') or ''} {offender.get('familyName') or ''}".strip(),
        "dateOfBirth": offender.get("dateOfBirth"),
        "supervisionStatus": offender.get("supervisionStatus"),
        "practitioner": practitioner.get("name"),
        "practitionerTeam": practitioner.get("team"),
        "licenceConditions": [str(c) for c in offender.get("licenceConditions") or []],
        "riskOfSeriousHarm": offender.get("riskLevel"),
        "mappaLevel": offender.get("mappaLevel"),
        LABELS_KEY: [
            label for label in offender.get("labels") or [] if label in SENSITIVITY_LABELS
        ],
    }


def _candidate(offender: Any) -> Candidate:
    """An offender as findOffenders/searchOffenders return it: identifiers and demographics."""
    try:
        held = [Identifier("CASE_REFERENCE", str(offender["crn"]))]
        held += [
            Identifier(scheme, str(offender[key]))
            for scheme, key in (("PNC_ID", "pncId"), ("NI_NUMBER", "niNumber"))
            if offender.get(key)
        ]
        demographics = demographics_from(
            {
                "given_name": offender.get("givenName"),
                "family_name": offender.get("familyName"),
                "date_of_birth": offender.get("dateOfBirth"),
            }
        )
    except (TypeError, KeyError, AttributeError) as exc:
        raise UpstreamBadReply(AGENCY, "offender reply has an unexpected shape") from exc
    return Candidate(held[0].value, demographics, tuple(held))


def _records(offenders: list[Any]) -> dict[str, dict[str, Any]]:
    """Offenders as selected by :data:`_RECORD_SELECTION`, as section records by case
    reference; offenders of another shape are a bad reply."""
    try:
        return {str(o["crn"]): _record(o) for o in offenders}
    except (TypeError, KeyError, AttributeError) as exc:
        raise UpstreamBadReply(AGENCY, "offenders have an unexpected shape") from exc


def _match(offender: Any) -> Match:
    """An offender ``findOffenders`` found by an identifier, as a match (an exact one)."""
    found = _candidate(offender)
    return Match(AGENCY, found.local_id, found.identifiers, demographics=found.demographics)


@dataclass
class ProbationAdapter(HttpAdapter):
    def discover(self) -> SectionSpec:
        return SECTION

    async def _query(self, query: str, variables: Mapping[str, Any], root_field: str) -> Any:
        return (await self._lists(query, variables, (root_field,)))[root_field]

    async def _lists(
        self, query: str, variables: Mapping[str, Any], root_fields: tuple[str, ...]
    ) -> dict[str, Any]:
        """The reply's data, once each root field (or alias) is checked to be a list."""
        reply = await self._upstream.json(
            "POST", "/graphql", json={"query": query, "variables": dict(variables)}
        )
        if not isinstance(reply, dict):
            raise UpstreamBadReply(AGENCY, "GraphQL reply is not an object")
        errors = reply.get("errors")
        if errors:
            count = len(errors) if isinstance(errors, list) else 1
            raise UpstreamBadReply(AGENCY, f"GraphQL reply has {count} error(s)")
        data = reply.get("data")
        for root_field in root_fields:
            if not isinstance(data, dict) or not isinstance(data.get(root_field), list):
                raise UpstreamBadReply(AGENCY, f"GraphQL reply has no {root_field} list")
        assert isinstance(data, dict)
        return data

    async def probe(self) -> str | None:
        await self._query(READ_QUERY, {"crns": []}, "offenders")
        return None

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        variables = {
            _ARGUMENT_OF_SCHEME[i.scheme]: i.value
            for i in identifiers
            if i.scheme in _ARGUMENT_OF_SCHEME
        }
        if not variables:
            return None
        found = await self._query(FIND_QUERY, variables, "findOffenders")
        return _match(found[0]) if found else None

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        found = await self._find_many(identifier_sets, "FindMany", _IDENTITY_SELECTION)
        return [_match(offender) if offender is not None else None for offender in found]

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        """:meth:`lookup_many`'s document, each alias also selecting what :meth:`read`
        selects: ``findOffenders`` returns whole offenders, so one query does both."""
        found = await self._find_many(
            identifier_sets, "FindAndReadMany", f"{_IDENTITY_SELECTION} {_RECORD_SELECTION}"
        )
        matches = [_match(offender) if offender is not None else None for offender in found]
        records = requested_only(_records([o for o in found if o is not None]), fields)
        return [(match, records[match.local_id]) if match else None for match in matches]

    async def _find_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], operation: str, selection: str
    ) -> list[Any]:
        """Every person's ``findOffenders`` in one GraphQL document, one alias per person,
        each selecting ``selection``: the first offender found per person, or None (people
        with no identifier probation keys by are not asked; nobody asked, nothing is sent)."""
        declarations, lookups, variables, aliases = [], [], {}, {}
        for person, identifiers in enumerate(identifier_sets):
            arguments = {
                _ARGUMENT_OF_SCHEME[i.scheme]: i.value
                for i in identifiers
                if i.scheme in _ARGUMENT_OF_SCHEME
            }
            if not arguments:
                continue
            for argument, value in arguments.items():
                declarations.append(f"${argument}{person}: String")
                variables[f"{argument}{person}"] = value
            given = ", ".join(f"{argument}: ${argument}{person}" for argument in arguments)
            lookups.append(f"p{person}: findOffenders({given}) {{ {selection} }}")
            aliases[person] = f"p{person}"
        if not aliases:
            return [None] * len(identifier_sets)
        query = f"query {operation}({', '.join(declarations)}) {{ {' '.join(lookups)} }}"
        data = await self._lists(query, variables, tuple(aliases.values()))
        return [
            data[aliases[person]][0] if person in aliases and data[aliases[person]] else None
            for person in range(len(identifier_sets))
        ]

    async def search(self, demographics: Demographics) -> list[Candidate]:
        return (await self.search_many((demographics,)))[0]

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        """Every person's ``searchOffenders`` in one GraphQL document, one alias per person."""
        declarations: list[str] = []
        fields: list[str] = []
        variables: dict[str, str | None] = {}
        aliases: dict[int, str] = {}
        for person, who in enumerate(demographics_list):
            if not who.family_name or not who.date_of_birth:
                continue  # nothing to block on: nobody is found surely
            declarations += [
                f"$familyName{person}: String!",
                f"$dateOfBirth{person}: String!",
                f"$givenName{person}: String",
            ]
            variables |= {
                f"familyName{person}": who.family_name,
                f"dateOfBirth{person}": who.date_of_birth,
                f"givenName{person}": who.given_name,
            }
            fields.append(
                f"s{person}: searchOffenders(familyName: $familyName{person}, "
                f"dateOfBirth: $dateOfBirth{person}, givenName: $givenName{person}) "
                f"{{ {_IDENTITY_SELECTION} }}"
            )
            aliases[person] = f"s{person}"
        if not aliases:
            return [[] for _ in demographics_list]
        query = f"query SearchMany({', '.join(declarations)}) {{ {' '.join(fields)} }}"
        data = await self._lists(query, variables, tuple(aliases.values()))
        return [
            [_candidate(offender) for offender in data.get(aliases.get(person, ""), [])]
            for person in range(len(demographics_list))
        ]

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        found = await self._query(READ_QUERY, {"crns": list(local_ids)}, "offenders")
        return requested_only(_records(found), fields)
