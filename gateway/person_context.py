"""Person context for the request decision: relationship and consent, never agency data.

A legitimate relationship is the caller's team holding an open case for the
person; consent is recorded per purpose. Both live in the council's
case-management system, asked through the council adapter (SQLite or
PostgreSQL) in the same call as the council's identifier lookups that find each
person's council record (:meth:`RequestRegister.lookup_council`), or as soon as a
demographic search finds it, in one query for the records found together. Match
confidence comes from the identity lookups.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from strawberry.dataloader import DataLoader

from adapters.council import CouncilAdapter
from adapters.sdk import Adapter, AdapterError, Identifier, Match
from gateway.policy import PersonContext
from gateway.resilience import ResilientAdapter
from resolvers.fanout import BatchLookup, PersonFetch

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

    @property
    def agencies(self) -> frozenset[str]:
        """The agencies it reads facts from: every request about people needs their
        records there, whatever sections it asks for, to decide on their context."""
        return frozenset({COUNCIL}) if self.council is not None else frozenset()

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
        return await self.for_request(team).contexts(persons)

    def for_request(self, team: str | None) -> RequestRegister:
        """One request's questions to the register, asked as council records are found."""
        return RequestRegister(self, team)

    async def facts(self, council_ids: tuple[str, ...], team: str | None) -> list[CaseFacts]:
        """Each person's relationship and consent; nothing known if the register cannot say."""
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
        return _case_facts(council_ids, team, related, consent)

    async def lookup_with_facts(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], team: str | None
    ) -> tuple[list[Match | None], dict[str, CaseFacts]]:
        """The council's batch lookup, with the facts of each record it finds.

        One call: when it fails, neither the records nor their facts are known, so the
        people have no council match and no relationship or consent (fail closed).
        """
        council = self.council
        if council is None:
            raise ValueError("no council adapter: nothing to look people up in")
        matches, (related, consent) = await self._guard(
            lambda: council.lookup_many_with_register(identifier_sets, team)
        )
        found = tuple(dict.fromkeys(m.local_id for m in matches if m is not None))
        return matches, dict(zip(found, _case_facts(found, team, related, consent), strict=True))


@dataclass(frozen=True)
class CaseFacts:
    """What the register says of one council record for the caller's team."""

    relationship: bool
    consent: Mapping[str, str]


NO_FACTS = CaseFacts(False, {})


def _case_facts(
    council_ids: Sequence[str],
    team: str | None,
    related: set[str],
    consent: Mapping[str, Mapping[str, str]],
) -> list[CaseFacts]:
    return [CaseFacts(team is not None and i in related, consent.get(i, {})) for i in council_ids]


class RequestRegister:
    """The register's answers for one request, asked as soon as each council record is found.

    Records the council's identifier lookups find come with their facts
    (:meth:`lookup_council`, the fan-out's lookup in the council). :meth:`found` (the
    fan-out's ``on_match``) asks about any other council record (one a demographic
    search found) the moment identity resolution finds it, while other agencies are
    still answering, so the decision does not wait for the register afterwards.
    Records found together (one batched council answer) are asked about in one query.
    """

    def __init__(self, register: CaseRegister, team: str | None) -> None:
        async def load(council_ids: list[str]) -> list[CaseFacts]:
            return await register.facts(tuple(council_ids), team)

        self._register = register
        self._team = team
        self._facts = DataLoader(load_fn=load)

    @property
    def lookups(self) -> Mapping[str, BatchLookup]:
        """The fan-out's batch lookup in the council (``FanOut.lookups``)."""
        return {COUNCIL: self.lookup_council} if self._register.council is not None else {}

    async def lookup_council(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """The council's lookups, reading the facts of the records found in the same call,
        so the decision on them does not wait for a second call (:meth:`found` then
        finds them known)."""
        matches, facts = await self._register.lookup_with_facts(identifier_sets, self._team)
        self._facts.prime_many(facts)
        return matches

    def found(self, agency: str, match: Match) -> None:
        if agency == COUNCIL:
            self._facts.load(match.local_id)

    async def contexts(
        self, persons: Mapping[str, PersonFetch], assume_exact: frozenset[str] = frozenset()
    ) -> tuple[PersonContext, ...]:
        """Each person's context; ``assume_exact``: agencies taken to have matched them
        by an identifier where they have not matched them (yet)."""
        exact = dict.fromkeys(assume_exact, 1.0)
        # What each person's matches are now: searches may still add to them meanwhile.
        found = {key: dict(person.matches) for key, person in persons.items()}
        council_ids = list(
            dict.fromkeys(m[COUNCIL].local_id for m in found.values() if COUNCIL in m)
        )
        facts = dict(zip(council_ids, await self._facts.load_many(council_ids), strict=True))
        contexts = []
        for key, matches in found.items():
            council = matches.get(COUNCIL)
            known = facts[council.local_id] if council else NO_FACTS
            contexts.append(
                PersonContext(
                    key=key,
                    match_confidence=exact | {a: m.confidence for a, m in matches.items()},
                    relationship=known.relationship,
                    consent=known.consent,
                )
            )
        return tuple(contexts)
