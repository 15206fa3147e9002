"""The policy's identity-confidence threshold gates a demographic match end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import httpx

from gateway.app import create_app
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import REPO_ROOT, GatewayConfig, agency_settings
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import DemoWorld
from tests.conftest import CALLER_TEAM, ref

QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) { housing { tenure } matches { agency method confidence } }
}"""


def _matched_by_demographics(
    demo_world: DemoWorld, ground_truth: list[dict[str, Any]], unrestricted: frozenset[str]
) -> dict[str, Any]:
    tenants = json.loads(demo_world.paths.agency_json("housing").read_text())["tenants"]
    unlinked = {t["housing_ref"] for t in tenants if not t["ni_number"]}
    return next(
        p
        for p in ground_truth
        if p["records"].get("council") in unrestricted and p["records"].get("housing") in unlinked
    )


async def _ask(policy_dir: Path, state_dir: Path, demo_world: DemoWorld, council_id: str) -> Any:
    endpoints = demo_world.endpoints()
    config = GatewayConfig(
        state_dir=state_dir,
        policy_dir=policy_dir,
        agencies={a: agency_settings(a, endpoints[a]) for a in ("council", "housing")},
    )
    app = create_app(config)
    token = issue_dev_token(load_dev_key(config.state_dir), "u", "social_worker", "o", CALLER_TEAM)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            response = await client.post(
                "/graphql",
                json={"query": QUERY, "variables": ref("COUNCIL_ID", council_id)},
                headers={
                    "Authorization": f"Bearer {token}",
                    PURPOSE_HEADER: "safeguarding_children",
                },
            )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_demographic_match_below_the_policy_threshold_discloses_nothing(
    tmp_path: Path,
    demo_world: DemoWorld,
    ground_truth: list[dict[str, Any]],
    unrestricted: frozenset[str],
) -> None:
    person = _matched_by_demographics(demo_world, ground_truth, unrestricted)
    council_id = person["records"]["council"]

    default = await _ask(REPO_ROOT / "policies", tmp_path / "a", demo_world, council_id)
    housing = next(m for m in default["data"]["person"]["matches"] if m["agency"] == "housing")
    assert housing["method"] == "DEMOGRAPHICS"
    assert 0.9 <= housing["confidence"] < 1.0
    assert default["data"]["person"]["housing"]["tenure"], "disclosed at the default threshold"

    strict = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", strict)
    data = json.loads((strict / "data.json").read_text())
    data["access"]["identity"]["min_confidence"] = 0.99999
    (strict / "data.json").write_text(json.dumps(data))
    answer = await _ask(strict, tmp_path / "b", demo_world, council_id)
    assert answer["data"]["person"]["housing"] is None
    [error] = [e for e in answer["errors"] if e["path"][:2] == ["person", "housing"]]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "confidence" in error["message"]
    assert str(person["records"]["housing"]) not in json.dumps(answer)
