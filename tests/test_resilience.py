"""The resilience wrapper around any adapter: retries, deadline, breaker, bulkhead.

Driven with a small scripted adapter (our own code, in process) so each
behaviour is exact; the end-to-end tests at the bottom use the real gateway,
the real benefits simulator and a real outage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import stamina
from purgatory import AsyncCircuitBreakerFactory
from stamina.instrumentation import RetryDetails

from adapters.council import CouncilAdapter
from adapters.sdk import (
    Adapter,
    AdapterError,
    FieldSpec,
    Health,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.sdk.deadline import request_deadline
from gateway.config import ResilienceSettings
from gateway.person_context import CaseRegister
from gateway.resilience import ResilientAdapter
from resolvers.fanout import PersonFetch
from simulators.world import WorldPaths
from tests.conftest import GatewayFactory, ref, start_benefits

SECTION = SectionSpec("scripted", "Scripted", ("X",), (FieldSpec("v", "string", "value"),))


@dataclass
class ScriptedAdapter(Adapter):
    """Fails with the scripted errors in turn, then answers; can be made slow."""

    failures: list[AdapterError] = field(default_factory=list)
    delay_s: float = 0.0
    calls: int = 0
    in_flight: int = 0
    most_in_flight: int = 0

    def discover(self) -> SectionSpec:
        return SECTION

    async def check(self) -> Health:
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return Match("scripted", "1")

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        self.calls += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
            if self.failures:
                raise self.failures.pop(0)
            return {i: {"v": "ok"} for i in local_ids}
        finally:
            self.in_flight -= 1


def resilient(inner: Adapter, timeout_s: float = 1.0, **settings: Any) -> ResilientAdapter:
    chosen = ResilienceSettings(
        **{
            "retry_initial_s": 0.01,
            "retry_max_s": 0.02,
            "retry_jitter_s": 0.0,
            "breaker_threshold": 3,
            "breaker_reset_s": 0.3,
            **settings,
        }
    )
    breakers = AsyncCircuitBreakerFactory(
        default_threshold=chosen.breaker_threshold, default_ttl=chosen.breaker_reset_s
    )
    return ResilientAdapter(inner=inner, settings=chosen, breakers=breakers, timeout_s=timeout_s)


def down() -> UpstreamUnavailable:
    return UpstreamUnavailable("scripted", "service is not reachable")


async def read(adapter: Adapter) -> Mapping[str, Mapping[str, Any]]:
    return await adapter.read(("1",), frozenset({"v"}))


async def test_transient_failures_are_retried() -> None:
    inner = ScriptedAdapter(failures=[down(), down()])

    assert await read(resilient(inner)) == {"1": {"v": "ok"}}
    assert inner.calls == 3


async def test_retries_keep_staminas_backoff_schedule_and_hooks() -> None:
    """The first attempt runs outside stamina and its failure is replayed into it: stamina's
    retry hooks (its retry metric, its log) still see every retry, and the backoff still
    grows from the first failure."""
    seen: list[RetryDetails] = []
    stamina.instrumentation.set_on_retry_hooks([seen.append])
    try:
        inner = ScriptedAdapter(failures=[down(), down()])
        adapter = resilient(inner, retry_initial_s=0.01, retry_max_s=0.1, retry_jitter_s=0.0)
        assert await read(adapter) == {"1": {"v": "ok"}}
    finally:
        stamina.instrumentation.set_on_retry_hooks(None)
    assert [(d.retry_num, d.wait_for) for d in seen] == [
        (1, pytest.approx(0.01)),
        (2, pytest.approx(0.02)),
    ]
    assert all(isinstance(d.caused_by, UpstreamUnavailable) for d in seen)


async def test_timeouts_are_not_retried() -> None:
    inner = ScriptedAdapter(failures=[UpstreamTimeout("scripted", "slow")])

    with pytest.raises(UpstreamTimeout):
        await read(resilient(inner))
    assert inner.calls == 1


async def test_bad_replies_are_not_retried() -> None:
    inner = ScriptedAdapter(failures=[UpstreamBadReply("scripted", "garbage")])

    with pytest.raises(UpstreamBadReply):
        await read(resilient(inner))
    assert inner.calls == 1


async def test_retries_stop_at_the_attempt_limit() -> None:
    inner = ScriptedAdapter(failures=[down() for _ in range(10)])

    with pytest.raises(UpstreamUnavailable):
        await read(resilient(inner, retry_attempts=3))
    assert inner.calls == 3


async def test_no_retry_when_the_deadline_leaves_no_room() -> None:
    inner = ScriptedAdapter(failures=[down() for _ in range(10)])
    adapter = resilient(inner, retry_max_s=0.5)

    with request_deadline(0.3), pytest.raises(UpstreamUnavailable):
        await read(adapter)
    assert inner.calls == 1


async def test_each_attempt_is_cut_to_the_request_deadline() -> None:
    inner = ScriptedAdapter(delay_s=5.0)
    started = time.monotonic()

    with request_deadline(0.2), pytest.raises(UpstreamTimeout):
        await read(resilient(inner, timeout_s=10.0))
    assert time.monotonic() - started < 0.5


async def test_agency_timeout_applies_even_if_the_adapter_ignores_it() -> None:
    started = time.monotonic()

    with pytest.raises(UpstreamTimeout, match="no answer within"):
        await read(resilient(ScriptedAdapter(delay_s=5.0), timeout_s=0.1))
    assert time.monotonic() - started < 0.5


async def test_circuit_opens_fails_fast_then_half_opens_and_closes() -> None:
    inner = ScriptedAdapter(failures=[down() for _ in range(3)])
    adapter = resilient(inner, retry_attempts=1, breaker_threshold=3, breaker_reset_s=0.3)
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable, match="not reachable"):
            await read(adapter)

    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable, match="circuit open") as opened:
        await read(adapter)
    assert time.monotonic() - started < 0.05
    assert opened.value.code == "UPSTREAM_UNAVAILABLE"
    assert inner.calls == 3, "an open circuit does not call the upstream"

    await asyncio.sleep(0.35)
    assert await read(adapter) == {"1": {"v": "ok"}}, "half-open probe goes through"
    assert await read(adapter) == {"1": {"v": "ok"}}, "and the circuit is closed again"


async def test_failed_half_open_probe_reopens_the_circuit() -> None:
    inner = ScriptedAdapter(failures=[down() for _ in range(4)])
    adapter = resilient(inner, retry_attempts=1, breaker_threshold=3, breaker_reset_s=0.2)
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await read(adapter)
    await asyncio.sleep(0.25)
    with pytest.raises(UpstreamUnavailable, match="not reachable"):
        await read(adapter)  # the probe, which fails

    with pytest.raises(UpstreamUnavailable, match="circuit open"):
        await read(adapter)
    assert inner.calls == 4


async def test_cancelled_calls_do_not_count_as_failures() -> None:
    inner = ScriptedAdapter(delay_s=1.0)
    adapter = resilient(inner, breaker_threshold=2)
    for _ in range(3):
        task = asyncio.ensure_future(read(adapter))
        await asyncio.sleep(0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    inner.delay_s = 0.0

    assert await read(adapter) == {"1": {"v": "ok"}}


async def test_bulkhead_bounds_calls_in_flight_per_agency() -> None:
    inner = ScriptedAdapter(delay_s=0.05)
    adapter = resilient(inner, max_concurrent_per_agency=4)

    results = await asyncio.gather(*(read(adapter) for _ in range(20)))

    assert all(r == {"1": {"v": "ok"}} for r in results)
    assert inner.most_in_flight == 4


async def test_a_full_bulkhead_times_out_within_the_deadline() -> None:
    inner = ScriptedAdapter(delay_s=2.0)
    adapter = resilient(inner, max_concurrent_per_agency=1)
    first = asyncio.ensure_future(read(adapter))
    await asyncio.sleep(0.01)

    started = time.monotonic()
    with request_deadline(0.2), pytest.raises(UpstreamTimeout):
        await read(adapter)
    assert time.monotonic() - started < 0.5
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)


def test_stopped_agency_opens_its_circuit_and_answers_fast_end_to_end(
    start_gateway: GatewayFactory, world: WorldPaths, person_in_both: dict[str, Any]
) -> None:
    own_benefits = start_benefits(world)
    gateway = start_gateway({"benefits": own_benefits.url})
    own_benefits.stop()
    query = ref("COUNCIL_ID", person_in_both["council_id"])

    codes = []
    for _ in range(ResilienceSettings.breaker_threshold + 1):
        body = gateway.query(query).json()
        assert body["data"]["person"]["council"]["councilId"] == person_in_both["council_id"]
        [error] = body["errors"]
        assert error["extensions"]["agency"] == "benefits"
        codes.append(error["extensions"]["code"])
        last = body

    assert set(codes) == {"UPSTREAM_UNAVAILABLE"}
    assert "circuit open" in last["errors"][0]["message"]
    [lookup] = [c for c in last["extensions"]["joinedup"]["upstream"] if c["agency"] == "benefits"]
    assert lookup["ms"] < 20, "an open circuit answers without waiting on the network"


@dataclass
class CountingCouncil(CouncilAdapter):
    """The council adapter on a database that cannot be reached; counts register calls."""

    register_calls: int = 0

    async def relationships_and_consent(
        self, council_ids: tuple[str, ...], team: str | None
    ) -> tuple[set[str], dict[str, dict[str, str]]]:
        self.register_calls += 1
        return await super().relationships_and_consent(council_ids, team)


async def test_the_case_register_shares_the_council_circuit(tmp_path: Path) -> None:
    """Relationship and consent questions go through the council's breaker: once the
    council is known to be down, the register fails fast (and closed) without calling it."""
    inner = CountingCouncil(tmp_path / "missing.sqlite")
    council = resilient(inner, retry_attempts=1, breaker_threshold=2, breaker_reset_s=30)
    register = CaseRegister.for_adapters({"council": council})
    someone = PersonFetch(
        Identifier("COUNCIL_ID", "C1"), matches={"council": Match("council", "C1")}
    )
    [context] = await register.contexts({"person": someone}, team="team-a")
    assert inner.register_calls == 1, "the register asks the council adapter"
    assert context.relationship is False and context.consent == {}, "and fails closed"

    with pytest.raises(UpstreamUnavailable):  # the second failure opens the circuit
        await council.lookup((Identifier("COUNCIL_ID", "C1"),))
    [context] = await register.contexts({"person": someone}, team="team-a")

    assert inner.register_calls == 1, "an open circuit keeps the register from calling"
    assert context.relationship is False and context.consent == {}, "fails closed"
