"""Upstream resilience: a wrapper that any :class:`~adapters.sdk.Adapter` runs inside.

Adapters speak to their agency system; this wrapper decides how long, how often
and how many at once. Per call, from the outside in:

1. **circuit breaker** (``purgatory``): after ``breaker_threshold`` consecutive
   failed calls the agency's circuit opens and calls fail at once with
   ``UPSTREAM_UNAVAILABLE`` for ``breaker_reset_s``; then calls are let through
   half-open, and the first success closes the circuit again (a failure re-opens it);
2. **retries** (``stamina``: exponential backoff with jitter) for lookups and
   reads, which are idempotent, on ``UPSTREAM_UNAVAILABLE`` only (refused
   connections, 5xx: fast failures worth another try), and only while the
   request's deadline leaves room for another attempt. Timeouts are not retried:
   the person's whole answer waits for every agency's lookup, so a retried
   timeout would multiply the delay for everyone while loading an upstream that
   is already too slow;
3. **bulkhead**: at most ``max_concurrent_per_agency`` calls in flight per agency,
   so one slow agency holds a bounded number of the gateway's tasks and sockets;
4. **timeout**: each attempt gets the agency's timeout, cut to what is left of
   the request deadline (:mod:`adapters.sdk.deadline`), enforced here whatever
   the adapter does.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import stamina
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState

from adapters.sdk import (
    Adapter,
    Candidate,
    Demographics,
    Health,
    HouseholdLink,
    Identifier,
    Match,
    SectionSpec,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.sdk.deadline import remaining_s
from gateway.config import ResilienceSettings

T = TypeVar("T")

RETRIABLE = (UpstreamUnavailable,)


@dataclass
class ResilientAdapter(Adapter):
    """Wraps ``inner`` with breaker, retries, bulkhead and deadline-bounded timeouts."""

    inner: Adapter
    settings: ResilienceSettings
    breakers: AsyncCircuitBreakerFactory
    _bulkhead: asyncio.Semaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._bulkhead = asyncio.Semaphore(self.settings.max_concurrent_per_agency)

    @property
    def agency(self) -> str:
        return self.inner.discover().agency

    def discover(self) -> SectionSpec:
        return self.inner.discover()

    async def check(self) -> Health:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.inner.check()
        except TimeoutError:
            return Health(False, f"no answer within {self.timeout_s:g}s")

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return await self._call(lambda: self.inner.lookup(identifiers))

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        return await self._call(lambda: self.inner.lookup_many(identifier_sets))

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        return await self._call(lambda: self.inner.lookup_and_read_many(identifier_sets, fields))

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        return await self._call(lambda: self.inner.read(local_ids, fields))

    async def search(self, demographics: Demographics) -> list[Candidate]:
        return await self._call(lambda: self.inner.search(demographics))

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        return await self._call(lambda: self.inner.search_many(demographics_list))

    async def household(
        self, local_ids: tuple[str, ...]
    ) -> Mapping[str, tuple[HouseholdLink, ...]]:
        return await self._call(lambda: self.inner.household(local_ids))

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """Any other idempotent call on ``inner`` (e.g. an adapter's own extra capability),
        under the same breaker, retries, bulkhead and timeout as the contract's calls."""
        return await self._call(call)

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        """One idempotent upstream operation, through breaker, retries, bulkhead, timeout."""
        breaker = await self.breakers.get_breaker(self.agency, exclude=[asyncio.CancelledError])
        try:
            async with breaker:
                return await self._with_retries(call)
        except OpenedState:
            raise UpstreamUnavailable(
                self.agency,
                f"circuit open after {self.settings.breaker_threshold} consecutive failures; "
                f"calls resume within {self.settings.breaker_reset_s:g}s",
            ) from None

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        """The first attempt runs bare; a failure is replayed into stamina's retry loop.

        Setting up stamina's retry context (tenacity underneath) costs more CPU than the
        rest of an agency call's wrapping, and almost every call succeeds at once. The
        failure is replayed as stamina's first attempt, so stamina still decides everything
        after it as if it had run from the start: whether to retry
        (:meth:`_worth_retrying`), the backoff schedule, its hooks and its testing mode.
        """
        try:
            return await self._attempt(call)
        except Exception as exc:  # handed to stamina below, which re-raises it
            first_failure = exc
        async for attempt in stamina.retry_context(
            on=self._worth_retrying,
            attempts=self.settings.retry_attempts,
            timeout=None,  # the request deadline bounds retries (see _worth_retrying)
            wait_initial=self.settings.retry_initial_s,
            wait_max=self.settings.retry_max_s,
            wait_jitter=self.settings.retry_jitter_s,
        ):
            with attempt:
                if attempt.num == 1:
                    raise first_failure
                return await self._attempt(call)
        raise AssertionError("unreachable: stamina re-raises the last failure")

    def _worth_retrying(self, exc: Exception) -> bool:
        """Retry only transient failures, and only if another attempt fits in the deadline."""
        if not isinstance(exc, RETRIABLE):
            return False
        left = remaining_s(math.inf)
        return left > self.settings.retry_max_s + self.settings.retry_jitter_s

    async def _attempt(self, call: Callable[[], Awaitable[T]]) -> T:
        budget = remaining_s(self.timeout_s)
        if budget <= 0:
            raise UpstreamTimeout(self.agency, "the request's deadline passed before the call")
        try:
            async with asyncio.timeout(budget):
                async with self._bulkhead:
                    return await call()
        except TimeoutError:
            raise UpstreamTimeout(self.agency, f"no answer within {budget:.2g}s") from None


def make_resilient(
    adapters: Mapping[str, Adapter],
    settings: ResilienceSettings,
    timeout_for: Callable[[str], float],
) -> dict[str, Adapter]:
    """Wrap every adapter; one breaker factory holds every agency's circuit."""
    breakers = AsyncCircuitBreakerFactory(
        default_threshold=settings.breaker_threshold, default_ttl=settings.breaker_reset_s
    )
    return {
        name: ResilientAdapter(
            inner=adapter, settings=settings, breakers=breakers, timeout_s=timeout_for(name)
        )
        for name, adapter in adapters.items()
    }
