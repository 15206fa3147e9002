"""Households: who lives with or is family of each person, each member under policy.

Like identity resolution this runs before the one policy decision and exchanges
identifiers only: every agency that offers household links (council
relationships, housing tenancies) is asked once for all the people of the
request, and each link is resolved to a person with :meth:`FanOut.find` (or,
for a link known only by name and date of birth, by matching it against the
person and the members named by identifiers, and only failing that by a
demographic search scored like any other, batched with the request's other
searches). The members then join the decision as people of their
own, so relationship, consent and identity gates apply to each of them.

A link from an agency is shown only if the decision allows that agency's
household coordinate (``<Agency>Household.relationship`` in its catalogue)
and the subject's gate for the agency; a member's fields are attributed to the
member (``RequestContext.register_member``), so they are decided and audited
as that person's.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Optional

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.tools import create_type

from adapters.sdk import AdapterError, Demographics, HouseholdLink, Identifier, Match
from gateway.identity.blocking import in_block
from gateway.identity.federated import FederatedMatcher
from gateway.identity.matching import POSSIBLE_FLOOR
from gateway.policy import Decision
from resolvers.context import Outcome, RequestContext
from resolvers.errors import ForbiddenField, HouseholdTooLarge, UpstreamFailure
from resolvers.fanout import FanOut, PersonFetch
from resolvers.masks import apply_mask
from resolvers.sections import SectionType, household_coordinate
from resolvers.timeline import Timeline, TimelineEvent, TimelineGap, person_events

MAX_HOUSEHOLD_MEMBERS = 12
"""Most links one person's household may have: beyond it the household is refused."""
MAX_HOUSEHOLD_PEOPLE = 100
"""Most household links one request resolves (each may cost a lookup in every agency)."""
_NO_JOIN = frozenset({"UPN"})
"""Identifiers never used to find someone across agencies (the UPN is for education only)."""
_REFERENCE_ORDER = ("NHS_NUMBER", "NI_NUMBER", "COUNCIL_ID", "HOUSING_REF", "PNC_ID", "CRN")


@dataclass(frozen=True)
class MemberLink:
    """One agency's link from a person to someone else; ``person`` None if nobody matched."""

    relationship: str
    source: str
    person: PersonFetch | None


@dataclass
class HouseholdFetch:
    """What the household-link agencies said about one person during one request."""

    links: list[MemberLink] = field(default_factory=list)
    unavailable: dict[str, AdapterError] = field(default_factory=dict)
    refused: str | None = None
    """Why the household was not resolved (too large), if it was not."""


async def resolve_households(
    fanout: FanOut, persons: Sequence[PersonFetch]
) -> dict[str, HouseholdFetch]:
    """Each person's household (keyed by person key): one call per linking agency."""
    agencies = [name for name, a in fanout.adapters.items() if a.discover().household_links]
    replies = await asyncio.gather(*(_links_from(fanout, name, persons) for name in agencies))
    households: dict[str, HouseholdFetch] = {}
    wanted: list[tuple[PersonFetch, HouseholdFetch, list[tuple[str, HouseholdLink]]]] = []
    budget = MAX_HOUSEHOLD_PEOPLE
    for person in {p.key: p for p in persons}.values():
        household = households[person.key] = HouseholdFetch()
        raw: list[tuple[str, HouseholdLink]] = []
        for agency, (links, error) in zip(agencies, replies, strict=True):
            match = person.matches.get(agency)
            if error is not None and match is not None:
                household.unavailable[agency] = error
            elif match is not None:
                raw += [(agency, link) for link in links.get(match.local_id, ())]
        if len(raw) > MAX_HOUSEHOLD_MEMBERS:
            household.refused = (
                f"the household has more than {MAX_HOUSEHOLD_MEMBERS} links: "
                "look its members up one by one"
            )
        elif len(raw) > budget:
            household.refused = (
                f"one request resolves at most {MAX_HOUSEHOLD_PEOPLE} household links: "
                "ask about fewer people"
            )
        else:
            budget -= len(raw)
            wanted.append((person, household, raw))
    # Every member of every household at once: FanOut.find resolves each person once.
    # Members named by identifiers first: a member listed only by name and date of
    # birth is then matched against them and the person before any agency is searched.
    named = [(person, link) for person, _, raw in wanted for _, link in raw]
    by_identifiers = await asyncio.gather(*(_identified(fanout, link) for _, link in named))
    resolved: dict[str, list[PersonFetch]] = {person.key: [person] for person, _, _ in wanted}
    for (person, _), member in zip(named, by_identifiers, strict=True):
        if member is not None:
            resolved[person.key].append(member)
    described = await asyncio.gather(
        *(
            _described(fanout, link.demographics, resolved[person.key])
            if _join_key(link.identifiers) is None and link.demographics is not None
            else _nobody()
            for person, link in named
        )
    )
    members = iter(zip(by_identifiers, described, strict=True))
    for person, household, raw in wanted:
        for agency, link in raw:
            identified, found = next(members)
            member = identified or found
            if member is None or not _same_person(member, person):
                household.links.append(MemberLink(link.relationship, agency, member))
    return households


