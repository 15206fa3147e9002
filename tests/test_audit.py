"""Every disclosure is audited before the response leaves; no audit, no answer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from gateway.app import create_app
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import GatewayConfig, agency_settings
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths
from tests.audit_support import raw
from tests.conftest import PERSON_QUERY, GatewayProcess, ref
from tests.postgres import PostgresServer


def audit_rows(gateway: GatewayProcess, request_id: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(gateway.state_dir / "audit.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [
            dict(r)
            for r in db.execute(
                "SELECT * FROM audit_record WHERE request_id = ? ORDER BY agency", (request_id,)
            )
        ]
    finally:
        db.close()


def test_one_row_per_agency_disclosed_naming_fields_not_values(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    response = gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]), role="keyworker", purpose="early_help"
    )
    request_id = response.headers["x-request-id"]

    rows = audit_rows(gateway, request_id)

    assert [r["agency"] for r in rows] == ["benefits", "council"]
    council = rows[1]
    assert council["user_id"] == "test.user"
    assert json.loads(council["roles"]) == ["keyworker"]
    assert council["purpose"] == "early_help"
    # NI numbers are stored as a keyed hash (policies/data.json, audit.identifiers).
    assert council["person_scheme"] == "NI_NUMBER"
    assert council["person_ref"].startswith("hmac-sha256:")
    assert person_in_both["ni_number"] not in json.dumps(rows)
    assert council["lawful_basis"].startswith("Children Act 2004")
    # Every identifier the person was resolved to, always hashed: the caller may not see them.
    resolved = json.loads(council["person_identifiers"])
    assert {r.split(":")[0] for r in resolved} >= {"COUNCIL_ID", "NI_NUMBER"}
    assert all(r.split(":", 1)[1].startswith("hmac-sha256:") for r in resolved)
    assert person_in_both["council_id"] not in json.dumps(rows)
    assert council["decision_id"]
    assert "CouncilSection.team" in json.loads(council["disclosed"])
    assert "CouncilSection.dateOfBirth" in json.loads(council["masked"])
    assert "CouncilSection.address" in json.loads(council["withheld"])
    assert council["policy_revision"] == response.json()["extensions"]["joinedup"]["policyRevision"]
    row_text = json.dumps(rows)
    assert person_in_both["date_of_birth"] not in row_text
    assert person_in_both["given_name"] not in row_text


def test_request_that_discloses_nothing_writes_no_disclosure_row(gateway: GatewayProcess) -> None:
    response = httpx.post(
        gateway.url + "/graphql",
        json={"query": "{ purposes { id } }"},
        headers={
            "Authorization": f"Bearer {gateway.token('keyworker')}",
            PURPOSE_HEADER: "early_help",
        },
    )

    assert audit_rows(gateway, response.headers["x-request-id"]) == []


async def test_unavailable_audit_store_refuses_to_disclose(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess, person_in_both: dict[str, Any]
) -> None:
    config = GatewayConfig(
        state_dir=tmp_path,
        agencies={
            "council": agency_settings("council", str(world.council_db)),
            "benefits": agency_settings("benefits", benefits.url),
        },
    )
    app = create_app(config)
    token = issue_dev_token(load_dev_key(tmp_path), "u", "social_worker", "o", None)
    async with app.router.lifespan_context(app):
        # A real SQLite failure: the store's connection refuses every write.
        app.state.gateway.audit.backend._db.execute("PRAGMA query_only = ON")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            response = await client.post(
                "/graphql",
                json={
                    "query": PERSON_QUERY,
                    "variables": ref("NI_NUMBER", person_in_both["ni_number"]),
                },
                headers={
                    "Authorization": f"Bearer {token}",
                    PURPOSE_HEADER: "safeguarding_children",
                },
            )

    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    assert "data" not in response.json()
    assert person_in_both["family_name"] not in response.text


async def test_lost_postgresql_audit_store_refuses_to_disclose_then_recovers(
    tmp_path: Path,
    world: WorldPaths,
    benefits: SimulatorProcess,
    person_in_both: dict[str, Any],
    postgres: PostgresServer,
) -> None:
    dsn = postgres.create_database("audit_http_outage")
    config = GatewayConfig(
        state_dir=tmp_path,
        agencies={
            "council": agency_settings("council", str(world.council_db)),
            "benefits": agency_settings("benefits", benefits.url),
        },
        audit_dsn=dsn,
    )
    app = create_app(config)
    token = issue_dev_token(load_dev_key(tmp_path), "u", "social_worker", "o", None)
    request = {
        "json": {
            "query": PERSON_QUERY,
            "variables": ref("NI_NUMBER", person_in_both["ni_number"]),
        },
        "headers": {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"},
    }
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client,
    ):
        # A real outage: the server drops the gateway's audit connection.
        raw(
            dsn,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = 'audit_http_outage' AND pid <> pg_backend_pid()",
        )
        refused = await client.post("/graphql", **request)
        answered = await client.post("/graphql", **request)

    assert refused.status_code == 503
    assert refused.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    assert person_in_both["family_name"] not in refused.text
    assert answered.status_code == 200
    recorded = raw(dsn, "SELECT DISTINCT request_id FROM audit_record")
    assert recorded == [(answered.headers["x-request-id"],)]
