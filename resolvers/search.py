"""``Query.findPerson``: look a person up by name and date of birth (and maybe postcode).

Every agency that offers demographic search and with which the caller holds an
agreement for the purpose is searched at once (through the request's FanOut,
so each call is timed, retried and bounded like any other). Each record found
is scored against the search by the Fellegi-Sunter model; records in different
agencies sharing a strong identifier are one candidate (see
:mod:`gateway.identity.candidates`). Candidates are never merged otherwise:
each is listed separately, most probable first, with a signed MATCH token the
caller passes back to ``person`` to open the one they confirm.

The policy (``joinedup.search``, in the request's one decision) says who may
search for which purpose, the least probability worth listing, how many to
list, and which disambiguating details (name, year of birth, postcode
district) each role sees; the PolicyFilter applies those per field.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from adapters.sdk import Demographics
from gateway.identity import match_token
from gateway.identity.candidates import CandidatePerson, group, score
from gateway.identity.match_token import RecordLink
from gateway.policy.decision import NOT_DECIDED, Decision
from resolvers.context import RequestContext, SearchDisclosure
from resolvers.errors import ForbiddenField, InvalidSearch

if TYPE_CHECKING:
    from resolvers.schema import PersonIdentifier

COORDINATE = "Query.findPerson"
GOVERNED_TYPES = frozenset({"PersonSearch", "PersonCandidate"})
AUDIT_SCHEME = "DEMOGRAPHICS"
"""How the audit names a search: the searched details, stored as a keyed hash."""
_MAX_TEXT = 100


@strawberry.input(description="Who to look for: what a caller knows without an identifier.")
class DemographicsInput:
    given_name: str
    family_name: str
    date_of_birth: str = strawberry.field(description="ISO date, e.g. 1984-03-07.")
    postcode: str | None = None


@strawberry.enum(description="How sure the gateway is that a candidate is the person.")
class CandidateStatus(enum.Enum):
    LIKELY = "likely"
    POSSIBLE = "possible"


@strawberry.type(
    description="A person who may be the one searched for: confirm by opening its reference."
)
class PersonCandidate:
    reference: Annotated[PersonIdentifier, strawberry.lazy("resolvers.schema")] = strawberry.field(
        description="Scheme MATCH: pass it to person(reference:) to open this person. "
        "Signed, expiring, and valid only for the user it was issued to."
    )
    probability: float = strawberry.field(description="Calibrated match probability.")
    status: CandidateStatus = strawberry.field(
        description="LIKELY at or above the policy's identity threshold, else POSSIBLE."
    )
    name: str | None = strawberry.field(description="As policy allows, for disambiguation.")
    year_of_birth: int | None = strawberry.field(description="As policy allows.")
    postcode_district: str | None = strawberry.field(description="As policy allows.")
    agencies: list[str] = strawberry.field(description="Agencies holding a matching record.")


@strawberry.type(description="The candidates a demographic search found.")
class PersonSearch:
    candidates: list[PersonCandidate] = strawberry.field(
        description="Most probable first; never merged: each is a separate person to confirm."
    )
    unavailable: list[str] = strawberry.field(description="Agencies that could not be searched.")


@dataclass(frozen=True)
class SearchLimits:
    """What the policy's decision allows a search (``Decision.search``)."""

    min_probability: float
    likely_at: float
    max_candidates: int
    agencies: tuple[str, ...]

    @classmethod
    def from_decision(cls, decision: Decision) -> SearchLimits:
        raw = decision.search
        try:
            limits = cls(
                float(raw["min_probability"]),
                float(raw["likely_at"]),
                int(raw["max_candidates"]),
                tuple(str(a) for a in raw["agencies"]),
            )
        except (KeyError, TypeError, ValueError):
            raise ForbiddenField(COORDINATE, "the policy set no limits for this search") from None
        if not 0 < limits.min_probability <= 1 or limits.max_candidates < 1:
            raise ForbiddenField(COORDINATE, "the policy's search limits are not valid")
        return limits


def _text(value: str, what: str) -> str:
    text = " ".join(value.split())
    if not text or len(text) > _MAX_TEXT:
        raise InvalidSearch(f"{what} must be between 1 and {_MAX_TEXT} characters")
    return text


