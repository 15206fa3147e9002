"""Batch lookup: one upstream call per agency finds many people, with the same answers.

Each adapter that declares ``batch_lookup`` is checked against its running simulator:
``lookup_many`` must answer exactly what one ``lookup`` per person answers, in one
upstream request. The fan-out must then look a query's people up in one call per such
agency per identity round, never one per person, and resolve them as it would alone.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from adapters.benefits import BenefitsAdapter
from adapters.council import CouncilAdapter
from adapters.housing import HousingAdapter
from adapters.nhs import NhsAdapter
from adapters.police import PoliceAdapter
from adapters.probation import ProbationAdapter
from adapters.schools import SchoolsAdapter
from adapters.sdk import Adapter, Identifier
from adapters.sdk.conformance.calls import count_http_requests, count_sqlite_statements
from gateway.config import ResilienceSettings
from gateway.resilience import make_resilient
from resolvers.fanout import FanOut
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
    # A generous time budget: these tests are about answers and call counts, not speed.
    built = {
        name: build(demo_world.endpoints()[name], timeout_s=TIMEOUT_S)
        for name, build in BUILDERS.items()
    }
    yield built
    for adapter in built.values():
        await adapter.aclose()


def identifier_sets(
    ground_truth: list[dict[str, Any]], agency: str
) -> list[tuple[Identifier, ...]]:
    """Every scheme a person has, in the order the fan-out sends them: people the agency
    knows, people it does not, and strangers."""
    known = [p for p in ground_truth if agency in p["records"]][:PEOPLE]
    unknown = [p for p in ground_truth if agency not in p["records"]][: PEOPLE // 4]
    sets = []
    for person in known + unknown:
        held = [
            Identifier(scheme, str(person[key]))
            for scheme, key in (
                ("CASE_REFERENCE", "case_reference"),
                ("COUNCIL_ID", "council_id"),
                ("HOUSING_REF", "housing_ref"),
                ("NHS_NUMBER", "nhs_number"),
                ("NI_NUMBER", "ni_number"),
                ("PNC_ID", "pnc_id"),
            )
            if person.get(key)
        ]
        sets.append(tuple(held))
    sets.append((Identifier("NI_NUMBER", "ZZ999999Z"), Identifier("NHS_NUMBER", "0000000000")))
    sets.append(())
    return sets


@pytest.mark.parametrize("agency", BATCHED)
async def test_lookup_many_answers_as_one_lookup_per_person_in_one_call(
    adapters: dict[str, Adapter], ground_truth: list[dict[str, Any]], agency: str
) -> None:
    adapter = adapters[agency]
    assert adapter.discover().batch_lookup
    sets = tuple(identifier_sets(ground_truth, agency))
    one_by_one = [await adapter.lookup(identifiers) for identifiers in sets]

    counter = count_sqlite_statements if agency == "council" else count_http_requests
    with counter() as calls:
        batched = await adapter.lookup_many(sets)

    assert batched == one_by_one
    assert sum(match is not None for match in batched) >= PEOPLE // 2
    assert calls.count == 1


async def test_the_fan_out_looks_a_query_s_people_up_in_one_call_per_agency_per_round(
    adapters: dict[str, Adapter], ground_truth: list[dict[str, Any]]
) -> None:
    # As the gateway runs them: behind the resilience layer, which must pass batches on.
    resilient = make_resilient(adapters, ResilienceSettings(), lambda agency: TIMEOUT_S)
    references = [Identifier("NHS_NUMBER", p["nhs_number"]) for p in ground_truth[:PEOPLE]]
    together = FanOut(resilient)
    found = await asyncio.gather(*(together.find(ref) for ref in references))

    lookups = Counter(c.agency for c in together.calls if c.operation == "lookup")
    for agency in BATCHED:
        assert 1 <= lookups[agency] <= 3, f"{agency}: {lookups[agency]} lookups for {PEOPLE}"
    assert not any(person.lookup_errors for person in found)
    for reference, person in zip(references, found, strict=True):
        alone = await FanOut(resilient).find(reference)
        assert person.matches == alone.matches
        assert person.possible == alone.possible


async def test_agencies_the_case_register_could_teach_wait_for_it_and_are_asked_once(
    adapters: dict[str, Adapter], ground_truth: list[dict[str, Any]]
) -> None:
    """People named by different schemes: those named by NHS number could be looked up in
    NHS at once, the others only once the council gives their NHS numbers. Waiting for the
    council (the context agency, which answers first) asks NHS once for all of them."""
    resilient = make_resilient(adapters, ResilienceSettings(), lambda agency: TIMEOUT_S)
    people = [p for p in ground_truth if p["nhs_number"] and p["ni_number"]][:PEOPLE]
    references = [
        Identifier("NHS_NUMBER", p["nhs_number"])
        if i % 2
        else Identifier("NI_NUMBER", p["ni_number"])
        for i, p in enumerate(people)
    ]
    together = FanOut(resilient, context_agencies=frozenset({"council"}))
    found = await asyncio.gather(*(together.find(ref) for ref in references))

    lookups = Counter(c.agency for c in together.calls if c.operation == "lookup")
    for agency in ("council", "nhs", "schools", "benefits", "housing"):
        assert lookups[agency] == 1, f"{agency}: {lookups[agency]} lookups for {PEOPLE}"
    for reference, person in zip(references, found, strict=True):
        alone = await FanOut(resilient).find(reference)
        assert person.matches == alone.matches
