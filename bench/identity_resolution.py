"""Gateway CPU time to resolve one person across seven agencies, beyond the upstream calls.

The seven adapters answer from memory (a generated world's records, each agency's
real lookup schemes and blocking keys), so what is timed is the gateway's own
work in ``FanOut.find``: identifier rounds, demographic searches and scoring.
Baseline in the same run: the same people with demographic search switched off
(identifier lookups only). CPU time is ``time.process_time``; the figure is the
median over rounds of CPU ms per person.
Run: ``.venv/bin/python -m bench.identity_resolution [--people 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.sdk import Adapter, Candidate, Demographics, Health, Identifier, Match, SectionSpec
from gateway.identity.evaluation import WorldIndex, agency_sections
from gateway.identity.world import load_world
from resolvers.fanout import FanOut
from simulators.world import generate_world

ROUNDS = 5


class InMemoryAdapter(Adapter):
    """One agency answering lookups and searches at once from the world's records."""

    def __init__(self, index: WorldIndex, section: SectionSpec) -> None:
        super().__init__()
        self.index, self.section = index, section

    def discover(self) -> SectionSpec:
        return self.section

    async def check(self) -> Health:
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        found = self.index.lookup(self.section.agency, identifiers)
        if found is None:
            return None
        return Match(
            found.agency, found.local_id, found.identifiers, demographics=found.demographics
        )

    async def search(self, demographics: Demographics) -> list[Candidate]:
        return [
            Candidate(r.local_id, r.demographics, r.identifiers)
            for r in self.index.search(self.section.agency, [demographics])
        ]

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        return {}


async def _cpu_ms_per_person(adapters: Mapping[str, Adapter], refs: list[Identifier]) -> float:
    started = time.process_time()
    for reference in refs:
        await FanOut(adapters).find(reference)
    return (time.process_time() - started) * 1000 / len(refs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate_world(Path(tmp), people=args.people, seed=args.seed)
        world = load_world(Path(tmp))
    index = WorldIndex(world)
    sections = agency_sections()
    federated = {a: InMemoryAdapter(index, s) for a, s in sections.items()}
    identifiers_only = {
        a: InMemoryAdapter(index, replace(s, demographic_search=False)) for a, s in sections.items()
    }
    refs = [Identifier("COUNCIL_ID", cid) for cid in world.records["council"]]
    timings: dict[str, list[float]] = {"identifiers only": [], "with demographics": []}
    for _ in range(ROUNDS):
        timings["identifiers only"].append(asyncio.run(_cpu_ms_per_person(identifiers_only, refs)))
        timings["with demographics"].append(asyncio.run(_cpu_ms_per_person(federated, refs)))
    base = statistics.median(timings["identifiers only"])
    print(f"{len(refs)} people (council clients), {ROUNDS} rounds, CPU ms per person (median)")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"  {name:<20}{median:8.3f} ms   ratio {median / base:5.2f}")


if __name__ == "__main__":
    main()
