"""Profile the full-person view in-process with pyinstrument, and cost policy and audit alone.

``python -m bench.profile [--requests N] [--html FILE]``: the gateway's Starlette app
runs in this process (the agency simulators still run as their own processes);
requests go through httpx's ASGI transport, so the profile holds the gateway's
own work without a socket in between. It prints pyinstrument's call tree and
the CPU milliseconds per request spent in the policy decision and in the
audit write, each measured alone on the same inputs, with their share of the
CPU per request of the whole in-process request.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import time
from pathlib import Path
from typing import Any

import httpx
import uvloop
from graphql import parse
from pyinstrument import Profiler

from bench.queries import INTROSPECT_TYPES, person_query, person_sections
from bench.stack import BENCH_RATE_LIMIT
from gateway.app import create_app
from gateway.audit import AuditRecord
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import REPO_ROOT, GatewayConfig, RequestLimits, agency_settings
from gateway.policy import DecisionInput
from gateway.purposes import PURPOSE_HEADER
from gateway.runtime import Gateway
from simulators.launcher import example_reference, running_world
from simulators.world import WorldPaths


async def _session(
    config: GatewayConfig,
    world: WorldPaths,
    requests: int,
    html: Path | None,
    cprofile: Path | None = None,
) -> dict[str, Any]:
    app = create_app(config)
    gateway = Gateway.start(config)
    app.state.gateway = gateway
    token = issue_dev_token(load_dev_key(config.state_dir), "bench", "social_worker", "b", "t")
    headers = {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"}
    transport = httpx.ASGITransport(app=app)
    scheme, value = example_reference(world)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:

        async def ask(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            reply = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            body: dict[str, Any] = reply.json()
            return body

        query = person_query(person_sections(await ask(INTROSPECT_TYPES, {})))
        variables = {"ref": {"scheme": scheme, "value": value}}
        for _ in range(20):  # warm up caches and connection pools
            await ask(query, variables)
        profiler = Profiler(async_mode="enabled")
        cpu_started = time.process_time()
        profiler.start()
        for _ in range(requests):
            await ask(query, variables)
        profiler.stop()
        cpu_per_request = (time.process_time() - cpu_started) * 1000 / requests
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        if html is not None:
            await asyncio.to_thread(html.write_text, profiler.output_html())
        plain_cpu = time.process_time()
        for _ in range(requests):
            await ask(query, variables)
        cpu_unprofiled = (time.process_time() - plain_cpu) * 1000 / requests
        if cprofile is not None:
            # Deterministic and in CPU time: pyinstrument's tree is wall time, which on a
            # shared machine mixes in waiting; this ranks functions by their own CPU.
            by_function = cProfile.Profile(time.process_time)
            by_function.enable()
            for _ in range(requests):
                await ask(query, variables)
            by_function.disable()
            with cprofile.open("w") as out:
                stats = pstats.Stats(by_function, stream=out)
                stats.sort_stats("tottime").print_stats(40)
                stats.sort_stats("cumulative").print_stats(60)
        reply = await ask(query, variables)
    if any(
        (e.get("extensions") or {}).get("code") == "RATE_LIMITED" for e in reply.get("errors") or []
    ):
        raise SystemExit("the profile's requests were rate limited: the figures would be wrong")
    document_fields = gateway.schema.requested_fields(parse(query))
    decision_input = DecisionInput(
        {"user": "bench", "org": "b", "roles": ["social_worker"], "team": "t"},
        "safeguarding_children",
        document_fields,
    )
    started = time.process_time()
    for _ in range(requests):
        await gateway.policy.decide(decision_input)
    policy_ms = (time.process_time() - started) * 1000 / requests
    records = [
        AuditRecord(
            request_id=f"bench-{i}",
            user="bench",
            org="b",
            roles=("social_worker",),
            team="t",
            purpose="safeguarding_children",
            lawful_basis="bench",
            policy_revision="r",
            person_scheme=scheme,
            person_value=value,
            agency=agency,
            disclosed=("a", "b"),
        )
        for i, agency in enumerate(gateway.adapters)
    ]
    started = time.process_time()
    for _ in range(requests):
        await gateway.audit.record(records)
    audit_ms = (time.process_time() - started) * 1000 / requests
    await gateway.stop()
    return {
        "requests": requests,
        "requested_fields": len(document_fields),
        "errors": reply.get("errors"),
        "cpu_ms_per_request_in_process": round(cpu_unprofiled, 3),
        "cpu_ms_per_request_profiled": round(cpu_per_request, 3),
        "policy_decision_cpu_ms": round(policy_ms, 3),
        "policy_share_of_cpu": round(policy_ms / cpu_unprofiled, 3),
        "audit_write_cpu_ms": round(audit_ms, 3),
        "audit_share_of_cpu": round(audit_ms / cpu_unprofiled, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--html", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument(
        "--cprofile", type=Path, default=None, help="also write cProfile's CPU-time ranking here"
    )
    args = parser.parse_args()
    scratch = REPO_ROOT / ".joinedup" / "bench"
    with running_world(scratch / "world-2000") as world:
        config = GatewayConfig(
            state_dir=scratch / "profile-state",
            agencies={n: agency_settings(n, e) for n, e in world.endpoints().items()},
            # One caller sends every request: the default per-caller limit would answer
            # most of them with a (cheap) 429 and flatter the figures.
            limits=RequestLimits(rate_limit=BENCH_RATE_LIMIT),
        )
        # The event loop `joinedup serve` runs on (uvicorn picks uvloop when installed).
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            figures = runner.run(
                _session(config, world.paths, args.requests, args.html, args.cprofile)
            )
    print(json.dumps(figures, indent=2))
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
