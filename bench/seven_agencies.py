"""Benchmark: one person across seven agency systems vs the council alone, same run.

    .venv/bin/python bench/seven_agencies.py [--people 2000] [--rounds 60]

Starts the demo world's simulators, runs the gateway in-process (ASGI), and
asks for people known to all seven agencies, once for the council section only
(the baseline: one SQL lookup and read) and once for all seven sections. Prints
medians and the ratio; fan-out is concurrent, so the ratio should stay well
below seven.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import click
import httpx
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import GatewayConfig, agency_settings
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import running_world

COUNCIL_ONLY = "query($ref: PersonReference!) { person(reference: $ref) { council { name } } }"
ALL_SEVEN = (
    "query($ref: PersonReference!) { person(reference: $ref) { council { name } "
    "benefits { workCoach } nhs { registeredGp } schools { school } police { pncId } "
    "probation { practitioner } housing { tenure } } }"
)


async def _timings(
    app: Starlette, token: str, query: str, refs: list[str], rounds: int
) -> list[float]:
    headers = {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"}
    timings = []
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway",
    ) as client:
        for i in range(rounds):
            variables = {"ref": {"scheme": "NI_NUMBER", "value": refs[i % len(refs)]}}
            started = time.perf_counter()
            reply = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert "errors" not in reply.json(), reply.json()["errors"]
    return timings


async def _run(config: GatewayConfig, refs: list[str], rounds: int) -> dict[str, float]:
    app = create_app(config)
    token = issue_dev_token(load_dev_key(config.state_dir), "bench", "social_worker", "o", None)
    async with app.router.lifespan_context(app):
        await _timings(app, token, ALL_SEVEN, refs, 5)  # warm connections
        council = await _timings(app, token, COUNCIL_ONLY, refs, rounds)
        seven = await _timings(app, token, ALL_SEVEN, refs, rounds)
    return {"council_only_ms": statistics.median(council), "all_seven_ms": statistics.median(seven)}


@click.command()
@click.option("--people", type=int, default=2000, show_default=True)
@click.option("--rounds", type=int, default=60, show_default=True)
def main(people: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, running_world(Path(tmp) / "world", people) as world:
        truth = json.loads(world.paths.ground_truth.read_text())["people"]
        refs = [p["ni_number"] for p in truth if p["known_to_all"]]
        agencies = {name: agency_settings(name, url) for name, url in world.endpoints().items()}
        config = GatewayConfig(Path(tmp) / "state", agencies)
        result = asyncio.run(_run(config, refs, rounds))
    result["ratio"] = result["all_seven_ms"] / result["council_only_ms"]
    click.echo(json.dumps({k: round(v, 2) for k, v in result.items()}))


if __name__ == "__main__":
    main()