def household_members(households: Mapping[str, HouseholdFetch]) -> list[PersonFetch]:
    """Every resolved member of these households, once each."""
    unique: dict[str, PersonFetch] = {}
    for household in households.values():
        for link in household.links:
            if link.person is not None:
                unique.setdefault(link.person.key, link.person)
    return list(unique.values())


def visible_links(
    decision: Decision, subject: PersonFetch, household: HouseholdFetch
) -> tuple[list[MemberLink], dict[str, tuple[str, str]]]:
    """The links the caller may see, and per hidden source agency (coordinate, reason).

    A link is visible when the decision allows (or masks) its agency's household
    coordinate and the subject's gate for that agency lets the subject through.
    """
    shown: list[MemberLink] = []
    hidden: dict[str, tuple[str, str]] = {}
    for link in household.links:
        coordinate = household_coordinate(link.source)
        allowed = decision.for_field(coordinate)
        gate = decision.for_person(subject.key, link.source)
        if allowed.effect == "deny":
            hidden[link.source] = (coordinate, allowed.reason or "denied by policy")
        elif gate.effect != "allow":
            hidden[link.source] = (coordinate, gate.reason or "denied by policy")
        else:
            shown.append(link)
    return shown, hidden


def members_to_read(
    decision: Decision,
    subjects: Iterable[PersonFetch],
    households: Mapping[str, HouseholdFetch],
) -> list[PersonFetch]:
    """Members the caller may see a link to: only their sections are read."""
    unique: dict[str, PersonFetch] = {}
    for subject in subjects:
        household = households.get(subject.key)
        if household is None:
            continue
        for link in visible_links(decision, subject, household)[0]:
            if link.person is not None:
                unique.setdefault(link.person.key, link.person)
    return list(unique.values())


async def _links_from(
    fanout: FanOut, agency: str, persons: Sequence[PersonFetch]
) -> tuple[Mapping[str, tuple[HouseholdLink, ...]], AdapterError | None]:
    adapter = fanout.adapters[agency]
    local_ids = sorted({p.matches[agency].local_id for p in persons if agency in p.matches})
    if not local_ids:
        return {}, None
    batch = adapter.discover().max_batch
    chunks = [tuple(local_ids[i : i + batch]) for i in range(0, len(local_ids), batch)]
    try:
        replies = await asyncio.gather(
            *(fanout.timed(agency, "household", adapter.household(chunk)) for chunk in chunks)
        )
    except AdapterError as exc:
        return {}, exc
    return {k: v for reply in replies for k, v in reply.items()}, None


async def _identified(fanout: FanOut, link: HouseholdLink) -> PersonFetch | None:
    """The person a link names by identifiers, if any agency holds them."""
    reference = _join_key(link.identifiers)
    if reference is None:
        return None
    found = await fanout.find(reference)
    return found if found.matches else None


async def _nobody() -> None:
    return None


