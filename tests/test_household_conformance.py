"""The conformance kit's household check passes the housing adapter and fails broken ones."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from adapters.benefits import BenefitsAdapter
from adapters.housing import HousingAdapter
from adapters.sdk import Adapter, HouseholdLink, Identifier
from adapters.sdk.conformance import ConformanceFailure, ConformanceTarget, SimulatorFaults
from adapters.sdk.conformance.checks import check_household
from simulators.launcher import DemoWorld


class PerPersonHouseholds(HousingAdapter):
    async def household(
        self, local_ids: tuple[str, ...]
    ) -> Mapping[str, tuple[HouseholdLink, ...]]:
        found: dict[str, tuple[HouseholdLink, ...]] = {}
        for local_id in local_ids:
            found.update(await super().household((local_id,)))
        return found


class UndeclaredHouseholds(BenefitsAdapter):
    async def household(
        self, local_ids: tuple[str, ...]
    ) -> Mapping[str, tuple[HouseholdLink, ...]]:
        return {}


def target_for(
    adapter: type[Adapter],
    agency: str,
    scheme: str,
    key: str,
    demo_world: DemoWorld,
    ground_truth: list[dict[str, Any]],
) -> ConformanceTarget:
    url = demo_world.systems[agency].url
    people = [p for p in ground_truth if p[key]][:3]
    return ConformanceTarget(
        make_adapter=lambda timeout_s: adapter(url, timeout_s=timeout_s),
        known=tuple((Identifier(scheme, p[key]),) for p in people),
        faults=SimulatorFaults(url),
    )


def test_the_housing_adapter_passes(
    demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> None:
    asyncio.run(
        check_household(
            target_for(
                HousingAdapter, "housing", "HOUSING_REF", "housing_ref", demo_world, ground_truth
            )
        )
    )


@pytest.mark.parametrize(
    ("adapter", "agency", "scheme", "key", "problem"),
    [
        (
            PerPersonHouseholds,
            "housing",
            "HOUSING_REF",
            "housing_ref",
            "calls the upstream per person",
        ),
        (
            UndeclaredHouseholds,
            "benefits",
            "NI_NUMBER",
            "ni_number",
            "does not declare household_links",
        ),
    ],
    ids=["per-person", "undeclared"],
)
def test_the_kit_fails_a_broken_household_capability(
    adapter: type[Adapter],
    agency: str,
    scheme: str,
    key: str,
    problem: str,
    demo_world: DemoWorld,
    ground_truth: list[dict[str, Any]],
) -> None:
    with pytest.raises(ConformanceFailure) as failure:
        asyncio.run(
            check_household(target_for(adapter, agency, scheme, key, demo_world, ground_truth))
        )
    assert problem in failure.value.problem
    assert failure.value.fix
