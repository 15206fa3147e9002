"""Demo sign-in: demo users and dev tokens for the caseworker page, in demo mode only."""

from __future__ import annotations

from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.config import AgencyEndpoints, GatewayConfig
from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths
from tests.conftest import GatewayProcess


def test_demo_sign_in_issues_tokens_the_gateway_accepts(gateway: GatewayProcess) -> None:
    users = httpx.get(gateway.url + "/demo/users").json()
    roles = {u["id"]: u["role"] for u in users["users"]}
    assert roles["amy.keyworker"] == "keyworker"
    assert {p["id"] for p in users["purposes"]} >= {"early_help", "safeguarding_children"}

    issued = httpx.post(gateway.url + "/demo/token", json={"user": "amy.keyworker"}).json()
    answer = httpx.post(
        gateway.url + "/graphql",
        json={"query": "{ purposes { id } }"},
        headers={"Authorization": f"Bearer {issued['token']}", "X-Purpose-Of-Use": "early_help"},
    )
    assert answer.status_code == 200

    unknown = httpx.post(gateway.url + "/demo/token", json={"user": "mallory"})
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_DEMO_USER"
    assert httpx.post(gateway.url + "/demo/token", content=b"nope").status_code == 400


async def test_demo_sign_in_is_not_served_outside_demo_mode(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess
) -> None:
    config = GatewayConfig(
        state_dir=tmp_path,
        agencies=AgencyEndpoints(world.council_db, benefits.url),
        demo_mode=False,
    )
    app = create_app(config)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client,
    ):
        users = await client.get("/demo/users")
        token = await client.post("/demo/token", json={"user": "amy.keyworker"})
        page = await client.get("/")

    assert (users.status_code, token.status_code) == (404, 404)
    assert page.status_code == 200
