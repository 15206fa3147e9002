"""Running joinedup as operators do: worker processes, /metrics, /readyz, SIGTERM.

Every gateway here is a real `joinedup serve` process on loopback, configured
the way an operator would (a TOML file, JOINEDUP_ variables, command options).
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths
from tests.conftest import GatewayProcess, ref, start_benefits
from tests.operations_support import (
    Launch,
    OtlpCollector,
    json_log,
    readyz,
    sample,
    wait_for_status,
)

PURPOSES_QUERY = "{ purposes { id } }"


def access_processes(gateway: GatewayProcess) -> set[int]:
    """The worker processes that have logged an answered request."""
    return {r["process"] for r in json_log(gateway) if r["logger"] == "joinedup.access"}


@pytest.fixture
def own_benefits(world: WorldPaths) -> Iterator[SimulatorProcess]:
    """A benefits simulator this test may slow down or stop."""
    simulator = start_benefits(world)
    yield simulator
    simulator.stop()


def test_two_workers_serve_and_one_scrape_counts_both(
    tmp_path: Path, launch: Launch, benefits: SimulatorProcess
) -> None:
    config = tmp_path / "joinedup.toml"
    config.write_text('[server]\nworkers = 2\n[observability]\nlog_format = "json"\n')
    gateway = launch(benefits.url, "--config", str(config))
    token = gateway.token("social_worker")
    headers = {"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "early_help"}

    def ask(_: int) -> str:
        response = httpx.post(
            gateway.url + "/graphql", json={"query": PURPOSES_QUERY}, headers=headers, timeout=10
        )
        assert response.status_code == 200
        return response.headers["x-request-id"]

    sent: list[str] = []
    with ThreadPoolExecutor(8) as pool:
        for _ in range(10):  # until both workers have answered (the kernel picks)
            sent += pool.map(ask, range(16))
            if len(access_processes(gateway)) == 2:
                break
    # A worker logs and counts a request just after sending its response: allow a moment.
    count = 'joinedup_request_seconds_count{operation="purposes",status="200"}'
    deadline = time.monotonic() + 5
    while True:
        access = [r for r in json_log(gateway) if r["logger"] == "joinedup.access"]
        logged = {r["request_id"] for r in access}
        counted = sample(httpx.get(gateway.url + "/metrics", timeout=5).text, count)
        if (logged >= set(sent) and counted == len(sent)) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len({r["process"] for r in access}) == 2, "both worker processes answered"
    assert logged >= set(sent), "each access log line has its request id"
    assert counted == len(sent), "one scrape aggregates every worker"


def test_connections_opened_together_are_spread_across_workers(
    tmp_path: Path, launch: Launch, benefits: SimulatorProcess
) -> None:
    """A client pool's keep-alive connections, opened at once, reach both workers.

    With one listening socket shared by the workers, the worker woken first accepts
    every waiting connection and keeps them; each worker here listens on its own
    SO_REUSEPORT socket, so the kernel spreads the connections.
    """
    config = tmp_path / "joinedup.toml"
    config.write_text('[server]\nworkers = 2\n[observability]\nlog_format = "json"\n')
    gateway = launch(benefits.url, "--config", str(config))
    headers = {
        "Authorization": f"Bearer {gateway.token('social_worker')}",
        "X-Purpose-Of-Use": "early_help",
    }
    deadline = time.monotonic() + 15
    while len(access_processes(gateway)) < 2 and time.monotonic() < deadline:
        # Until both workers listen: each binds its socket when it starts.
        httpx.post(gateway.url + "/graphql", json={"query": PURPOSES_QUERY}, headers=headers)
    connections = 16
    together = threading.Barrier(connections)

    def one_connection(_: int) -> list[str]:
        with httpx.Client(headers=headers, timeout=10) as client:
            together.wait()
            replies = [
                client.post(gateway.url + "/graphql", json={"query": PURPOSES_QUERY})
                for _ in range(3)
            ]
        assert all(reply.status_code == 200 for reply in replies)
        return [reply.headers["x-request-id"] for reply in replies]

    with ThreadPoolExecutor(connections) as pool:
        per_connection = list(pool.map(one_connection, range(connections)))
    sent = {request for requests in per_connection for request in requests}
    deadline = time.monotonic() + 5
    while True:  # a worker logs a request just after sending its response
        process_of = {
            r["request_id"]: r["process"]
            for r in json_log(gateway)
            if r["logger"] == "joinedup.access"
        }
        if sent <= process_of.keys() or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    workers_of = [{process_of[request] for request in requests} for requests in per_connection]
    assert all(len(workers) == 1 for workers in workers_of), "a connection stays on its worker"
    assert len(set().union(*workers_of)) == 2, "both workers took connections"


def test_sigterm_lets_an_in_flight_request_finish_and_audits_it(
    launch: Launch, own_benefits: SimulatorProcess, person_in_both: dict[str, Any]
) -> None:
    gateway = launch(own_benefits.url, "--workers", "2", "--agency-timeout", "5")
    httpx.put(own_benefits.url + "/_sim/faults", json={"latency_ms": 1200}, timeout=5)
    results: list[httpx.Response] = []
    in_flight = threading.Thread(
        target=lambda: results.append(gateway.query(ref("NI_NUMBER", person_in_both["ni_number"])))
    )
    in_flight.start()
    time.sleep(0.6)  # the request is now waiting on the slow benefits agency
    gateway.process.send_signal(signal.SIGTERM)
    in_flight.join(timeout=20)
    assert gateway.process.wait(timeout=20) == 0

    [response] = results
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["person"]["benefits"]["niNumber"] == person_in_both["ni_number"]
    db = sqlite3.connect(gateway.state_dir / "audit.sqlite")
    try:
        agencies = {
            row[0]
            for row in db.execute(
                "SELECT agency FROM audit_record WHERE request_id = ?",
                (response.headers["x-request-id"],),
            )
        }
    finally:
        db.close()
    assert agencies == {"council", "benefits"}, "the in-flight disclosure was audited"
    log = gateway.log()
    assert response.headers["x-request-id"] in log
    assert person_in_both["ni_number"] not in log, "identifiers stay out of the logs"
    with pytest.raises(httpx.TransportError):
        httpx.get(gateway.url + "/healthz", timeout=2)


def test_readiness_flips_while_the_audit_store_cannot_take_writes(
    launch: Launch, benefits: SimulatorProcess
) -> None:
    gateway = launch(benefits.url)
    assert readyz(gateway).json()["status"] == "ready"
    holder = sqlite3.connect(gateway.state_dir / "audit.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        body = wait_for_status(gateway, 503)
        assert body["status"] == "not ready"
        assert body["audit"]["ok"] is False
        # Locked: the probe either sees the lock or times out waiting for it.
        [reason] = body["reasons"]
        assert reason.startswith("audit store: "), reason
        assert body["policy"]["ok"] is True
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert wait_for_status(gateway, 200)["status"] == "ready"


def test_readiness_flips_when_a_required_agency_stops(
    launch: Launch, own_benefits: SimulatorProcess
) -> None:
    required = launch(
        own_benefits.url, env={"JOINEDUP_READINESS__REQUIRE_AGENCIES": '["benefits"]'}
    )
    optional = launch(own_benefits.url)
    assert readyz(required).status_code == 200
    own_benefits.stop()

    body = wait_for_status(required, 503)
    assert body["reasons"] == ["agency benefits: service is not reachable"]
    assert body["agencies"]["benefits"] == {
        "ok": False,
        "detail": "service is not reachable",
        "required": True,
    }
    assert body["agencies"]["council"]["ok"] is True

    degraded = wait_for_status(optional, 200)
    assert degraded["status"] == "degraded", "an optional agency down leaves the replica serving"
    assert degraded["agencies"]["benefits"]["ok"] is False

    own_benefits.start()
    assert wait_for_status(required, 200)["status"] == "ready"


def test_workers_export_their_spans_over_otlp_before_exiting(
    launch: Launch,
    collector: OtlpCollector,
    benefits: SimulatorProcess,
    person_in_both: dict[str, Any],
) -> None:
    gateway = launch(
        benefits.url,
        "--workers",
        "2",
        env={
            "JOINEDUP_OBSERVABILITY__TRACES": "otlp",
            "JOINEDUP_OBSERVABILITY__OTLP_ENDPOINT": collector.endpoint,
        },
    )
    response = gateway.query(ref("NI_NUMBER", person_in_both["ni_number"]))
    assert response.status_code == 200
    gateway.process.send_signal(signal.SIGTERM)
    assert gateway.process.wait(timeout=20) == 0

    spans = [
        (span.name, {a.key: a.value.string_value for a in span.attributes}, span.trace_id)
        for body in collector.received
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    [request_trace] = {
        trace_id
        for _, attributes, trace_id in spans
        if attributes.get("joinedup.request_id") == response.headers["x-request-id"]
    }
    names = {name for name, _, trace_id in spans if trace_id == request_trace}
    assert {"POST /graphql", "policy.decide", "identity.resolve", "agency.read"} <= names
    assert "audit.write" in names
