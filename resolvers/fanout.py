"""Fan-out: find a person in every agency the query needs, then read the allowed sections
concurrently.

Identity resolution exchanges identifiers first, then (for agencies that offer
it) demographics, scored by :mod:`gateway.identity.federated`. Reads start together as soon
as the person is found (the agencies identifiers found, while the others are still
searched: :meth:`FanOut.searching`), and go through one DataLoader per agency per request,
so a query about many people makes one batched call per agency and the answer
takes about as long as the slowest agency, not the sum of all of them. Lookups
go through a DataLoader per agency too: an agency is asked as soon as an answer
gives it an identifier it can use, and the people of one query whose answers
arrive together are looked up in one call per agency where it declares
``batch_lookup``. Demographic searches wait until every person of the request has
finished identifier lookups, then go out together through a DataLoader per agency:
one call per agency where it declares ``batch_search``, each distinct search once
per request. About one person there is nothing to batch with: an agency whose search
depends only on blocking keys (``search_by_block_keys``) is searched as soon as no
lookup can still find the person there.

Where an agency reads on lookup (``SectionSpec.read_on_lookup``), a person's lookup
there also reads the fields the policy lets the request read of them, in the same
call, once those are known: the decision needs the person's relationship and
consent (the council's answer), and then holds for whichever record an identifier
finds (:data:`ReadPlanner`). So such agencies wait for the council's lookup, and
are then asked and read in one round trip instead of two.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from adapters.sdk import (
    Adapter,
    AdapterError,
    Candidate,
    Demographics,
    Identifier,
    Match,
    UpstreamBadReply,
)
from adapters.sdk.demographics import block_keys
from gateway.identity import match_token
from gateway.identity.federated import FederatedMatcher
from gateway.identity.link_cache import LinkCache
from gateway.identity.match_token import InvalidMatchToken, MatchTokens
from gateway.identity.matching import Scored
from gateway.observability.steps import AgencyCallStep, identity_resolution_step

# An agency is asked again when another agency's answer gives it an identifier it
# can use; at most this many times per person. The longest chain in the demo world
# takes three: probation case reference → NI number (probation) → NHS number
# (council) → NHS, schools.
_LOOKUP_ROUNDS = 3

T = TypeVar("T")

BatchLookup = Callable[[tuple[tuple[Identifier, ...], ...]], Awaitable[Sequence[Match | None]]]
"""An agency's batch lookup (``Adapter.lookup_many``'s contract)."""

ReadPlanner = Callable[["PersonFetch"], Awaitable[Mapping[str, frozenset[str]]]]
"""Per agency, the fields a request may read of a person found there by an identifier:
asked once the person's context agencies have matched them, so the agencies that read
on lookup read these fields with the lookup."""


@dataclass
class UpstreamCall:
    agency: str
    operation: str
    started: float
    ms: float
    outcome: str


@dataclass
class PersonFetch:
    """Everything the gateway learnt about one person during one request."""

    reference: Identifier
    matches: dict[str, Match] = field(default_factory=dict)
    lookup_errors: dict[str, AdapterError] = field(default_factory=dict)
    possible: dict[str, tuple[Scored, ...]] = field(default_factory=dict)
    """Per agency, candidates too close to call: offered for confirmation, never read."""
    reads: dict[str, Awaitable[Mapping[str, Any] | None]] = field(default_factory=dict)
    read_asks: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)
    """Per agency, what its read asked for (local id, fields): a read started under an
    earlier decision is kept only where the final decision asks the same."""
    refused: str | None = None
    """Why the reference itself was refused (a MATCH token that is not valid); nothing found."""
    searches: dict[str, dict[Hashable, Awaitable[list[Candidate]]]] = field(default_factory=dict)
    """Per agency, the demographic searches asked of it, by what makes a search distinct
    there (:meth:`FanOut._search_key`)."""

    @functools.cached_property
    def key(self) -> str:
        """``SCHEME:VALUE``: how policy inputs name this person (asked for every field)."""
        return f"{self.reference.scheme}:{self.reference.value}"


class FanOut:
    """Calls the adapters for one request and records each call's timing."""

    def __init__(
        self,
        adapters: Mapping[str, Adapter],
        matcher: FederatedMatcher | None = None,
        links: LinkCache | None = None,
        match_tokens: MatchTokens | None = None,
        user: str | None = None,
        on_match: Callable[[str, Match], None] | None = None,
        needs: frozenset[str] | None = None,
        plan_reads: ReadPlanner | None = None,
        planned: frozenset[Identifier] = frozenset(),
        context_agencies: frozenset[str] = frozenset(),
        lookups: Mapping[str, BatchLookup] | None = None,
    ) -> None:
        self.adapters = adapters
        self.lookups = lookups or {}
        """Agencies this request looks people up in with its own batch lookup instead of
        the adapter's ``lookup_many``: the case register's, which reads each found
        person's relationship and consent in the same call."""
        self.needs = (
            None if needs is None or needs >= adapters.keys() else needs.intersection(adapters)
        )
        """The agencies whose records the request needs (None: all). The others are
        asked only to learn an identifier a needed agency finds people by, and never
        searched: a query about benefits does not tell the police who it is about."""
        self.matcher = matcher or FederatedMatcher()
        self.links = links
        self.match_tokens = match_tokens
        self.user = user
        """The caller: MATCH tokens open only for the user they were issued to."""
        self.on_match = on_match
        """Told of every record found (agency, match) the moment it is found."""
        self.plan_reads = plan_reads
        self.planned = planned
        """The references of the people whose reads are planned: the people a request
        names, never household members, whose records are read only where the caller
        may see the link to them, which a plan cannot know."""
        self.context_agencies = context_agencies.intersection(adapters)
        """The agencies whose identifier match settles what a person's reads may be: the
        agencies that read on lookup wait for their answer (:attr:`plan_reads`)."""
        self.calls: list[UpstreamCall] = []
        self._loaders: dict[
            tuple[str, frozenset[str]], DataLoader[str, Mapping[str, Any] | None]
        ] = {}
        self._lookup_loaders: dict[str, DataLoader[tuple[Identifier, ...], Match | None]] = {}
        self._reading_loaders: dict[
            tuple[str, frozenset[str]],
            DataLoader[tuple[Identifier, ...], tuple[Match, Mapping[str, Any]] | None],
        ] = {}
        self._search_loaders: dict[str, DataLoader[Demographics, list[Candidate]]] = {}
        self._reads: list[asyncio.Future[Mapping[str, Any] | None]] = []  # DataLoader futures
        self._found: dict[Identifier, asyncio.Task[PersonFetch]] = {}
        self._identifying = 0
        """People of this request still looking up by identifiers."""
        self._identified: list[asyncio.Future[None]] = []
        """People waiting for the others' identifier lookups before searching."""
        self.identified: list[PersonFetch] = []
        """People whose identifier lookups have finished: their identifier matches are final."""
        self._searching: asyncio.Future[None] | None = None
        """Done when the request's first demographic search goes out (:meth:`_searches_begun`)."""
        self.created = time.perf_counter()

    @functools.cached_property
    def _askers_by_scheme(self) -> dict[str, tuple[str, ...]]:
        """Per identifier scheme, the agencies that look people up by it (asked once a request)."""
        askers: dict[str, list[str]] = {}
        for name, adapter in self.adapters.items():
            for scheme in adapter.discover().lookup_schemes:
                askers.setdefault(scheme, []).append(name)
        return {scheme: tuple(names) for scheme, names in askers.items()}

    @functools.cached_property
    def _asking_order(self) -> tuple[str, ...]:
        """The agencies, context agencies first: asked first, the others can wait for them."""
        return tuple(sorted(self.adapters, key=lambda name: name not in self.context_agencies))

    @functools.cached_property
    def _reading_on_lookup(self) -> frozenset[str]:
        """The needed agencies that read on lookup, where reads are planned at all."""
        if self.plan_reads is None:
            return frozenset()
        return frozenset(
            name
            for name, adapter in self.adapters.items()
            if adapter.discover().read_on_lookup
            and name not in self.context_agencies
            and (self.needs is None or name in self.needs)
        )

    @functools.cached_property
    def _lookup_schemes(self) -> dict[str, frozenset[str]]:
        """Per agency, the schemes it finds people by."""
        return {name: frozenset(a.discover().lookup_schemes) for name, a in self.adapters.items()}

    @functools.cached_property
    def _searched_by_keys(self) -> frozenset[str]:
        """The agencies whose searches depend only on blocking keys (``search_by_block_keys``)."""
        return frozenset(
            name
            for name, adapter in self.adapters.items()
            if adapter.discover().demographic_search and adapter.discover().search_by_block_keys
        )

    @functools.cached_property
    def _searched_early(self) -> tuple[str, ...]:
        """The needed agencies searched by blocking keys: about one person, searched as
        soon as no lookup can still find them there."""
        return tuple(
            name
            for name in self.adapters
            if name in self._searched_by_keys and (self.needs is None or name in self.needs)
        )

    @functools.cached_property
    def _schemes_carried(self) -> dict[str, frozenset[str]]:
        """Per agency, the schemes of the identifiers its matches may carry."""
        return {name: a.discover().identifier_schemes for name, a in self.adapters.items()}

    async def timed(self, agency: str, operation: str, call: Awaitable[Any]) -> Any:
        """Await one upstream call, recorded with the request's other calls."""
        step = AgencyCallStep(agency, operation)
        try:
            with step:
                try:
                    return await call
                except AdapterError as exc:
                    step.outcome = exc.code
                    raise
                except asyncio.CancelledError:
                    step.outcome = "CANCELLED"
                    raise
        finally:
            self.calls.append(
                UpstreamCall(agency, operation, step.started, step.seconds * 1000, step.outcome)
            )

    async def find(self, reference: Identifier) -> PersonFetch:
        """Resolve a person once per request, however often the query names them."""
        task = self._found.get(reference)
        if task is None:
            task = self._found[reference] = asyncio.ensure_future(self._resolve_observed(reference))
        return await task

    async def _resolve_observed(self, reference: Identifier) -> PersonFetch:
        with identity_resolution_step() as step:
            person = await self._resolve(reference)
            step.matched, step.failed = len(person.matches), len(person.lookup_errors)
            return person

    async def _resolve(self, reference: Identifier) -> PersonFetch:
        if reference.scheme == match_token.SCHEME:
            return await self._resolve_confirmed(reference)
        cached = self.links.get(reference) if self.links else None
        if cached is not None:
            person = PersonFetch(reference)
            for agency, match in cached.items():
                self._matched(person, agency, match)
            self.identified.append(person)
            return person
        person = await self._resolve_afresh(reference)
        # Only a complete, unambiguous resolution in every agency is worth keeping.
        if self.links and self.needs is None and not person.lookup_errors and not person.possible:
            self.links.put(reference, person.matches)
        return person

    async def _resolve_confirmed(self, reference: Identifier) -> PersonFetch:
        """A person confirmed from a search: start from the identifiers of the token's records.

        Resolution then runs as for any identifier (identifier lookups, demographic
        matching, the policy's thresholds). A linked record that no longer resolves to
        the same local id is dropped rather than trusted. Never cached: tokens expire.
        """
        if self.match_tokens is None or self.user is None:
            return PersonFetch(reference, refused="this gateway does not issue match tokens")
        try:
            links = self.match_tokens.verify(reference.value, self.user)
        except InvalidMatchToken as exc:
            return PersonFetch(reference, refused=str(exc))
        known = {i for link in links for i in link.identifiers}
        person = await self._resolve_afresh(reference, known)
        for link in links:
            found = person.matches.get(link.agency)
            if found is not None and found.local_id != link.local_id:
                del person.matches[link.agency]
        return person

    async def search(
        self, demographics: Demographics, agencies: list[str]
    ) -> tuple[dict[str, list[Candidate]], dict[str, AdapterError]]:
        """Ask these agencies concurrently for records that could be the person described."""
        results = await asyncio.gather(
            *(self.search_in(name, demographics) for name in agencies),
            return_exceptions=True,
        )
        found: dict[str, list[Candidate]] = {}
        failed: dict[str, AdapterError] = {}
        for name, result in zip(agencies, results, strict=True):
            if isinstance(result, AdapterError):
                failed[name] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                found[name] = result
        return found, failed

    async def _resolve_afresh(
        self, reference: Identifier, known: set[Identifier] | None = None
    ) -> PersonFetch:
        person = PersonFetch(reference)
        known = known if known is not None else {reference}
        self._identifying += 1
        try:
            await self._identifier_rounds(person, known)
            self.identified.append(person)
        finally:
            self._identifying -= 1
            if not self._identifying:
                for waiting in self._identified:
                    if not waiting.done():
                        waiting.set_result(None)
                self._identified.clear()
        if self._identifying:
            # Search with everyone else, in one batch per agency, not one per person.
            waiting = asyncio.get_running_loop().create_future()
            self._identified.append(waiting)
            await waiting
        await self._match_demographics(person)
        return person

    async def _identifier_rounds(self, person: PersonFetch, known: set[Identifier]) -> None:
        """Look the person up by every identifier learnt, as soon as it is learnt.

        An agency is asked once it can use an identifier we hold, and asked again only
        when it could use one it was not asked with, at most ``_LOOKUP_ROUNDS`` times.
        Lookups start the moment an answer teaches something new rather than in
        rounds, so one slow agency never holds back a lookup another agency's answer
        already made possible: NHS is asked by the NHS number the council holds while
        benefits is still answering, and the lookups take about as long as the longest
        chain of agencies, not the slowest agency times the number of rounds. People of
        one query still learn together where their answers come back together (one
        batch from an agency answers them all at once), so batching holds.

        An agency the query does not need (:attr:`needs`) is asked only if it could
        teach a needed one something; if no needed agency knows the person in the end,
        the agencies passed over are asked after all, so that whether the person is
        found at all is the answer a query of every agency would give. Once one of them
        finds the person that question is settled, and the rule holds again: an agency
        that could only teach agencies outside the query is not asked again.

        An agency waits while a context agency's lookup runs if that answer could
        carry an identifier in a scheme the agency finds people by: it is asked once,
        with everything the context agency teaches, for every person of the request in
        one batch, instead of now for some and a moment later for the others (context
        agencies answer first, from the case register).

        An agency that reads on lookup waits while a context agency's lookup runs; once
        one has matched the person, their read plan is asked for, and the agency is
        then asked to read the planned fields with the lookup (just looked up if it
        has none). Without a context match nothing is planned: the agency is looked up.
        The context agencies' own records are read as soon as the plan is known.

        About one person (:attr:`planned`), an agency searched by blocking keys is
        searched as soon as no lookup can still find the person there (no lookup running
        or yet to be asked could give it an identifier it finds people by), with the
        demographics known by then, rather than after the last lookup: a chain of
        lookups elsewhere (police asked again by the PNC id probation gave) no longer
        holds it back. :meth:`_match_demographics` adds searches for any keys the later
        answers bring, so the candidates are those of searching after every lookup.
        """
        asks: dict[str, int] = {}
        running: dict[asyncio.Future[Any], str] = {}
        reading: dict[asyncio.Future[Any], frozenset[str]] = {}  # lookups that also read
        needs = self.needs
        passed_over: set[str] = set()  # not needed, nothing to teach: not asked
        # Agencies holding an identifier they were not yet asked with, kept up to date as
        # identifiers are learnt, so deciding whom to ask costs nothing per agency.
        worth_asking: set[str] = set()
        askers = self._askers_by_scheme
        reads_on_lookup = (
            self._reading_on_lookup if person.reference in self.planned else frozenset()
        )
        plan: Mapping[str, frozenset[str]] | None = None
        planning: asyncio.Future[Mapping[str, frozenset[str]]] | None = None
        searches_early = self._searched_early if person.reference in self.planned else ()

        def learn(identifiers: Iterable[Identifier]) -> None:
            for identifier in identifiers:
                if identifier not in known:
                    known.add(identifier)
                    worth_asking.update(askers.get(identifier.scheme, ()))

        for identifier in known:
            worth_asking.update(askers.get(identifier.scheme, ()))

        def could_teach(agency: str, needed: frozenset[str]) -> bool:
            """Whether a match in ``agency`` could carry an identifier in a scheme that a
            needed agency not yet matched finds people by and that nobody has given."""
            held = {i.scheme for i in known}
            return any(
                scheme not in held and scheme in self._schemes_carried[agency]
                for name in needed
                if name not in person.matches
                for scheme in self._lookup_schemes[name]
            )

        def waits_for_context(agency: str) -> bool:
            """Whether a context agency's running lookup could carry an identifier in a
            scheme ``agency`` finds people by (even one held: the other people of the
            request may not hold theirs, and wait, and all go in one batch)."""
            wanted = self._lookup_schemes[agency]
            return any(
                name in self.context_agencies and not wanted.isdisjoint(self._schemes_carried[name])
                for name in running.values()
            )

        def waits_for_plan(agency: str) -> bool:
            """Whether a lookup in ``agency`` waits: its read plan may be on its way."""
            if agency not in reads_on_lookup or plan is not None:
                return False
            return planning is not None or any(
                name in self.context_agencies for name in running.values()
            )

        # Lookups and the read plan report here as they finish (cheaper than asyncio.wait,
        # which adds and removes a callback on every running lookup each time round).
        finished: list[asyncio.Future[Any]] = []
        waiter: asyncio.Future[None] | None = None

        def wake() -> None:
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

        def lookup_finished(lookup: asyncio.Future[Any]) -> None:
            finished.append(lookup)
            wake()

        def ask_whoever_can_learn_something() -> None:
            if not worth_asking:
                return
            identifiers: tuple[Identifier, ...] | None = None
            for name in self._asking_order:
                if name not in worth_asking or name in person.matches:
                    continue
                if name in running.values() or asks.get(name, 0) >= _LOOKUP_ROUNDS:
                    continue
                if waits_for_plan(name) or waits_for_context(name):
                    continue  # still worth asking: asked once the context agency answers
                worth_asking.discard(name)
                if needs is not None and name not in needs and not could_teach(name, needs):
                    passed_over.add(name)
                    continue
                asks[name] = asks.get(name, 0) + 1
                if identifiers is None:
                    identifiers = tuple(sorted(known, key=lambda i: (i.scheme, i.value)))
                fields = plan.get(name) if plan is not None else None
                lookup: asyncio.Future[Any]
                if fields and name in reads_on_lookup:
                    lookup = asyncio.ensure_future(self._lookup_reading(name, identifiers, fields))
                    reading[lookup] = fields
                else:
                    lookup = asyncio.ensure_future(self._lookup(name, identifiers))
                running[lookup] = name
                lookup.add_done_callback(lookup_finished)

        def plan_if_context_found(agency: str) -> None:
            nonlocal planning
            if (
                self.plan_reads is not None
                and reads_on_lookup
                and planning is None
                and agency in self.context_agencies
                and not reads_on_lookup <= person.matches.keys()
            ):
                planning = asyncio.ensure_future(self.plan_reads(person))
                planning.add_done_callback(lambda _: wake())

        def may_still_be_looked_up() -> set[str]:
            """The agencies running, worth asking, or that one of those could teach."""
            able = {
                n
                for n in self.adapters
                if n not in person.matches and asks.get(n, 0) < _LOOKUP_ROUNDS
            }
            open_ = set(running.values()) | (worth_asking & able)
            while True:
                taught = set().union(*(self._schemes_carried[n] for n in open_))
                more = {n for n in able - open_ if not taught.isdisjoint(self._lookup_schemes[n])}
                if not more:
                    return open_
                open_ |= more

        def search_whoever_no_lookup_can_find_them_in() -> None:
            waiting = [
                name
                for name in searches_early
                if name not in person.matches and name not in person.lookup_errors
            ]
            known = self._demographics_of(person) if waiting else []
            if not known:
                return
            still_open = may_still_be_looked_up()
            for name in waiting:
                if name not in still_open:
                    self._queue_searches(person, name, known)

        def ask_everyone_if_nobody_needed_knows_them() -> None:
            # Whether anyone knows them decides between "not found" and a person with
            # empty sections: the answer must be that of a query asking every agency.
            nonlocal needs
            if passed_over and not person.matches and not person.lookup_errors:
                needs = None
                worth_asking.update(passed_over)
                passed_over.clear()
                ask_whoever_can_learn_something()

        ask_whoever_can_learn_something()
        if not running:
            ask_everyone_if_nobody_needed_knows_them()
        while running or (planning is not None and plan is None):
            if not finished and not (planning is not None and planning.done() and plan is None):
                waiter = asyncio.get_running_loop().create_future()
                try:
                    await waiter
                finally:
                    waiter = None
            # Every lookup finished by now, then the agencies they make worth asking.
            done, finished[:] = finished[:], []
            for lookup in done:
                name = running.pop(lookup)
                error = lookup.exception()
                if isinstance(error, AdapterError):
                    person.lookup_errors[name] = error
                elif error is not None:
                    raise error
                elif (result := lookup.result()) is not None:
                    if lookup in reading:
                        result, record = result
                        self._read_with_lookup(person, name, result, record, reading[lookup])
                    self._matched(person, name, result)
                    needs = self.needs  # found: whether at all is settled (see above)
                    learn(result.identifiers)
                    plan_if_context_found(name)
            if planning is not None and planning.done() and plan is None:
                plan = planning.result()
                # The plan holds for the context agencies' own (final) matches too.
                for name in self.context_agencies:
                    self._start_read(person, name, plan.get(name, frozenset()))
            ask_whoever_can_learn_something()
            if not running:
                ask_everyone_if_nobody_needed_knows_them()
            if searches_early and running:
                search_whoever_no_lookup_can_find_them_in()

    def _read_with_lookup(
        self,
        person: PersonFetch,
        agency: str,
        match: Match,
        record: Mapping[str, Any],
        fields: frozenset[str],
    ) -> None:
        """Keep a record read with the lookup as the person's read of ``fields`` there."""
        read: asyncio.Future[Mapping[str, Any] | None] = asyncio.get_running_loop().create_future()
        read.set_result(record)
        person.reads[agency] = read
        person.read_asks[agency] = (match.local_id, fields)

    def _matched(self, person: PersonFetch, agency: str, match: Match) -> None:
        person.lookup_errors.pop(agency, None)
        person.matches[agency] = match
        if self.on_match is not None:
            self.on_match(agency, match)

    def _lookup(self, agency: str, identifiers: tuple[Identifier, ...]) -> Awaitable[Match | None]:
        """One person's lookup, queued with the other lookups of this moment.

        Every agency's lookups go through a DataLoader, so lookups that become
        possible together (because one batched answer taught them to every person of
        the query at once) go out together: in one ``lookup_many`` call where the
        agency declares ``batch_lookup``, else one call per person sent at once.
        """
        loader = self._lookup_loaders.get(agency)
        if loader is None:
            adapter = self.adapters[agency]
            batch_lookup = self.lookups.get(agency)
            if batch_lookup is None and adapter.discover().batch_lookup:
                batch_lookup = adapter.lookup_many

            async def load(
                batch: list[tuple[Identifier, ...]],
            ) -> list[Match | BaseException | None]:
                if batch_lookup is None:
                    return list(
                        await asyncio.gather(
                            *(self.timed(agency, "lookup", adapter.lookup(ids)) for ids in batch),
                            return_exceptions=True,
                        )
                    )
                return await self._each_answer(
                    agency, "lookup", batch_lookup(tuple(batch)), len(batch)
                )

            loader = DataLoader(load_fn=load, max_batch_size=adapter.discover().max_batch)
            self._lookup_loaders[agency] = loader
        return loader.load(identifiers)

    def _lookup_reading(
        self, agency: str, identifiers: tuple[Identifier, ...], fields: frozenset[str]
    ) -> Awaitable[tuple[Match, Mapping[str, Any]] | None]:
        """One person's lookup that also reads ``fields``, queued as :meth:`_lookup` queues.

        One ``lookup_and_read_many`` call per agency and field set for the lookups of
        this moment. Its matches must be exact (the fields were planned for an exact
        identifier match): any other is a bad reply, and its record is dropped unread.
        """
        loader = self._reading_loaders.get((agency, fields))
        if loader is None:
            adapter = self.adapters[agency]

            async def load(
                batch: list[tuple[Identifier, ...]],
            ) -> list[tuple[Match, Mapping[str, Any]] | BaseException | None]:
                found = await self._each_answer(
                    agency,
                    "lookup_read",
                    adapter.lookup_and_read_many(tuple(batch), fields),
                    len(batch),
                )
                inexact = UpstreamBadReply(agency, "a lookup that read matched inexactly")
                return [
                    inexact if isinstance(one, tuple) and one[0].confidence != 1.0 else one
                    for one in found
                ]

            loader = DataLoader(load_fn=load, max_batch_size=adapter.discover().max_batch)
            self._reading_loaders[agency, fields] = loader
        return loader.load(identifiers)

    async def _each_answer(
        self, agency: str, operation: str, call: Awaitable[Sequence[T]], count: int
    ) -> list[T | BaseException]:
        """One batched call's answers, one per item asked; its failure is each item's."""
        try:
            found = await self.timed(agency, operation, call)
        except AdapterError as exc:
            return [exc] * count
        if len(found) != count:
            return [UpstreamBadReply(agency, f"batch {operation} answered the wrong count")] * count
        return list(found)

    def search_in(self, agency: str, who: Demographics) -> Awaitable[list[Candidate]]:
        """One demographic search, queued with the other searches of this moment.

        Every agency's searches go through a DataLoader, as lookups do. People search
        only once every person of the request has finished the identifier lookups, so
        the query's searches go out together: in one ``search_many`` call (of at most
        ``max_batch``) where the agency declares ``batch_search``, else one call per
        search sent at once. The loader's cache runs each distinct (agency,
        demographics) search once per request, however many people or household
        links ask it.
        """
        loader = self._search_loaders.get(agency)
        if loader is None:
            adapter = self.adapters[agency]
            batched = adapter.discover().batch_search

            async def load(batch: list[Demographics]) -> list[list[Candidate] | BaseException]:
                if not batched:
                    return list(
                        await asyncio.gather(
                            *(self.timed(agency, "search", adapter.search(who)) for who in batch),
                            return_exceptions=True,
                        )
                    )
                return await self._each_answer(
                    agency, "search", adapter.search_many(tuple(batch)), len(batch)
                )

            loader = DataLoader(load_fn=load, max_batch_size=adapter.discover().max_batch)
            self._search_loaders[agency] = loader
        return loader.load(who)

    @staticmethod
    def _demographics_of(person: PersonFetch) -> list[Demographics]:
        """The distinct demographics the person's matches hold, in the order found."""
        return list(
            dict.fromkeys(m.demographics for m in person.matches.values() if m.demographics)
        )

    def _search_key(self, agency: str, who: Demographics) -> Hashable:
        """What makes a search distinct in ``agency``: its blocking keys where its answers
        depend on nothing else (``search_by_block_keys``), else the demographics. (Agencies
        search nobody without a family name, which a name with no letters has no key for.)"""
        if agency in self._searched_by_keys:
            return block_keys(who), bool(who.family_name)
        return who

    def _queue_searches(self, person: PersonFetch, agency: str, known: list[Demographics]) -> None:
        """Queue a search of ``agency`` for each of ``known`` not searched there yet."""
        asked = person.searches.setdefault(agency, {})
        for who in known:
            key = self._search_key(agency, who)
            if key not in asked:
                asked[key] = self.search_in(agency, who)

    async def _match_demographics(self, person: PersonFetch) -> None:
        """Search the unmatched agencies that offer it by what the matched ones hold.

        Searches begun before the last lookup (:meth:`_identifier_rounds`) count: each
        agency is searched for what the final demographics add, and its candidates from
        every search are scored against all of them.
        """
        known = self._demographics_of(person)
        searchable = [
            name
            for name, adapter in self.adapters.items()
            if name not in person.matches
            and name not in person.lookup_errors  # it failed already: keep its error
            and adapter.discover().demographic_search
            and (self.needs is None or name in self.needs)
        ]
        if not known or not searchable:
            return
        # Every search is queued before the first is awaited, so they go out together;
        # awaiting them in turn is cheaper than asyncio.gather's per-future bookkeeping.
        for name in searchable:
            self._queue_searches(person, name, known)
        answered: list[str] = []
        waiting: list[str] = []
        for name in searchable:
            done = all(asyncio.isfuture(s) and s.done() for s in person.searches[name].values())
            (answered if done else waiting).append(name)
        # Agencies whose (early) searches have answered are decided first, so that the
        # request reads them while the others are searched (:meth:`searching`).
        for name in answered:
            await self._decide_by_search(person, name, known)
        if waiting:
            begun = self._searches_begun()
            if not begun.done():
                begun.set_result(None)
            for name in waiting:
                await self._decide_by_search(person, name, known)

    async def _decide_by_search(
        self, person: PersonFetch, agency: str, known: list[Demographics]
    ) -> None:
        """Score the candidates of every search of ``agency`` against all of ``known``."""
        found: list[Candidate] = []
        for search in person.searches[agency].values():
            try:
                found.extend(await search)
            except AdapterError as exc:
                person.lookup_errors[agency] = exc
        if not found:  # nothing to score: neither a match nor a possible one
            return
        match, possible = self.matcher.decide(agency, known, found)
        if match is not None:
            self._matched(person, agency, match)
        elif possible:
            person.possible[agency] = possible

    async def searching(self, finding: asyncio.Future[Any]) -> bool:
        """Wait until ``finding`` (the request's people) is done or, first, demographic
        searches begin; True in the second case.

        From then until the searches answer, the identifier matches of
        :attr:`identified` are final and their agencies idle: the request can decide
        on them and read them while the other agencies search.
        """
        await asyncio.wait((finding, self._searches_begun()), return_when=asyncio.FIRST_COMPLETED)
        return not finding.done()

    def _searches_begun(self) -> asyncio.Future[None]:
        # Made on first use, inside the running loop (a FanOut may be built outside one).
        if self._searching is None:
            self._searching = asyncio.get_running_loop().create_future()
        return self._searching

    def _loader(
        self, agency: str, fields: frozenset[str]
    ) -> DataLoader[str, Mapping[str, Any] | None]:
        # One loader per field set: reads decided at different steps may ask differently.
        loader = self._loaders.get((agency, fields))
        if loader is None:
            adapter = self.adapters[agency]

            async def load(ids: list[str]) -> list[Mapping[str, Any] | BaseException | None]:
                try:
                    found = await self.timed(agency, "read", adapter.read(tuple(ids), fields))
                except AdapterError as exc:
                    return [exc] * len(ids)
                return [found.get(local_id) for local_id in ids]

            loader = DataLoader(load_fn=load, max_batch_size=adapter.discover().max_batch)
            self._loaders[agency, fields] = loader
        return loader

    def start_reads(
        self, person: PersonFetch, fields_by_agency: Mapping[str, frozenset[str]]
    ) -> None:
        """Queue one read per matched agency that has any allowed field; batches go out together.

        A read already started for the person is kept only if it asked for the same
        record and fields; any other is dropped from the person (left to finish
        unused, since a batch may share it), so what resolvers see is exactly what
        ``fields_by_agency`` allows.
        """
        for agency in list(person.reads):
            match = person.matches.get(agency)
            if match is None or person.read_asks[agency] != (
                match.local_id,
                fields_by_agency.get(agency),
            ):
                del person.reads[agency], person.read_asks[agency]
        for agency, fields in fields_by_agency.items():
            self._start_read(person, agency, fields)

    def _start_read(self, person: PersonFetch, agency: str, fields: frozenset[str]) -> None:
        """Queue the read of ``fields`` of the person's record in ``agency``, unless it has
        no record there, nothing is to be read or a read has started."""
        match = person.matches.get(agency)
        if match is None or not fields or agency in person.reads:
            return
        read = asyncio.ensure_future(self._loader(agency, fields).load(match.local_id))
        person.reads[agency] = read
        person.read_asks[agency] = (match.local_id, fields)
        self._reads.append(read)

    async def settle_reads(self) -> None:
        """Wait for every queued read (failures stay in their futures for the resolvers)."""
        await asyncio.gather(*self._reads, return_exceptions=True)

    async def close(self) -> None:
        """Cancel reads nobody awaited (e.g. the query failed early)."""
        for read in self._reads:
            if not read.done():
                read.cancel()
        await asyncio.gather(*self._reads, return_exceptions=True)