async def _described(
    fanout: FanOut, who: Demographics, resolved: Sequence[PersonFetch]
) -> PersonFetch | None:
    """The person a demographic link describes, if one is surely among the people
    already resolved (the person and the members named by identifiers) or some
    agency's search matches them surely.

    Searches go through the fan-out's search loaders, so the household's searches go
    out together (one call per agency that declares ``batch_search``). A searched
    member is found again by the matched record's strongest identifier (so every
    agency is searched as for any person). Either way no agency's confidence is
    above the demographic match's: the identity gate sees how sure the link is.
    """
    among = _surely_among(fanout.matcher, who, resolved)
    if among is not None:
        found, probability = among
        return _capped(found, probability)
    searchable = [n for n, a in fanout.adapters.items() if a.discover().demographic_search]
    replies = await asyncio.gather(
        *(fanout.search_in(n, who) for n in searchable),
        return_exceptions=True,
    )
    accepted: list[Match] = []
    for name, reply in zip(searchable, replies, strict=True):
        if isinstance(reply, AdapterError):
            continue  # that agency cannot help find this member; the others may
        if isinstance(reply, BaseException):
            raise reply
        match, _possible = fanout.matcher.decide(name, [who], reply)
        if match is not None:
            accepted.append(match)
    for match in sorted(accepted, key=lambda m: -m.confidence):
        reference = _join_key(match.identifiers)
        if reference is None:
            continue
        found = await fanout.find(reference)
        if found.matches:
            return _capped(found, match.confidence)
    return None


def _surely_among(
    matcher: FederatedMatcher, who: Demographics, people: Sequence[PersonFetch]
) -> tuple[PersonFetch, float] | None:
    """The one person whom ``who`` describes surely (and nobody else plausibly), with the
    match probability: each person's records in the search's blocks are its candidates,
    scored and accepted as a search's would be (one >= the threshold, no rival >= 0.5)."""
    distinct: list[PersonFetch] = []
    for person in people:
        if not any(_same_person(person, other) for other in distinct):
            distinct.append(person)
    plausible: list[tuple[PersonFetch, float]] = []
    for person in distinct:
        held = [
            m.demographics
            for m in person.matches.values()
            if m.demographics and in_block(who, m.demographics)
        ]
        if not held:
            continue
        probability = max(matcher.model.score(who, d).probability for d in held)
        if probability >= POSSIBLE_FLOOR:
            plausible.append((person, probability))
    if len(plausible) == 1 and plausible[0][1] >= matcher.threshold:
        return plausible[0]
    return None


def _capped(found: PersonFetch, confidence: float) -> PersonFetch:
    """``found`` with no agency's confidence above ``confidence``."""
    return PersonFetch(
        found.reference,
        matches={
            agency: replace(m, confidence=min(m.confidence, confidence))
            for agency, m in found.matches.items()
        },
        lookup_errors=dict(found.lookup_errors),
        possible=dict(found.possible),
    )


def _join_key(identifiers: Iterable[Identifier]) -> Identifier | None:
    """The strongest identifier to find someone by across agencies (never a UPN)."""
    usable = [i for i in identifiers if i.scheme not in _NO_JOIN]
    return min(
        usable,
        key=lambda i: _REFERENCE_ORDER.index(i.scheme) if i.scheme in _REFERENCE_ORDER else 99,
        default=None,
    )


def _same_person(one: PersonFetch, other: PersonFetch) -> bool:
    """Whether two resolutions share a record (the same person found two ways)."""
    return any(
        agency in other.matches and other.matches[agency].local_id == match.local_id
        for agency, match in one.matches.items()
    )


@dataclass(frozen=True)
class _HouseholdView:
    subject: PersonFetch
    members: tuple[MemberLink, ...]
    path: tuple[str | int, ...]


@dataclass(frozen=True)
class HouseholdTypes:
    """``Household`` and ``HouseholdMember``; ``Person`` is built between them and this.

    ``Person.household`` needs ``Household`` and ``HouseholdMember.person`` needs
    ``Person``: :meth:`complete` sets the member's type once ``Person`` exists.
    """

    household: Any
    member: Any

    def complete(self, person_type: Any) -> None:
        person_field = next(
            f for f in self.member.__strawberry_definition__.fields if f.python_name == "person"
        )
        person_field.type_annotation = StrawberryAnnotation(Optional[person_type])  # noqa: UP045


