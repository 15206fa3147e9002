"""Demographic search, the optional part of the adapter contract, against the running
simulators: council (SQL), benefits and housing (REST)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest

from adapters.benefits import BenefitsAdapter
from adapters.council import CouncilAdapter
from adapters.housing import HousingAdapter
from adapters.nhs import NhsAdapter
from adapters.police import PoliceAdapter
from adapters.probation import ProbationAdapter
from adapters.schools import SchoolsAdapter
from adapters.sdk import Adapter, Demographics, Health, Identifier, Match, SectionSpec
from gateway.identity.blocking import in_block
from simulators.launcher import DemoWorld

SEARCHABLE: dict[str, Callable[[str], Adapter]] = {
    "council": CouncilAdapter,
    "benefits": BenefitsAdapter,
    "housing": HousingAdapter,
    "nhs": NhsAdapter,
    "schools": SchoolsAdapter,
    "police": PoliceAdapter,
    "probation": ProbationAdapter,
}
LOOKUP = {
    "council": ("COUNCIL_ID", None),
    "benefits": ("NI_NUMBER", None),
    "housing": ("HOUSING_REF", None),
    "nhs": ("NHS_NUMBER", "nhs_number"),
    "schools": ("NHS_NUMBER", "nhs_number"),
    "police": ("PNC_ID", None),
    "probation": ("CASE_REFERENCE", None),
}
"""How to look each agency's record up: scheme, and the ground-truth key (None: local id)."""


def _swapped(dob: str) -> str:
    return f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}"


@pytest.mark.parametrize("agency", sorted(SEARCHABLE))
async def test_search_finds_the_record_among_few_candidates(
    agency: str, demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> None:
    adapter = SEARCHABLE[agency](demo_world.endpoints()[agency])
    people = [p for p in ground_truth if agency in p["records"]][:25]
    scheme, truth_key = LOOKUP[agency]
    searched = 0
    try:
        assert adapter.discover().demographic_search
        for person in people:
            local_id = person["records"][agency]
            value = person[truth_key] if truth_key else local_id
            match = await adapter.lookup((Identifier(scheme, value),))
            if match is None:  # e.g. a pupil whose school never recorded the NHS number
                continue
            searched += 1
            assert match.local_id == local_id
            assert match.demographics is not None
            held = match.demographics
            assert held.date_of_birth and held.family_name and held.given_name
            candidates = await adapter.search(held)
            assert local_id in {c.local_id for c in candidates}
            assert len(candidates) < 50
            assert all(in_block(held, c.demographics) for c in candidates)
            found = next(c for c in candidates if c.local_id == local_id)
            assert found.demographics == held
            assert set(found.identifiers) == set(match.identifiers)
            assert all(i.scheme != "UPN" for c in candidates for i in c.identifiers)
            dob = held.date_of_birth
            if int(dob[8:10]) <= 12:
                swapped = await adapter.search(replace(held, date_of_birth=_swapped(dob)))
                assert local_id in {c.local_id for c in swapped}
    finally:
        await adapter.aclose()
    assert searched >= 10


async def test_search_needs_a_family_name_and_a_date_of_birth(demo_world: DemoWorld) -> None:
    adapter = CouncilAdapter(demo_world.endpoints()["council"])
    assert await adapter.search(Demographics("Olivia", None, "2010-01-01")) == []


async def test_adapters_without_search_say_so() -> None:
    class Minimal(Adapter):
        def discover(self) -> SectionSpec:
            return SectionSpec("minimal", "A minimal adapter.", ("X",), ())

        async def check(self) -> Health:
            return Health(True)

        async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
            return None

        async def read(
            self, local_ids: tuple[str, ...], fields: frozenset[str]
        ) -> Mapping[str, Mapping[str, Any]]:
            return {}

    adapter = Minimal()
    assert not adapter.discover().demographic_search
    with pytest.raises(NotImplementedError):
        await adapter.search(Demographics("Olivia", "Smith", "2010-01-01"))
