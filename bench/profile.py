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
import time
from pathlib import Path
from typing import Any

from graphql import parse
from pyinstrument import Profiler

from bench.inprocess import (
    SCRATCH,
    bench_config,
    in_process_gateway,
    refuse_if_rate_limited,
    report,
    run_on_uvloop,
    write_cpu_ranking,
)
from bench.queries import INTROSPECT_TYPES, person_query, person_sections
from gateway.audit import AuditRecord
from gateway.config import GatewayConfig
from gateway.policy import DecisionInput
from simulators.launcher import example_reference, running_world
from simulators.world import WorldPaths


async def _session(
    config: GatewayConfig,
    world: WorldPaths,
    requests: int,
    html: Path | None,
    cprofile: Path | None = None,
) -> dict[str, Any]:
    scheme, value = example_reference(world)
    async with in_process_gateway(config) as (gateway, ask):
        query = person_query(person_sections(await ask(INTROSPECT_TYPES, {})))
        variables = {"ref": {"scheme": scheme, "value": value}}

        async def full_views() -> None:
            for _ in range(requests):
                await ask(query, variables)

        for _ in range(20):  # warm up caches and connection pools
            await ask(query, variables)
        profiler = Profiler(async_mode="enabled")
        cpu_started = time.process_time()
        profiler.start()
        await full_views()
        profiler.stop()
        cpu_per_request = (time.process_time() - cpu_started) * 1000 / requests
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        if html is not None:
            await asyncio.to_thread(html.write_text, profiler.output_html())
        plain_cpu = time.process_time()
        await full_views()
        cpu_unprofiled = (time.process_time() - plain_cpu) * 1000 / requests
        if cprofile is not None:
            await write_cpu_ranking(full_views, cprofile)
        reply = await ask(query, variables)
        refuse_if_rate_limited(reply.get("errors"))
        document_fields = gateway.schema.plan(parse(query)).requested
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
    with running_world(SCRATCH / "world-2000") as world:
        config = bench_config(world, "profile-state")
        figures = run_on_uvloop(
            _session(config, world.paths, args.requests, args.html, args.cprofile)
        )
    report(figures, args.out)


if __name__ == "__main__":
    main()
