"""Gateway CPU time of one demographic search (``Query.findPerson``) beyond the upstream calls.

The seven in-memory adapters of :mod:`bench.identity_resolution` answer at once, so
what is timed is the gateway's own work: the concurrent searches through
``FanOut.search``, Fellegi-Sunter scoring of every record returned, grouping across
agencies, and signing a MATCH token per candidate. Each council client of the world
is searched by the name and date of birth the council holds. Baseline in the same
run: resolving the same people by council id (``FanOut.find``, identifiers and
demographics), the operation a search replaces. CPU time is ``time.process_time``;
the figure is the median over rounds of CPU ms per search.
Run: ``.venv/bin/python -m bench.person_search [--people 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from adapters.sdk import Adapter, Demographics, Identifier
from bench.identity_resolution import InMemoryAdapter
from gateway.identity.candidates import group, score
from gateway.identity.evaluation import WorldIndex, agency_sections
from gateway.identity.match_token import MatchTokens, RecordLink
from gateway.identity.world import load_world
from resolvers.fanout import FanOut
from simulators.world import generate_world

ROUNDS = 5
MIN_PROBABILITY = 0.5
MAX_CANDIDATES = 10


async def _search_ms(
    adapters: Mapping[str, Adapter], searches: list[Demographics], tokens: MatchTokens
) -> float:
    agencies = list(adapters)
    started = time.process_time()
    for searched in searches:
        fanout = FanOut(adapters, match_tokens=tokens, user="bench")
        found, _ = await fanout.search(searched, agencies)
        people = group(score(fanout.matcher.model, searched, found, MIN_PROBABILITY))
        for person in people[:MAX_CANDIDATES]:
            tokens.issue(
                "bench",
                [
                    RecordLink(r.agency, r.candidate.local_id, r.candidate.identifiers)
                    for r in person.records
                ],
            )
    return (time.process_time() - started) * 1000 / len(searches)


async def _resolve_ms(adapters: Mapping[str, Adapter], refs: list[Identifier]) -> float:
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
    adapters = {a: InMemoryAdapter(index, s) for a, s in agency_sections().items()}
    clients = list(world.records["council"].values())
    searches = [
        Demographics(
            r.demographics.given_name, r.demographics.family_name, r.demographics.date_of_birth
        )
        for r in clients
    ]
    refs = [Identifier("COUNCIL_ID", r.local_id) for r in clients]
    tokens = MatchTokens([b"bench-key-" * 4], ttl_s=900)
    timings: dict[str, list[float]] = {"resolve by id": [], "findPerson search": []}
    for _ in range(ROUNDS):
        timings["resolve by id"].append(asyncio.run(_resolve_ms(adapters, refs)))
        timings["findPerson search"].append(asyncio.run(_search_ms(adapters, searches, tokens)))
    base = statistics.median(timings["resolve by id"])
    print(f"{len(refs)} searches (council clients), {ROUNDS} rounds, CPU ms each (median)")
    for name, values in timings.items():
        median = statistics.median(values)
        print(f"  {name:<20}{median:8.3f} ms   ratio {median / base:5.2f}")


if __name__ == "__main__":
    main()
