"""The production topology in one test: two worker processes, the OPA server engine and a
PostgreSQL audit store, with metrics, traces and readiness checked as an operator would.

Each part has its own tests elsewhere; this one checks they work together: one scrape
counts both workers, every request leaves one trace, readiness follows the OPA server and
the audit database down and back up, and both workers' disclosures land in one verifiable
audit chain.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from gateway.policy.opa_server import OpaServerProcess
from simulators.launcher import SimulatorProcess, free_port
from tests.audit_support import audit_cli, raw
from tests.conftest import POLICIES, GatewayProcess, ref
from tests.operations_support import (
    Launch,
    OtlpCollector,
    json_log,
    readyz,
    sample,
    wait_for_status,
)
from tests.postgres import PostgresServer

AUDIT_DATABASE = "production_topology_audit"
DECIDED = 'joinedup_policy_decisions_total{engine="opa",outcome="decided"}'
FAILED_CLOSED = 'joinedup_policy_decisions_total{engine="opa",outcome="failed_closed"}'


@pytest.fixture
def own_opa() -> Iterator[list[OpaServerProcess]]:
    """An OPA server this test may stop and restart (on the same port); the last is live."""
    servers = [OpaServerProcess(POLICIES, free_port())]
    servers[0].wait_ready()
    yield servers
    for server in servers:
        server.stop()


def allow_connections(postgres: PostgresServer, database: str, allowed: bool) -> None:
    """Open or close a database to new connections; closing also ends the open ones, as a
    failover or an operator's maintenance would."""
    with psycopg.connect(postgres.dsn(), autocommit=True) as admin:
        admin.execute(
            f"ALTER DATABASE {database} ALLOW_CONNECTIONS {'true' if allowed else 'false'}".encode()
        )
        if not allowed:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )


def assert_steady(gateway: GatewayProcess, status: int, probes: int = 6) -> None:
    """Consecutive probes agree (each may reach either worker), not just the first to flip."""
    statuses = [readyz(gateway).status_code for _ in range(probes)]
    assert statuses == [status] * probes, statuses


def spans_by_request(received: list[bytes]) -> dict[str, set[bytes]]:
    """Trace ids carrying each request id (on the request's root span)."""
    traces: dict[str, set[bytes]] = {}
    for body in received:
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    for attribute in span.attributes:
                        if attribute.key == "joinedup.request_id":
                            traces.setdefault(attribute.value.string_value, set()).add(
                                span.trace_id
                            )
    return traces


