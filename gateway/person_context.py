"""Person context for the request decision: relationship and consent, never agency data.

A legitimate relationship is the caller's team holding an open case for the
person; consent is recorded per purpose. Both live in the council's
case-management system, asked through the council adapter (SQLite or
PostgreSQL) once for all the people of a request. Match confidence comes from
the identity lookups.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, TypeVar

from adapters.council import CouncilAdapter
from adapters.sdk import Adapter, AdapterError
from gateway.policy import PersonContext
from gateway.resilience import ResilientAdapter
from resolvers.fanout import PersonFetch

log = logging.getLogger(__name__)

COUNCIL = "council"

T = TypeVar("T")


class Guard(Protocol):
    """Runs one upstream call, e.g. under an adapter's breaker and retries."""

    def __call__(self, call: Callable[[], Awaitable[T]], /) -> Awaitable[T]: ...


async def _unguarded(call: Callable[[], Awaitable[T]]) -> T:
    return await call()


class CaseRegister:
    """Relationship and consent facts, asked of the council adapter for all people at once.

    Without a council system, or when it cannot answer, nobody has a relationship
    or consent: purposes that need them are denied (fail closed).
    """

    def __init__(
        self,
        council: CouncilAdapter | None,
        guard: Guard = _unguarded,
    ) -> None:
        self.council = council
        self._guard = guard

    @classmethod
    def for_adapters(cls, adapters: Mapping[str, Adapter]) -> CaseRegister:
        """The register of the gateway's council adapter; a resilient one keeps its breaker,
        retries and timeouts for these calls too."""
        council = adapters.get(COUNCIL)
        if isinstance(council, ResilientAdapter) and isinstance(council.inner, CouncilAdapter):
            return cls(council.inner, council.guarded)
        return cls(council if isinstance(council, CouncilAdapter) else None)

    async def contexts(
        self, persons: Mapping[str, PersonFetch], team: str | None
    ) -> tuple[PersonContext, ...]:
        council_ids = tuple(
            sorted({p.matches[COUNCIL].local_id for p in persons.values() if COUNCIL in p.matches})
        )
        related: set[str] = set()
        consent: dict[str, dict[str, str]] = {}
        if council_ids and self.council is not None:
            try:
                register = self.council
                related, consent = await self._guard(
                    lambda: register.relationships_and_consent(council_ids, team)
                )
            except AdapterError as exc:
                # Fail closed: no relationship and no consent known, so the purposes
                # that need them are denied; the rest of the request stands.
                log.error("case register unavailable (%s); no relationship or consent", exc.code)
        contexts = []
        for key, person in persons.items():
            council = person.matches.get(COUNCIL)
            council_id = council.local_id if council else None
            contexts.append(
                PersonContext(
                    key=key,
                    match_confidence={a: m.confidence for a, m in person.matches.items()},
                    relationship=team is not None and council_id in related,
                    consent=consent.get(council_id or "", {}),
                )
            )
        return tuple(contexts)
