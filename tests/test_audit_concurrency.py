"""Several gateway processes share one audit store under concurrent load (SQLite and
PostgreSQL): exactly one record per disclosure, and `joinedup audit verify` passes."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from simulators.launcher import SimulatorProcess
from tests.audit_support import audit_cli, raw
from tests.conftest import GatewayFactory, GatewayProcess, ref

GATEWAYS = 3
REQUESTS = 60


def test_concurrent_queries_through_several_processes_audit_each_disclosure_once(
    audit_dsn: str,
    tmp_path: Path,
    start_gateway: GatewayFactory,
    benefits: SimulatorProcess,
    ground_truth: list[dict[str, Any]],
) -> None:
    state_dir = tmp_path / "state"
    gateways: list[GatewayProcess] = [
        start_gateway(state_dir=state_dir, extra_args=("--audit-dsn", audit_dsn))
        for _ in range(GATEWAYS)
    ]
    people = [
        p["ni_number"] for p in ground_truth if p["council_id"] and "benefits" in p["records"]
    ][:20]

    def ask(n: int) -> tuple[str, set[str]]:
        response = gateways[n % GATEWAYS].query(ref("NI_NUMBER", people[n % len(people)]))
        assert response.status_code == 200, response.text
        person = response.json()["data"]["person"] or {"matches": []}  # null: no agency knows them
        matched = {m["agency"] for m in person["matches"] if m["status"] == "MATCHED"}
        # The query asks for the council and benefits sections only.
        return response.headers["x-request-id"], matched & {"council", "benefits"}

    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = dict(pool.map(ask, range(REQUESTS)))
    finally:
        for gateway in gateways:
            gateway.stop()

    recorded = raw(audit_dsn, "SELECT request_id, agency FROM audit_record")
    assert len(answers) == REQUESTS
    expected = Counter((rid, agency) for rid, agencies in answers.items() for agency in agencies)
    assert sum(expected.values()) > REQUESTS  # most people are known to both agencies
    assert Counter(recorded) == expected  # every disclosure once: none lost, none doubled

    verified = audit_cli(state_dir, audit_dsn, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"{len(recorded)} records" in verified.stdout

    # One byte changed anywhere in a record's content is found, and where.
    raw(audit_dsn, "UPDATE audit_record SET purpose = 'early_help' WHERE seq = 17")
    tampered = audit_cli(state_dir, audit_dsn, "verify")
    assert tampered.returncode == 1
    assert "BROKEN at record 17" in tampered.stdout