def test_two_workers_with_opa_server_and_postgresql_audit(
    launch: Launch,
    postgres: PostgresServer,
    own_opa: list[OpaServerProcess],
    collector: OtlpCollector,
    benefits: SimulatorProcess,
    person_in_both: dict[str, Any],
) -> None:
    audit_dsn = postgres.create_database(AUDIT_DATABASE)
    opa_url = own_opa[0].url
    gateway: GatewayProcess = launch(
        benefits.url,
        "--workers",
        "2",
        "--policy-engine",
        "opa",
        "--opa-url",
        opa_url,
        "--audit-dsn",
        audit_dsn,
        env={
            "JOINEDUP_OBSERVABILITY__LOG_FORMAT": "json",
            "JOINEDUP_OBSERVABILITY__TRACES": "otlp",
            "JOINEDUP_OBSERVABILITY__OTLP_ENDPOINT": collector.endpoint,
        },
    )
    ready = wait_for_status(gateway, 200)
    assert ready["status"] == "ready", ready

    # Queries until both workers have answered (the kernel picks which accepts).
    def ask(_: int) -> str:
        response = gateway.query(ref("NI_NUMBER", person_in_both["ni_number"]))
        assert response.status_code == 200, response.text
        benefits_section = response.json()["data"]["person"]["benefits"]
        assert benefits_section["niNumber"] == person_in_both["ni_number"]
        return response.headers["x-request-id"]

    sent: list[str] = []
    with ThreadPoolExecutor(6) as pool:
        for _ in range(8):
            sent += pool.map(ask, range(6))
            access = [r for r in json_log(gateway) if r["logger"] == "joinedup.access"]
            if len({r["process"] for r in access}) == 2:
                break
    served_by: dict[int, set[str]] = {}
    for record in json_log(gateway):
        if record["logger"] == "joinedup.access":
            served_by.setdefault(record["process"], set()).add(record["request_id"])
    assert len(served_by) == 2, "both worker processes answered"

    # One scrape reports the whole replica: every request, whichever worker answered it.
    metrics = httpx.get(gateway.url + "/metrics", timeout=5).text
    answered = sample(metrics, 'joinedup_request_seconds_count{operation="person",status="200"}')
    assert answered == len(sent)
    assert sample(metrics, DECIDED) >= len(sent), "every request was decided by the OPA server"
    assert sample(metrics, FAILED_CLOSED) == 0
    assert sample(metrics, 'joinedup_audit_write_seconds_count{outcome="ok"}') >= len(sent)

    # Readiness follows the OPA server down and back up (restarted on the same address).
    own_opa[0].stop()
    down = wait_for_status(gateway, 503)
    assert down["policy"]["ok"] is False and down["audit"]["ok"] is True, down
    [reason] = down["reasons"]
    assert reason.startswith("policy engine (opa): "), reason
    assert_steady(gateway, 503)
    # Without a policy decision nothing is disclosed.
    undecided = gateway.query(ref("NI_NUMBER", person_in_both["ni_number"]))
    assert undecided.json()["data"]["person"] is None, undecided.text
    assert {e["extensions"]["code"] for e in undecided.json()["errors"]} == {"FORBIDDEN"}
    own_opa.append(OpaServerProcess(POLICIES, int(opa_url.rsplit(":", 1)[1])))
    own_opa[-1].wait_ready()
    assert wait_for_status(gateway, 200)["status"] == "ready"
    assert_steady(gateway, 200)

    # ... and the PostgreSQL audit database refusing connections, and taking them again.
    allow_connections(postgres, AUDIT_DATABASE, allowed=False)
    try:
        down = wait_for_status(gateway, 503)
        assert down["audit"]["ok"] is False and down["policy"]["ok"] is True, down
        [reason] = down["reasons"]
        assert reason.startswith("audit store: "), reason
        assert_steady(gateway, 503)
        # Without an audit store nothing is disclosed.
        refused = gateway.query(ref("NI_NUMBER", person_in_both["ni_number"]))
        assert refused.status_code == 503, refused.text
        assert [e["extensions"]["code"] for e in refused.json()["errors"]] == ["AUDIT_UNAVAILABLE"]
    finally:
        allow_connections(postgres, AUDIT_DATABASE, allowed=True)
    assert wait_for_status(gateway, 200)["status"] == "ready"
    assert_steady(gateway, 200)

    # Both refusals are visible to operators.
    metrics = httpx.get(gateway.url + "/metrics", timeout=5).text
    assert sample(metrics, FAILED_CLOSED) >= 1
    assert sample(metrics, 'joinedup_audit_write_seconds_count{outcome="failed"}') >= 1

    # SIGTERM: both workers flush their spans and audit, then the replica exits cleanly.
    gateway.process.send_signal(signal.SIGTERM)
    assert gateway.process.wait(timeout=20) == 0

    traces = spans_by_request(collector.received)
    for request_id in sent:
        assert len(traces.get(request_id, set())) == 1, f"one trace for request {request_id}"

    audited = {row[0] for row in raw(audit_dsn, "SELECT DISTINCT request_id FROM audit_record")}
    for process, request_ids in served_by.items():
        assert request_ids & set(sent) <= audited, f"worker {process}'s disclosures are audited"
    verified = audit_cli(gateway.state_dir, audit_dsn, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
