"""Federated matching in the fan-out: identifiers first, then demographic search, against
the running demo world and its ground truth."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from adapters.benefits import BenefitsAdapter
from adapters.council import CouncilAdapter
from adapters.housing import HousingAdapter
from adapters.nhs import NhsAdapter
from adapters.sdk import Adapter, Candidate, Demographics, Identifier, SectionSpec
from gateway.identity.federated import FederatedMatcher
from resolvers.fanout import FanOut
from simulators.launcher import DemoWorld


@pytest.fixture
async def adapters(demo_world: DemoWorld) -> AsyncIterator[dict[str, Adapter]]:
    endpoints = demo_world.endpoints()
    built: dict[str, Adapter] = {
        "council": CouncilAdapter(endpoints["council"]),
        "benefits": BenefitsAdapter(endpoints["benefits"]),
        "nhs": NhsAdapter(endpoints["nhs"]),
        "housing": HousingAdapter(endpoints["housing"]),
    }
    yield built
    for adapter in built.values():
        await adapter.aclose()


def _tenants_without_ni(demo_world: DemoWorld) -> set[str]:
    tenants = json.loads(demo_world.paths.agency_json("housing").read_text())["tenants"]
    return {t["housing_ref"] for t in tenants if not t["ni_number"]}


async def test_demographics_find_the_records_identifiers_cannot_reach(
    adapters: dict[str, Adapter], demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> None:
    unlinked = _tenants_without_ni(demo_world)
    people = [
        p
        for p in ground_truth
        if "council" in p["records"] and p["records"].get("housing") in unlinked
    ]
    assert len(people) >= 3, "the test world has council clients housing holds no NI number for"
    found = 0
    for person in people:
        fanout = FanOut(adapters)
        fetched = await fanout.find(Identifier("COUNCIL_ID", person["records"]["council"]))
        match = fetched.matches.get("housing")
        if match is None:
            continue
        found += 1
        assert match.method == "demographics"
        assert match.local_id == person["records"]["housing"], "never the wrong person"
        assert 0.9 <= match.confidence < 1.0
        assert fetched.matches["council"].method == "identifier"
        assert fetched.matches["council"].confidence == 1.0
        assert any(c.operation == "search" and c.agency == "housing" for c in fanout.calls)
    assert found >= len(people) * 0.8


async def test_a_higher_threshold_leaves_them_as_possible_matches_at_most(
    adapters: dict[str, Adapter], demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> None:
    unlinked = _tenants_without_ni(demo_world)
    person = next(
        p
        for p in ground_truth
        if "council" in p["records"] and p["records"].get("housing") in unlinked
    )
    strict = FederatedMatcher(threshold=1.0)
    fetched = await FanOut(adapters, strict).find(
        Identifier("COUNCIL_ID", person["records"]["council"])
    )
    assert "housing" not in fetched.matches
    assert all(
        s.candidate.local_id == person["records"]["housing"]
        for s in fetched.possible.get("housing", ())
    )


class UnsearchableHousing(HousingAdapter):
    """Housing as if it did not offer demographic search."""

    def discover(self) -> SectionSpec:
        return replace(super().discover(), demographic_search=False)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        raise AssertionError("an adapter without demographic search was asked to search")


async def test_only_unmatched_agencies_that_offer_search_are_searched(
    adapters: dict[str, Adapter], demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> None:
    unlinked = _tenants_without_ni(demo_world)
    person = next(
        p
        for p in ground_truth
        if "council" in p["records"] and p["records"].get("housing") in unlinked
    )
    housing = UnsearchableHousing(demo_world.endpoints()["housing"])
    try:
        fanout = FanOut({**adapters, "housing": housing})
        fetched = await fanout.find(Identifier("COUNCIL_ID", person["records"]["council"]))
    finally:
        await housing.aclose()
    searched = {c.agency for c in fanout.calls if c.operation == "search"}
    assert "housing" not in fetched.matches
    assert "housing" not in searched
    by_identifier = {a for a, m in fetched.matches.items() if m.method == "identifier"}
    assert not searched & by_identifier
