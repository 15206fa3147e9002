"""Traces, metrics and request ids, observed in-process (in-memory span exporter).

The gateway runs in this process so its spans can be captured; the benefits
simulator and the council database are real, as everywhere else.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from adapters.benefits import BenefitsAdapter
from adapters.sdk import Identifier
from adapters.sdk.correlation import bind_request_id, unbind_request_id
from gateway.app import create_app
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import GatewayConfig
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess, free_port
from simulators.world import WorldPaths
from tests import inprocess
from tests.conftest import PERSON_QUERY, ref

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def span_exporter() -> InMemorySpanExporter:
    """Install the in-memory exporter once: the tracer provider is process-wide."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)
    return EXPORTER


@asynccontextmanager
async def in_process_gateway(config: GatewayConfig) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            yield client


def config_for(tmp_path: Path, world: WorldPaths, benefits_url: str) -> GatewayConfig:
    return inprocess.config_for(tmp_path / "state", world, benefits_url)


def headers(config: GatewayConfig, **extra: str) -> dict[str, str]:
    token = issue_dev_token(
        load_dev_key(config.state_dir), "u", "social_worker", "o", "children-east"
    )
    return {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children", **extra}


def traces(spans: tuple[ReadableSpan, ...]) -> dict[int, list[ReadableSpan]]:
    grouped: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        assert span.context is not None
        grouped.setdefault(span.context.trace_id, []).append(span)
    return grouped


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_each_request_is_one_trace_with_a_span_per_step(
    tmp_path: Path,
    world: WorldPaths,
    benefits: SimulatorProcess,
    person_in_both: dict[str, Any],
    span_exporter: InMemorySpanExporter,
) -> None:
    config = config_for(tmp_path, world, benefits.url)
    span_exporter.clear()
    async with in_process_gateway(config) as client:
        for _ in range(2):
            response = await client.post(
                "/graphql",
                json={
                    "query": PERSON_QUERY,
                    "variables": ref("NI_NUMBER", person_in_both["ni_number"]),
                },
                headers=headers(config),
            )
            assert response.status_code == 200
            assert response.json()["data"]["person"]["benefits"] is not None

    by_trace = traces(span_exporter.get_finished_spans())
    assert len(by_trace) == 2, "one trace per request"
    for spans in by_trace.values():
        [root] = [s for s in spans if s.parent is None]
        assert root.name == "POST /graphql"
        assert attributes(root)["joinedup.operation"] == "person"
        assert attributes(root)["http.response.status_code"] == 200
        names = sorted(s.name for s in spans)
        # One plans what the lookups read (once the council matched), one the disclosure.
        assert names.count("policy.decide") == 2
        assert names.count("identity.resolve") == 1
        assert names.count("audit.write") == 1
        calls = {
            (attributes(s)["joinedup.agency"], attributes(s)["joinedup.operation"])
            for s in spans
            if s.name.startswith("agency.")
        }
        assert calls == {
            ("council", "lookup"),
            ("council", "read"),
            ("benefits", "lookup_read"),  # read with its lookup, once the council matched
        }
        assert all(
            attributes(s)["joinedup.outcome"] == "ok"
            for s in spans
            if s.name.startswith(("agency.", "policy.", "audit."))
        )
        [identity] = [s for s in spans if s.name == "identity.resolve"]
        assert attributes(identity)["joinedup.identity.agencies_matched"] == 2

    personal = {
        str(person_in_both[key])
        for key in ("ni_number", "council_id", "given_name", "family_name", "date_of_birth")
    }
    for span in span_exporter.get_finished_spans():
        for value in attributes(span).values():
            assert not any(p in str(value) for p in personal), f"{span.name} carries personal data"
        for event in span.events:
            assert not any(p in str(dict(event.attributes or {})) for p in personal)


async def test_failed_agency_call_is_an_error_span_and_counted(
    tmp_path: Path,
    world: WorldPaths,
    person_in_both: dict[str, Any],
    span_exporter: InMemorySpanExporter,
) -> None:
    nobody_listens = f"http://127.0.0.1:{free_port()}"
    config = config_for(tmp_path, world, nobody_listens)
    labels = {"agency": "benefits", "operation": "lookup_read", "code": "UPSTREAM_UNAVAILABLE"}
    before = REGISTRY.get_sample_value("joinedup_agency_errors_total", labels) or 0.0
    span_exporter.clear()
    async with in_process_gateway(config) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": PERSON_QUERY,
                "variables": ref("NI_NUMBER", person_in_both["ni_number"]),
            },
            headers=headers(config),
        )
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 200, "one agency down never fails the whole query"
    failed = [
        s
        for s in span_exporter.get_finished_spans()
        if s.name == "agency.lookup_read" and attributes(s)["joinedup.agency"] == "benefits"
    ]
    assert failed
    for span in failed:
        assert attributes(span)["joinedup.outcome"] == "UPSTREAM_UNAVAILABLE"
        assert span.status.status_code is trace.StatusCode.ERROR
    after = REGISTRY.get_sample_value("joinedup_agency_errors_total", labels)
    assert after == before + len(failed)
    assert 'joinedup_agency_errors_total{agency="benefits",code="UPSTREAM_UNAVAILABLE"' in metrics


