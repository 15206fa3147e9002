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
import asyncio
import cProfile
import json
import pstats
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import uvloop

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
from bench.stack import BENCH_RATE_LIMIT
from gateway.app import create_app
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import REPO_ROOT, GatewayConfig, RequestLimits, agency_settings
from gateway.purposes import PURPOSE_HEADER
from gateway.runtime import Gateway
from simulators.launcher import running_world
from simulators.world import WorldPaths

ROTATION = 5
HOUSEHOLD_REQUESTS_PER_CASELOAD = 5
"""A household request costs about a fifth of a caseload: more of them, for a steady figure."""
Ask = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


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
    app = create_app(config)
    gateway = Gateway.start(config)
    app.state.gateway = gateway
    token = issue_dev_token(load_dev_key(config.state_dir), "bench", "social_worker", "b", "t")
    headers = {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"}
    transport = httpx.ASGITransport(app=app)
    figures: dict[str, Any] = {"requests": requests}
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:

        async def ask(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            reply = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            body: dict[str, Any] = reply.json()
            return body

        sections = person_sections(await ask(INTROSPECT_TYPES, {}))
        caseloads, households = _populations(
            world, identifier_schemes(await ask(INTROSPECT_SCHEMES, {}))
        )
        scenarios = {
            "caseload": (
                people_query(sections[:CASELOAD_AGENCIES], CASELOAD_FIELDS_PER_AGENCY),
                caseloads,
            ),
            "household": (people_query(sections), households),
        }
        for name, (query, populations) in scenarios.items():
            count = requests * HOUSEHOLD_REQUESTS_PER_CASELOAD if name == "household" else requests
            cpu_ms, errors = await _measure(ask, query, populations, count)
            if any((e.get("extensions") or {}).get("code") == "RATE_LIMITED" for e in errors or []):
                raise SystemExit("the requests were rate limited: the figures would be wrong")
            figures[f"{name}_cpu_ms_per_request"] = round(cpu_ms, 3)
            if cprofile is not None:
                by_function = cProfile.Profile(time.process_time)
                by_function.enable()
                await _measure(ask, query, populations, count)
                by_function.disable()
                ranking = cprofile.with_name(f"{cprofile.stem}-{name}{cprofile.suffix}")
                by_function.dump_stats(ranking.with_suffix(".pstats"))
                with ranking.open("w") as out:
                    stats = pstats.Stats(by_function, stream=out)
                    stats.sort_stats("tottime").print_stats(50)
                    stats.sort_stats("cumulative").print_stats(80)
    await gateway.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument(
        "--cprofile", type=Path, default=None, help="also write cProfile's CPU-time rankings"
    )
    args = parser.parse_args()
    scratch = REPO_ROOT / ".joinedup" / "bench"
    with running_world(scratch / "world-2000") as world:
        config = GatewayConfig(
            state_dir=scratch / "profile-people-state",
            agencies={n: agency_settings(n, e) for n, e in world.endpoints().items()},
            limits=RequestLimits(rate_limit=BENCH_RATE_LIMIT),
        )
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            figures = runner.run(_session(config, world.paths, args.requests, args.cprofile))
    print(json.dumps(figures, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
