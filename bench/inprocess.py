"""The gateway in the benchmark's own process, for profiles that count its CPU alone.

``bench.profile`` (the full view) and ``bench.profile_people`` (caseloads and
households) share this: the gateway's Starlette app runs here, the agency simulators
run as their own processes, requests go through httpx's ASGI transport (no socket
in between), and everything runs on the event loop ``joinedup serve`` uses.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvloop

from bench.stack import BENCH_RATE_LIMIT
from gateway.app import create_app
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import REPO_ROOT, GatewayConfig, RequestLimits, agency_settings
from gateway.purposes import PURPOSE_HEADER
from gateway.runtime import Gateway
from simulators.launcher import DemoWorld

Ask = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Send one GraphQL query (text, variables) as the bench's social worker; the reply body."""

SCRATCH = REPO_ROOT / ".joinedup" / "bench"

T = TypeVar("T")


def bench_config(world: DemoWorld, state: str) -> GatewayConfig:
    """A gateway over the running world's agencies, with fresh state in ``SCRATCH / state``.

    Fresh each run: an audit store kept from earlier runs grows with every request
    profiled (392 MB after a day of runs), and an append into it cost 1.5 ms against
    1.25 ms into a new one, so runs would not compare.
    """
    shutil.rmtree(SCRATCH / state, ignore_errors=True)
    return GatewayConfig(
        state_dir=SCRATCH / state,
        agencies={n: agency_settings(n, e) for n, e in world.endpoints().items()},
        # One caller sends every request: the default per-caller limit would answer
        # most of them with a (cheap) 429 and flatter the figures.
        limits=RequestLimits(rate_limit=BENCH_RATE_LIMIT),
    )


@asynccontextmanager
async def in_process_gateway(config: GatewayConfig) -> AsyncIterator[tuple[Gateway, Ask]]:
    """The running gateway and a way to ask it; stopped on the way out."""
    app = create_app(config)
    gateway = Gateway.start(config)
    app.state.gateway = gateway
    token = issue_dev_token(load_dev_key(config.state_dir), "bench", "social_worker", "b", "t")
    headers = {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:

            async def ask(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                reply = await client.post(
                    "/graphql", json={"query": query, "variables": variables}, headers=headers
                )
                body: dict[str, Any] = reply.json()
                return body

            yield gateway, ask
    finally:
        await gateway.stop()


def refuse_if_rate_limited(errors: list[dict[str, Any]] | None) -> None:
    if any((e.get("extensions") or {}).get("code") == "RATE_LIMITED" for e in errors or []):
        raise SystemExit("the requests were rate limited: the figures would be wrong")


async def write_cpu_ranking(
    run: Callable[[], Awaitable[object]], out: Path, own: int = 40, cumulative: int = 60
) -> cProfile.Profile:
    """cProfile of ``run()`` in CPU time, ranked by own and by cumulative time into ``out``.

    Deterministic and in CPU time: pyinstrument's tree is wall time, which on a shared
    machine mixes in waiting; this ranks functions by their own CPU.
    """
    by_function = cProfile.Profile(time.process_time)
    by_function.enable()
    await run()
    by_function.disable()
    with out.open("w") as ranking:
        stats = pstats.Stats(by_function, stream=ranking)
        stats.sort_stats("tottime").print_stats(own)
        stats.sort_stats("cumulative").print_stats(cumulative)
    return by_function


def run_on_uvloop(session: Coroutine[Any, Any, T]) -> T:
    """Run ``session`` on the event loop ``joinedup serve`` runs on (uvicorn picks uvloop)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(session)


def report(figures: dict[str, Any], out: Path | None) -> None:
    """Print the figures, and write them as JSON to ``out`` if given."""
    print(json.dumps(figures, indent=2))
    if out is not None:
        out.write_text(json.dumps(figures, indent=2) + "\n")
