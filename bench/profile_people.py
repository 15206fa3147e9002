"""CPU per request of queries about many people, in process: caseloads and households.

``python -m bench.profile_people [--requests N] [--cprofile FILE]``: the gateway's
Starlette app runs in this process (the agency simulators run as their own
processes), as in ``bench.profile``, and answers the ``make bench`` caseload query
(``Query.people`` with 100 people, two fields from each of three agencies) and
household query (a person and four household members, every section), rotating
over several caseloads and households as the benchmark does. It prints the CPU
milliseconds per request of each, and with ``--cprofile`` writes cProfile's
CPU-time ranking of each so the per-person costs can be found.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

from bench.inprocess import (
    SCRATCH,
    Ask,
    bench_config,
    in_process_gateway,
    refuse_if_rate_limited,
    report,
    run_on_uvloop,
    write_cpu_ranking,
)
from bench.queries import (
    INTROSPECT_SCHEMES,
    INTROSPECT_TYPES,
    identifier_schemes,
    people_query,
    person_sections,
)
from bench.run import (
    CASELOAD_AGENCIES,
    CASELOAD_FIELDS_PER_AGENCY,
    CASELOAD_SIZE,
    HOUSEHOLD_SIZE,
    reference_for,
)
from gateway.config import GatewayConfig
from simulators.launcher import running_world
from simulators.world import WorldPaths

ROTATION = 5
HOUSEHOLD_REQUESTS_PER_CASELOAD = 5
"""A household request costs about a fifth of a caseload: more of them, for a steady figure."""


def _populations(
    paths: WorldPaths, schemes: list[str]
) -> tuple[list[list[dict[str, str]]], list[list[dict[str, str]]]]:
    """ROTATION caseloads of CASELOAD_SIZE references and ROTATION households of five."""
    people = json.loads(paths.ground_truth.read_text())["people"]
    pairs = [(p, ref) for p in people if (ref := reference_for(p, schemes))]
    refs = [ref for _, ref in pairs]
    caseloads = [refs[i * CASELOAD_SIZE : (i + 1) * CASELOAD_SIZE] for i in range(ROTATION)]
    members: dict[str, list[dict[str, str]]] = defaultdict(list)
    for person, ref in pairs:
        members[person["household_id"]].append(ref)
    households = [g[:HOUSEHOLD_SIZE] for g in members.values() if len(g) >= HOUSEHOLD_SIZE]
    return caseloads, households[:ROTATION]


async def _measure(
    ask: Ask, query: str, populations: list[list[dict[str, str]]], requests: int
) -> tuple[float, Any]:
    """CPU ms per request over `requests` requests, and the last reply's errors."""
    for refs in populations:  # warm up caches and connection pools
        await ask(query, {"refs": refs})
    started = time.process_time()
    reply: dict[str, Any] = {}
    for i in range(requests):
        reply = await ask(query, {"refs": populations[i % len(populations)]})
    return (time.process_time() - started) * 1000 / requests, reply.get("errors")


async def _session(
    config: GatewayConfig, world: WorldPaths, requests: int, cprofile: Path | None
) -> dict[str, Any]:
    figures: dict[str, Any] = {"requests": requests}
    async with in_process_gateway(config) as (_, ask):
        sections = person_sections(await ask(INTROSPECT_TYPES, {}))
        caseloads, households = _populations(
            world, identifier_schemes(await ask(INTROSPECT_SCHEMES, {}))
        )
        scenarios = {
            "caseload": (
                people_query(
                    sections[:CASELOAD_AGENCIES], CASELOAD_FIELDS_PER_AGENCY, matches=False
                ),
                caseloads,
            ),
            "household": (people_query(sections), households),
        }
        for name, (query, populations) in scenarios.items():
            count = requests * HOUSEHOLD_REQUESTS_PER_CASELOAD if name == "household" else requests
            cpu_ms, errors = await _measure(ask, query, populations, count)
            refuse_if_rate_limited(errors)
            figures[f"{name}_cpu_ms_per_request"] = round(cpu_ms, 3)
            if cprofile is not None:
                again = partial(_measure, ask, query, populations, count)
                ranking = cprofile.with_name(f"{cprofile.stem}-{name}{cprofile.suffix}")
                by_function = await write_cpu_ranking(again, ranking, own=50, cumulative=80)
                by_function.dump_stats(ranking.with_suffix(".pstats"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument(
        "--cprofile", type=Path, default=None, help="also write cProfile's CPU-time rankings"
    )
    args = parser.parse_args()
    with running_world(SCRATCH / "world-2000") as world:
        config = bench_config(world, "profile-people-state")
        figures = run_on_uvloop(_session(config, world.paths, args.requests, args.cprofile))
    report(figures, args.out)


if __name__ == "__main__":
    main()