def searched_demographics(given: DemographicsInput) -> Demographics:
    """The search, checked: a caller's input is never sent on malformed."""
    dob = given.date_of_birth.strip()
    try:
        born = date.fromisoformat(dob)
    except ValueError:
        raise InvalidSearch("dateOfBirth must be an ISO date (YYYY-MM-DD)") from None
    if len(dob) != 10 or born > date.today():
        raise InvalidSearch("dateOfBirth must be an ISO date (YYYY-MM-DD), not in the future")
    postcode = " ".join((given.postcode or "").upper().split()) or None
    if postcode is not None and not (5 <= len(postcode.replace(" ", "")) <= 7):
        raise InvalidSearch("postcode must be a UK postcode, e.g. AB1 2CD")
    return Demographics(
        _text(given.given_name, "givenName"),
        _text(given.family_name, "familyName"),
        dob,
        postcode,
    )


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def _requested_fields(info: strawberry.Info) -> frozenset[str]:
    """The candidate fields the query asks for (through any fragments): what it discloses."""
    return frozenset(
        detail.name
        for search in info.selected_fields
        for candidates in _fields(search.selections)
        if candidates.name == "candidates"
        for detail in _fields(candidates.selections)
        if not detail.name.startswith("__")
    )


def _disclosure(
    searched: Demographics, people: list[CandidatePerson], decision: Decision, asked: frozenset[str]
) -> SearchDisclosure:
    effects = {name: decision.for_field(f"PersonCandidate.{name}") for name in sorted(asked)}
    return SearchDisclosure(
        searched="|".join(
            v or "" for v in (searched.family_name, searched.given_name, searched.date_of_birth)
        )
        + f"|{searched.postcode or ''}",
        candidates=tuple(
            tuple(
                sorted(
                    {(i.scheme, i.value) for r in person.records for i in r.candidate.identifiers}
                )
            )
            for person in people
        ),
        disclosed=tuple(f"PersonCandidate.{n}" for n, d in effects.items() if d.effect == "allow"),
        masked=tuple(f"PersonCandidate.{n}" for n, d in effects.items() if d.effect == "mask"),
        withheld={
            f"PersonCandidate.{n}": d.reason or NOT_DECIDED
            for n, d in effects.items()
            if d.effect == "deny"
        },
    )


def _postcode_district(postcode: str | None) -> str | None:
    compact = (postcode or "").replace(" ", "").upper()
    return compact[:-3] if len(compact) >= 5 else None


def _candidate(
    person: CandidatePerson, limits: SearchLimits, token: str, identifier_type: Any
) -> PersonCandidate:
    held = person.best.candidate.demographics
    names = " ".join(n for n in (held.given_name, held.family_name) if n)
    dob = held.date_of_birth or ""
    return PersonCandidate(
        reference=identifier_type(scheme=match_token.SCHEME, value=token),
        probability=round(person.probability, 4),
        status=(
            CandidateStatus.LIKELY
            if person.probability >= limits.likely_at
            else CandidateStatus.POSSIBLE
        ),
        name=names or None,
        year_of_birth=int(dob[:4]) if dob[:4].isdigit() else None,
        postcode_district=_postcode_district(held.postcode),
        agencies=list(person.agencies),
    )


async def find_person(
    info: strawberry.Info, demographics: DemographicsInput, identifier_type: Any
) -> PersonSearch:
    context: RequestContext = info.context
    permission = context.decision.for_field(COORDINATE)
    if permission.effect != "allow":
        raise ForbiddenField(COORDINATE, permission.reason or NOT_DECIDED)
    limits = SearchLimits.from_decision(context.decision)
    searched = searched_demographics(demographics)
    fanout = context.fanout
    if fanout.match_tokens is None or fanout.user is None:
        raise ForbiddenField(COORDINATE, "this gateway issues no match tokens, so it cannot search")
    agencies = [
        name
        for name in limits.agencies
        if name in fanout.adapters and fanout.adapters[name].discover().demographic_search
    ]
    found, failed = await fanout.search(searched, agencies)
    people = group(score(fanout.matcher.model, searched, found, limits.min_probability))
    people = people[: limits.max_candidates]
    context.searches.append(
        _disclosure(searched, people, context.decision, _requested_fields(info))
    )
    tokens, user = fanout.match_tokens, fanout.user
    return PersonSearch(
        candidates=[
            _candidate(
                person,
                limits,
                tokens.issue(
                    user,
                    [
                        RecordLink(r.agency, r.candidate.local_id, r.candidate.identifiers)
                        for r in person.records
                    ],
                ),
                identifier_type,
            )
            for person in people
        ],
        unavailable=sorted(failed),
    )


def query_field(identifier_type: Any) -> Any:
    """``Query.findPerson``; ``identifier_type`` is the schema's PersonIdentifier."""

    async def resolve(info: strawberry.Info, demographics: DemographicsInput) -> PersonSearch:
        return await find_person(info, demographics, identifier_type)

    return strawberry.field(
        resolver=resolve,
        name="findPerson",
        description="Look a person up by name and date of birth (and postcode, if known): "
        "candidates to confirm, each opened with person(reference: {scheme: MATCH, ...}).",
    )