def build_household_types(sections: Mapping[str, SectionType]) -> HouseholdTypes:
    """The ``Household`` type (members and their timeline), for ``Person.household``."""

    def relationship(root: MemberLink, info: strawberry.Info) -> str:
        """The relationship, as the source agency's household coordinate allows."""
        context: RequestContext = info.context
        decision = context.decision.for_field(household_coordinate(root.source))
        if decision.effect == "mask":
            return str(apply_mask(decision.mask or "withheld", root.relationship))
        return root.relationship

    def source(root: MemberLink) -> str:
        return root.source

    def person(root: MemberLink, info: strawberry.Info) -> Any:
        if root.person is None:
            return None
        context: RequestContext = info.context
        context.register_member(info.path.as_list(), root.person)
        return root.person

    member_fields: list[Any] = [
        strawberry.field(
            resolver=relationship,
            name="relationship",
            description="What the member is to the person: parent, child, partner, sibling.",
        ),
        strawberry.field(
            resolver=source, name="source", description="The agency the link comes from."
        ),
        strawberry.field(
            resolver=person,
            name="person",
            description="The member, under their own gates (null if no agency matched "
            "them surely). Their own household is not followed: look them up to see it.",
        ),
    ]
    member_type = create_type(
        "HouseholdMember",
        member_fields,
        description="Someone an agency links to the person as household or family.",
    )

    def members(root: _HouseholdView) -> list[MemberLink]:
        return list(root.members)

    async def timeline(
        root: _HouseholdView,
        info: strawberry.Info,
        from_: Annotated[datetime.date | None, strawberry.argument(name="from")] = None,
        to: datetime.date | None = None,
        agencies: list[str] | None = None,
    ) -> Timeline | None:
        """Everyone's events (the person's and each member's), merged and attributed."""
        context: RequestContext = info.context
        path = info.path.as_list()
        people = [(list(root.path[:-1]), root.subject)]
        for index, link in enumerate(root.members):
            if link.person is not None:
                member_path = [*path, index]
                context.register_member(member_path, link.person)
                people.append((member_path, link.person))
        events: list[TimelineEvent] = []
        gaps: list[TimelineGap] = []
        for person_path, who in people:
            found, missing = await person_events(
                context, person_path, sections, who, from_, to, agencies
            )
            events += [replace(event, subject=who.key) for event in found]
            gaps += [gap for gap in missing if gap not in gaps]
        events.sort(key=lambda e: (e.date, e.agency, e.kind, e.subject or ""))
        return Timeline(events=events, gaps=gaps)

    household_fields: list[Any] = [
        strawberry.field(
            resolver=members,
            name="members",
            graphql_type=list[member_type],  # type: ignore[valid-type]
            description="The members the caller may see a link to, one per person.",
        ),
        strawberry.field(
            resolver=timeline,
            name="timeline",
            description="A chronology of the person's and the members' events, each "
            "saying whose (subject), under the same policy as each person's timeline; "
            "filterable by date range (inclusive) and agency.",
        ),
    ]
    household_type = create_type(
        "Household",
        household_fields,
        description="The person's household and family, from council and housing records.",
    )
    return HouseholdTypes(household_type, member_type)


def household_field(household_type: Any) -> Any:
    """``Person.household``: null when no agency knows a household or none is resolved."""

    def household(root: PersonFetch, info: strawberry.Info) -> Any:
        context: RequestContext = info.context
        fetched = context.households.get(root.key)
        if fetched is None:
            return None
        if fetched.refused is not None:
            raise HouseholdTooLarge(fetched.refused)
        path = info.path.as_list()
        shown, hidden = visible_links(context.decision, root, fetched)
        for agency, (coordinate, reason) in hidden.items():
            context.record(path, agency, coordinate, "withheld", reason)
        if not shown:
            if hidden:
                coordinate, reason = next(iter(hidden.values()))
                raise ForbiddenField(coordinate, reason)
            if fetched.unavailable:
                raise UpstreamFailure(next(iter(fetched.unavailable.values())))
            return None
        members: dict[str, MemberLink] = {}
        unmatched: list[MemberLink] = []
        for link in shown:
            if link.person is None:
                unmatched.append(link)
            elif not any(_same_person(link.person, m.person) for m in members.values() if m.person):
                members[link.person.key] = link
        for link in shown:
            effect = context.decision.for_field(household_coordinate(link.source)).effect
            outcome: Outcome = "masked" if effect == "mask" else "disclosed"
            context.record(path, link.source, household_coordinate(link.source), outcome)
        return _HouseholdView(root, (*members.values(), *unmatched), tuple(path))

    household.__annotations__["return"] = Optional[household_type]  # noqa: UP045
    return strawberry.field(
        resolver=household,
        name="household",
        description="Household and family members (council and housing links), each under "
        "policy; null when none is known. Resolved for the people a query names.",
    )
