"""Batch search: one upstream call per agency runs many demographic searches, same answers.

Each adapter that declares ``batch_search`` is checked against its running simulator:
``search_many`` must answer exactly what one ``search`` per person answers, in one
upstream request. The fan-out must then search for a query's people in one call per
such agency, never one per person, run each distinct search once, and match everyone
as it would alone.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

import resolvers.household
from adapters.benefits import BenefitsAdapter
from adapters.council import CouncilAdapter
from adapters.housing import HousingAdapter
from adapters.nhs import NhsAdapter
from adapters.police import PoliceAdapter
from adapters.probation import ProbationAdapter
from adapters.schools import SchoolsAdapter
from adapters.sdk import (
    Adapter,
    Candidate,
    Demographics,
    Health,
    HouseholdLink,
    Identifier,
    Match,
    SectionSpec,
)
from adapters.sdk.conformance.calls import count_http_requests, count_sqlite_statements
from gateway.config import ResilienceSettings
from gateway.resilience import make_resilient
from resolvers.fanout import FanOut
from resolvers.household import resolve_households
from simulators.launcher import DemoWorld

TIMEOUT_S = 10.0
BUILDERS: dict[str, Callable[..., Adapter]] = {
    "council": CouncilAdapter,
    "benefits": BenefitsAdapter,
    "nhs": NhsAdapter,
    "schools": SchoolsAdapter,
    "police": PoliceAdapter,
    "probation": ProbationAdapter,
    "housing": HousingAdapter,
}
BATCHED = tuple(BUILDERS)  # every demo agency batches its lookups and searches
PEOPLE = 40


@pytest.fixture
async def adapters(demo_world: DemoWorld) -> AsyncIterator[dict[str, Adapter]]:
    built = {
        name: build(demo_world.endpoints()[name], timeout_s=TIMEOUT_S)
        for name, build in BUILDERS.items()
    }
    yield built
    for adapter in built.values():
        await adapter.aclose()


def searches_for(ground_truth: list[dict[str, Any]], agency: str) -> list[Demographics]:
    """People the agency holds, people it does not, a stranger, and details too thin to
    block on (ground-truth demographics: each agency records them with its own noise)."""
    known = [p for p in ground_truth if agency in p["records"]][:PEOPLE]
    unknown = [p for p in ground_truth if agency not in p["records"]][: PEOPLE // 4]
    return [
        *(
            Demographics(p["given_name"], p["family_name"], p["date_of_birth"])
            for p in known + unknown
        ),
        Demographics("Conformance", "Nobody", "1900-01-01"),
        Demographics("Only", "A Name"),
    ]


@pytest.mark.parametrize("agency", BATCHED)
async def test_search_many_answers_as_one_search_per_person_in_one_call(
    adapters: dict[str, Adapter], ground_truth: list[dict[str, Any]], agency: str
) -> None:
    adapter = adapters[agency]
    assert adapter.discover().batch_search
    wanted = tuple(searches_for(ground_truth, agency))
    one_by_one = [await adapter.search(who) for who in wanted]

    counter = count_sqlite_statements if agency == "council" else count_http_requests
    with counter() as calls:
        batched = await adapter.search_many(wanted)

    assert batched == one_by_one
    assert sum(bool(found) for found in batched) >= PEOPLE // 2
    assert calls.count == 1


async def test_the_fan_out_searches_for_a_query_s_people_in_a_call_per_agency_per_round(
    adapters: dict[str, Adapter], ground_truth: list[dict[str, Any]]
) -> None:
    resilient = make_resilient(adapters, ResilienceSettings(), lambda agency: TIMEOUT_S)
    references = [Identifier("NHS_NUMBER", p["nhs_number"]) for p in ground_truth[:PEOPLE]]
    together = FanOut(resilient)
    found = await asyncio.gather(*(together.find(ref) for ref in references))

    searches = Counter(c.agency for c in together.calls if c.operation == "search")
    # Everyone's searches wait for the last identifier round, then go out together: one
    # call per batching agency (fewer distinct searches than max_batch here).
    for agency in BATCHED:
        assert searches[agency] == 1, f"{agency}: {searches[agency]} searches for {PEOPLE}"
    for reference, person in zip(references, found, strict=True):
        alone = FanOut(resilient)
        assert person.matches == (await alone.find(reference)).matches
        assert person.possible == (await alone.find(reference)).possible


async def test_the_same_search_runs_once_per_request(adapters: dict[str, Adapter]) -> None:
    fanout = FanOut(adapters)
    who = Demographics("Conformance", "Nobody", "1900-01-01")
    await asyncio.gather(*(fanout.search_in(name, who) for name in BATCHED * 3))
    await fanout.search_in("benefits", who)
    assert Counter(c.agency for c in fanout.calls) == Counter(BATCHED)


class Recording(Adapter):
    """An adapter that notes every demographic search it is asked to run."""

    def __init__(self, inner: Adapter) -> None:
        super().__init__()
        self.inner = inner
        self.searched: list[Demographics] = []

    def discover(self) -> SectionSpec:
        return self.inner.discover()

    async def check(self) -> Health:
        return await self.inner.check()

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return await self.inner.lookup(identifiers)

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        return await self.inner.lookup_many(identifier_sets)

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        return await self.inner.read(local_ids, fields)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        self.searched.append(demographics)
        return await self.inner.search(demographics)

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        self.searched += demographics_list
        return await self.inner.search_many(demographics_list)

    async def household(
        self, local_ids: tuple[str, ...]
    ) -> Mapping[str, tuple[HouseholdLink, ...]]:
        return await self.inner.household(local_ids)


async def household_of(
    adapters: dict[str, Adapter], references: list[Identifier]
) -> tuple[list[tuple[str, str, str, frozenset[tuple[str, str]] | None]], int]:
    """Each subject's household links (who each member is, by the records matched) and
    how many demographic searches the agencies ran."""
    recording = {name: Recording(adapter) for name, adapter in adapters.items()}
    fanout = FanOut(recording)
    found = await asyncio.gather(*(fanout.find(ref) for ref in references))
    households = await resolve_households(fanout, found)
    links = sorted(
        (
            subject,
            link.source,
            link.relationship,
            frozenset((a, m.local_id) for a, m in link.person.matches.items())
            if link.person
            else None,
        )
        for subject, household in households.items()
        for link in household.links
    )
    return links, sum(len(r.searched) for r in recording.values())


async def test_household_members_linked_by_identifiers_are_not_searched_for(
    adapters: dict[str, Adapter],
    ground_truth: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Council and housing both know these households: the council links the children by
    # identifiers, the tenancy lists them by name and date of birth.
    subjects = [p for p in ground_truth if p["council_id"] and p["housing_ref"]][:6]
    assert len(subjects) == 6, "precondition: households known to council and housing"
    references = [Identifier("COUNCIL_ID", p["council_id"]) for p in subjects]

    links, searches = await household_of(adapters, references)
    monkeypatch.setattr(resolvers.household, "_surely_among", lambda *_: None)
    links_by_searching, searches_by_searching = await household_of(adapters, references)

    assert links == links_by_searching
    assert any(source == "housing" and member for _, source, _, member in links)
    assert searches < searches_by_searching
