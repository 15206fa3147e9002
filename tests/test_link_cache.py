"""The identity link cache: identifiers only, forgotten after its TTL, off by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.sdk import Adapter, Demographics, Identifier, Match
from gateway.config import GatewayConfig
from gateway.identity.link_cache import LinkCache
from gateway.settings import Settings
from resolvers.fanout import FanOut
from simulators.launcher import DemoWorld

REF = Identifier("COUNCIL_ID", "C1234567")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_and_hold_identifiers_only() -> None:
    clock = Clock()
    cache = LinkCache(ttl_s=60, clock=clock)
    held = Demographics("Olivia", "Smith", "2010-01-01", "TN23 7AB")
    cache.put(REF, {"council": Match("council", "C1234567", (REF,), demographics=held)})
    [(agency, link)] = cache.get(REF).items()  # type: ignore[union-attr]
    assert (agency, link.local_id, link.identifiers, link.demographics) == (
        "council",
        "C1234567",
        (REF,),
        None,
    )
    clock.now = 60.0
    assert cache.get(REF) is None


def test_a_ttl_is_required_and_the_cache_is_off_by_default() -> None:
    with pytest.raises(ValueError):
        LinkCache(ttl_s=0)
    assert GatewayConfig(state_dir=Path("state")).link_cache_ttl_s is None
    assert Settings().identity.link_cache_ttl_s is None


async def test_a_cached_person_is_resolved_without_asking_the_agencies(
    demo_world: DemoWorld, ground_truth: list[dict[str, Any]]
) -> None:
    from adapters.council import CouncilAdapter
    from adapters.housing import HousingAdapter

    endpoints = demo_world.endpoints()
    adapters: dict[str, Adapter] = {
        "council": CouncilAdapter(endpoints["council"]),
        "housing": HousingAdapter(endpoints["housing"]),
    }
    person = next(p for p in ground_truth if {"council", "housing"} <= set(p["records"]))
    reference = Identifier("COUNCIL_ID", person["records"]["council"])
    cache = LinkCache(ttl_s=300)
    try:
        first = FanOut(adapters, links=cache)
        found = await first.find(reference)
        assert first.calls
        again = FanOut(adapters, links=cache)
        cached = await again.find(reference)
        assert again.calls == [], "no agency was asked"
        assert {a: m.local_id for a, m in cached.matches.items()} == {
            a: m.local_id for a, m in found.matches.items()
        }
        assert {a: m.method for a, m in cached.matches.items()} == {
            a: m.method for a, m in found.matches.items()
        }
    finally:
        for adapter in adapters.values():
            await adapter.aclose()
