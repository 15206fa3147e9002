"""Batch lookup against one lookup per person, in the same run, on the real agency systems.

Resolves a caseload (``--people``, default 100) and households of five through
``FanOut`` over the gateway's own adapters (behind the resilience layer, as
``joinedup serve`` runs them) against the demo world's simulators. Baseline in the
same run: the same adapters with ``batch_lookup`` hidden, so the fan-out makes one
lookup per person per agency, as it did before adapters could batch. Reports, per
agency, the lookup calls per query, and the gateway's CPU ms and wall ms per query
(medians over ``--rounds``); the matches of both must be identical.

Run: ``.venv/bin/python -m bench.batch_lookup [--people 100] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, Candidate, Demographics, Identifier, Match, SectionSpec
from gateway.adapters import build_adapters
from gateway.config import REPO_ROOT, ResilienceSettings, agency_settings
from gateway.person_context import CaseRegister
from gateway.resilience import make_resilient
from resolvers.fanout import FanOut
from simulators.launcher import running_world

HOUSEHOLD_SIZE = 5


class OneByOne(Adapter):
    """An adapter with ``batch_lookup`` hidden: the fan-out then looks up per person."""

    def __init__(self, inner: Adapter) -> None:
        super().__init__()
        self.inner = inner

    def discover(self) -> SectionSpec:
        return replace(self.inner.discover(), batch_lookup=False)

    async def check(self) -> Any:
        return await self.inner.check()

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return await self.inner.lookup(identifiers)

    async def read(self, local_ids: tuple[str, ...], fields: frozenset[str]) -> Any:
        return await self.inner.read(local_ids, fields)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        return await self.inner.search(demographics)


async def resolve(
    adapters: Mapping[str, Adapter], references: list[Identifier]
) -> tuple[dict[str, int], float, float, list[dict[str, Match]]]:
    """Lookup calls per agency, CPU ms, wall ms and matches for one query's people, with
    the case register's agencies as context agencies (asked first), as the gateway does."""
    fanout = FanOut(adapters, context_agencies=CaseRegister.for_adapters(adapters).agencies)
    cpu, wall = time.process_time(), time.perf_counter()
    found = await asyncio.gather(*(fanout.find(ref) for ref in references))
    cpu_ms = (time.process_time() - cpu) * 1000
    wall_ms = (time.perf_counter() - wall) * 1000
    lookups = Counter(c.agency for c in fanout.calls if c.operation == "lookup")
    return dict(sorted(lookups.items())), cpu_ms, wall_ms, [p.matches for p in found]


async def compare(
    endpoints: Mapping[str, str], queries: dict[str, list[Identifier]], rounds: int
) -> dict[str, Any]:
    direct = build_adapters({n: agency_settings(n, e) for n, e in endpoints.items()}, 2.0)
    settings = ResilienceSettings()
    variants = {
        "batched": make_resilient(direct, settings, lambda _: 2.0),
        "one_by_one": make_resilient(
            {n: OneByOne(a) for n, a in direct.items()}, settings, lambda _: 2.0
        ),
    }
    results: dict[str, Any] = {}
    try:
        for query, references in queries.items():
            figures: dict[str, Any] = {}
            matches: dict[str, list[dict[str, Match]]] = {}
            for name, adapters in variants.items():
                await resolve(adapters, references)  # warm the connection pools
                runs = [await resolve(adapters, references) for _ in range(rounds)]
                matches[name] = runs[0][3]
                figures[name] = {
                    "lookups_per_agency": runs[0][0],
                    "cpu_ms": statistics.median(r[1] for r in runs),
                    "wall_ms": statistics.median(r[2] for r in runs),
                }
            figures["same_matches"] = matches["batched"] == matches["one_by_one"]
            results[query] = figures
    finally:
        for adapter in direct.values():
            await adapter.aclose()
    return results


def reference(person: dict[str, Any]) -> Identifier:
    """What a caseworker would type: the NI number, else the NHS number (children)."""
    if person.get("ni_number"):
        return Identifier("NI_NUMBER", person["ni_number"])
    return Identifier("NHS_NUMBER", person["nhs_number"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args()
    with running_world(REPO_ROOT / ".joinedup" / "bench" / "world-batch-lookup") as world:
        people = json.loads(world.paths.ground_truth.read_text())["people"]
        households: dict[str, list[dict[str, Any]]] = {}
        for person in people:
            households.setdefault(person["household_id"], []).append(person)
        household = next(g for g in households.values() if len(g) >= HOUSEHOLD_SIZE)
        queries = {
            "caseload": [reference(p) for p in people[: args.people]],
            "household": [reference(p) for p in household[:HOUSEHOLD_SIZE]],
        }
        figures = asyncio.run(compare(world.endpoints(), queries, args.rounds))
    print(json.dumps(figures, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