async def test_metrics_cover_requests_policy_and_audit(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess, person_in_both: dict[str, Any]
) -> None:
    config = config_for(tmp_path, world, benefits.url)
    request_labels = {"operation": "person", "status": "200"}
    before = REGISTRY.get_sample_value("joinedup_request_seconds_count", request_labels) or 0.0
    async with in_process_gateway(config) as client:
        await client.post(
            "/graphql",
            json={
                "query": PERSON_QUERY,
                "variables": ref("NI_NUMBER", person_in_both["ni_number"]),
            },
            headers=headers(config),
        )
        rejected = await client.post("/graphql", json={"query": "{ purposes { id } }"})
        assert rejected.status_code == 401
        response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert REGISTRY.get_sample_value("joinedup_request_seconds_count", request_labels) == before + 1
    assert 'joinedup_request_seconds_count{operation="none",status="401"}' in text
    assert 'joinedup_policy_decisions_total{engine="embedded",outcome="decided"}' in text
    assert 'joinedup_policy_field_effects_total{effect="allow",engine="embedded"}' in text
    assert 'joinedup_audit_write_seconds_count{outcome="ok"}' in text
    assert (
        'joinedup_agency_call_seconds_count{agency="council",operation="read",outcome="ok"}' in text
    )
    assert 'joinedup_agency_circuit_state{agency="benefits"} 0.0' in text


async def test_request_id_is_taken_from_the_caller_only_when_plain(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess
) -> None:
    config = config_for(tmp_path, world, benefits.url)
    query = {"query": "{ purposes { id } }"}
    async with in_process_gateway(config) as client:
        kept = await client.post(
            "/graphql", json=query, headers=headers(config, **{"X-Request-Id": "lb-1234.abc"})
        )
        replaced = await client.post(
            "/graphql", json=query, headers=headers(config, **{"X-Request-Id": "x" * 65})
        )
    assert kept.headers["x-request-id"] == "lb-1234.abc"
    assert kept.json()["extensions"]["joinedup"]["requestId"] == "lb-1234.abc"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_graphiql_and_introspection_can_be_switched_off(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess
) -> None:
    config = replace(config_for(tmp_path, world, benefits.url), graphiql=False, introspection=False)
    async with in_process_gateway(config) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers(config)
        )
    assert "text/html" not in page.headers["content-type"]
    assert introspection.status_code == 400
    assert "introspection" in introspection.text.lower()


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []  # noqa: RUF012 - shared with the test by design

    def do_GET(self) -> None:
        _Recorder.seen.append(dict(self.headers))
        body = b'{"claimants": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def recording_agency() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_agency_calls_carry_the_request_id_and_trace_context(recording_agency: str) -> None:
    adapter = BenefitsAdapter(recording_agency)
    token = bind_request_id("req-42")
    try:
        with trace.get_tracer("test").start_as_current_span("request"):
            await adapter.lookup((Identifier("NI_NUMBER", "QQ123456C"),))
    finally:
        unbind_request_id(token)
        await adapter.aclose()
    [seen] = _Recorder.seen
    assert seen["X-Request-Id"] == "req-42"
    assert seen["traceparent"].startswith("00-")
