"""Overhead of the resilience wrapper (breaker, retry context, bulkhead, timeout) per call.

Ratio of the median time of a read through ``ResilientAdapter`` to the same read
on the bare adapter, in the same run, with an adapter that answers at once (so
the ratio is the wrapper's cost alone, the worst case; a real upstream call of a
millisecond or more dwarfs it). Run: ``.venv/bin/python -m bench.resilience_overhead``.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Mapping
from typing import Any

from purgatory import AsyncCircuitBreakerFactory

from adapters.sdk import Adapter, FieldSpec, Health, Identifier, Match, SectionSpec
from adapters.sdk.deadline import request_deadline
from gateway.config import ResilienceSettings
from gateway.resilience import ResilientAdapter

ROUNDS = 20
CALLS = 2_000

SECTION = SectionSpec("instant", "Instant", ("X",), (FieldSpec("v", "string", "value"),))


class InstantAdapter(Adapter):
    def discover(self) -> SectionSpec:
        return SECTION

    async def check(self) -> Health:
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return None

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        return {i: {"v": i} for i in local_ids}


async def per_call_us(adapter: Adapter) -> float:
    started = time.perf_counter()
    with request_deadline(5.0):
        for _ in range(CALLS):
            await adapter.read(("1",), frozenset({"v"}))
    return (time.perf_counter() - started) / CALLS * 1e6


async def main() -> None:
    bare = InstantAdapter()
    settings = ResilienceSettings()
    wrapped = ResilientAdapter(
        inner=bare,
        settings=settings,
        breakers=AsyncCircuitBreakerFactory(
            default_threshold=settings.breaker_threshold, default_ttl=settings.breaker_reset_s
        ),
    )
    bare_us, wrapped_us = [], []
    for _ in range(ROUNDS):
        bare_us.append(await per_call_us(bare))
        wrapped_us.append(await per_call_us(wrapped))
    b, w = statistics.median(bare_us), statistics.median(wrapped_us)
    print(f"bare read: median {b:.1f} µs; through ResilientAdapter: median {w:.1f} µs")
    print(f"wrapper overhead: {w - b:.1f} µs per call (ratio {w / b:.1f}x on an instant adapter)")


if __name__ == "__main__":
    asyncio.run(main())
