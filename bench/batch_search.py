"""Batched demographic searches against one search per person, in the same run.

Resolves a caseload (``--people``, default 100) and a household of five (the five
people, then their household links, as ``Query.people { household }`` does) through
``FanOut`` over the gateway's own adapters (behind the resilience layer, as
``joinedup serve`` runs them) against the demo world's simulators.

- ``batched``: today's gateway: every search of a query goes through a DataLoader per
  agency (one ``search_many`` call where the adapter declares ``batch_search``, each
  distinct search once), and a household member listed by name and date of birth is
  first matched against the members already linked by identifiers.
- ``one_by_one`` (the baseline, as before): ``batch_search`` hidden, every search sent
  on its own (no coalescing, no deduplication) and every demographic household link
  searched for.

Reports, per agency, the search and lookup calls per query (``failed`` counts calls that
did not succeed), and the gateway's CPU ms and wall ms per query (medians over
``--rounds``); when no call failed, the matches (and the records each household member
is matched to) of both must be identical.

Run: ``.venv/bin/python -m bench.batch_search [--people 100] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import resolvers.household
from adapters.sdk import Adapter, Candidate, Demographics, Identifier, Match, SectionSpec
from bench.batch_lookup import HOUSEHOLD_SIZE, reference
from gateway.adapters import build_adapters
from gateway.config import REPO_ROOT, ResilienceSettings, agency_settings
from gateway.resilience import make_resilient
from resolvers.fanout import FanOut
from resolvers.household import resolve_households
from simulators.launcher import running_world


class OneByOne(Adapter):
    """An adapter with ``batch_search`` hidden: the fan-out then searches per person."""

    def __init__(self, inner: Adapter) -> None:
        super().__init__()
        self.inner = inner

    def discover(self) -> SectionSpec:
        return replace(self.inner.discover(), batch_search=False)

    async def check(self) -> Any:
        return await self.inner.check()

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return await self.inner.lookup(identifiers)

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        return await self.inner.lookup_many(identifier_sets)

    async def read(self, local_ids: tuple[str, ...], fields: frozenset[str]) -> Any:
        return await self.inner.read(local_ids, fields)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        return await self.inner.search(demographics)

    async def household(self, local_ids: tuple[str, ...]) -> Any:
        return await self.inner.household(local_ids)


class SearchEachCall(FanOut):
    """The fan-out as it searched before: each search its own upstream call, none shared."""

    def search_in(self, agency: str, who: Demographics) -> Awaitable[list[Candidate]]:
        return self.timed(agency, "search", self.adapters[agency].search(who))


@contextmanager
def household_links_always_searched() -> Iterator[None]:
    """Before: a demographic household link was searched for even if already linked."""
    among = resolvers.household._surely_among
    resolvers.household._surely_among = lambda *_: None
    try:
        yield
    finally:
        resolvers.household._surely_among = among


Outcome = tuple[dict[str, dict[str, int]], float, float, list[Any]]


async def resolve(fanout: FanOut, references: list[Identifier], households: bool) -> Outcome:
    """Calls per agency and operation, CPU ms, wall ms, and what was found."""
    cpu, wall = time.process_time(), time.perf_counter()
    found = await asyncio.gather(*(fanout.find(ref) for ref in references))
    members = await resolve_households(fanout, found) if households else {}
    cpu_ms = (time.process_time() - cpu) * 1000
    wall_ms = (time.perf_counter() - wall) * 1000
    calls: dict[str, Counter[str]] = {}
    for call in fanout.calls:
        calls.setdefault(call.agency, Counter())[call.operation] += 1
        if call.outcome != "ok":
            calls[call.agency]["failed"] += 1
    # A member is who their matched records say (a member matched among the linked people
    # keeps that person's reference, one found by a search the searched record's).
    outcome = [p.matches for p in found] + [
        sorted(
            (
                link.source,
                link.relationship,
                sorted((a, m.local_id) for a, m in link.person.matches.items())
                if link.person
                else [],
            )
            for link in household.links
        )
        for household in members.values()
    ]
    return {a: dict(sorted(c.items())) for a, c in sorted(calls.items())}, cpu_ms, wall_ms, outcome


async def compare(
    endpoints: Mapping[str, str],
    queries: dict[str, list[Identifier]],
    rounds: int,
    timeout_s: float,
) -> dict[str, Any]:
    direct = build_adapters({n: agency_settings(n, e) for n, e in endpoints.items()}, timeout_s)
    settings = ResilienceSettings()
    unbatched = {n: OneByOne(a) for n, a in direct.items()}
    results: dict[str, Any] = {}
    try:
        for query, references in queries.items():
            households = query == "household"
            figures: dict[str, Any] = {}
            outcomes: dict[str, list[Any]] = {}
            for name in ("one_by_one", "batched"):
                runs: list[Outcome] = []
                for _ in range(rounds + 1):  # the first warms the connection pools
                    # Fresh circuit breakers each round: one round's failures stay its own.
                    if name == "batched":
                        fanout = FanOut(make_resilient(direct, settings, lambda _: timeout_s))
                        runs.append(await resolve(fanout, references, households))
                    else:
                        with household_links_always_searched():
                            resilient = make_resilient(unbatched, settings, lambda _: timeout_s)
                            fanout = SearchEachCall(resilient)
                            runs.append(await resolve(fanout, references, households))
                runs = runs[1:]
                outcomes[name] = runs[0][3]
                figures[name] = {
                    "calls_per_agency": runs[0][0],
                    "searches": sum(c.get("search", 0) for c in runs[0][0].values()),
                    "failed_calls": sum(c.get("failed", 0) for c in runs[0][0].values()),
                    "cpu_ms": statistics.median(r[1] for r in runs),
                    "wall_ms": statistics.median(r[2] for r in runs),
                }
            figures["same_matches"] = outcomes["batched"] == outcomes["one_by_one"]
            results[query] = figures
    finally:
        for adapter in direct.values():
            await adapter.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--timeout-s",
        type=float,
        default=2.0,
        help="each agency's timeout (the gateway's default); one search per person can "
        "time out on a busy machine, which shows as failed_calls and different matches",
    )
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()
    with running_world(REPO_ROOT / ".joinedup" / "bench" / "world-batch-search") as world:
        people = json.loads(world.paths.ground_truth.read_text())["people"]
        households: dict[str, list[dict[str, Any]]] = {}
        for person in people:
            households.setdefault(person["household_id"], []).append(person)
        household = next(g for g in households.values() if len(g) >= HOUSEHOLD_SIZE)
        queries = {
            "caseload": [reference(p) for p in people[: args.people]],
            "household": [reference(p) for p in household[:HOUSEHOLD_SIZE]],
        }
        figures = asyncio.run(compare(world.endpoints(), queries, args.rounds, args.timeout_s))
    print(json.dumps(figures, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
