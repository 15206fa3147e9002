"""Readiness when the policy cannot decide (in-process: a policy without the decision)."""

from __future__ import annotations

from pathlib import Path

import httpx

from gateway.app import create_app
from gateway.config import GatewayConfig, agency_settings
from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths


async def test_not_ready_while_the_policy_engine_cannot_decide(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess
) -> None:
    policy_dir = tmp_path / "policies"
    (policy_dir / "joinedup").mkdir(parents=True)
    source = Path(__file__).resolve().parent.parent / "policies" / "data.json"
    (policy_dir / "data.json").write_text(source.read_text())
    (policy_dir / "joinedup" / "other.rego").write_text("package joinedup.other\n\nx := 1\n")
    app = create_app(
        GatewayConfig(
            state_dir=tmp_path / "state",
            policy_dir=policy_dir,
            agencies={
                "council": agency_settings("council", str(world.council_db)),
                "benefits": agency_settings("benefits", benefits.url),
            },
        )
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            ready = await client.get("/readyz")
            alive = await client.get("/healthz")
    assert alive.status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    [reason] = body["reasons"]
    assert reason.startswith("policy engine (embedded): ")
    assert body["policy"]["ok"] is False
    assert body["audit"] == {"ok": True}
