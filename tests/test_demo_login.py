"""Demo sign-in: demo users and dev tokens for the caseworker page, in demo mode only."""

from __future__ import annotations

import httpx

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
