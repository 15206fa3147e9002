"""An agency call's span: made current when a tracer records it, free when none does.

The tracer is swapped in this module only (``tracing.tracer``), so the process-wide
provider other tests install is left alone.
"""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from prometheus_client import REGISTRY

from adapters.sdk.correlation import correlation_headers
from gateway.observability import tracing
from gateway.observability.steps import AgencyCallStep

LABELS = {"agency": "spans-test", "operation": "read"}


def calls_counted(outcome: str) -> float:
    labels = {**LABELS, "outcome": outcome}
    return REGISTRY.get_sample_value("joinedup_agency_call_seconds_count", labels) or 0.0


def test_without_a_tracer_the_context_is_left_alone_and_metrics_still_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracing, "tracer", trace.NoOpTracer())
    outside = trace.get_current_span()
    before = calls_counted("ok")

    with AgencyCallStep("spans-test", "read") as step:
        assert trace.get_current_span() is outside
        assert "traceparent" not in correlation_headers()

    assert trace.get_current_span() is outside
    assert step.seconds > 0
    assert calls_counted("ok") == before + 1


def test_a_recording_tracer_gets_a_current_child_span_with_the_outcome(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "tracer", provider.get_tracer("test"))
    errors = {**LABELS, "code": "UPSTREAM_TIMEOUT"}
    errors_before = REGISTRY.get_sample_value("joinedup_agency_errors_total", errors) or 0.0

    with tracing.tracer.start_as_current_span("request") as request_span:
        with AgencyCallStep("spans-test", "read") as step:
            inner = trace.get_current_span()
            assert inner is not request_span
            headers = correlation_headers()
            step.outcome = "UPSTREAM_TIMEOUT"
        assert trace.get_current_span() is request_span

    [call, _] = exporter.get_finished_spans()
    assert call.name == "agency.read"
    assert call.parent is not None
    assert call.parent.span_id == request_span.get_span_context().span_id
    assert f"{call.context.span_id:016x}" in headers["traceparent"]
    assert dict(call.attributes or {}) == {
        tracing.AGENCY: "spans-test",
        tracing.OPERATION: "read",
        tracing.OUTCOME: "UPSTREAM_TIMEOUT",
    }
    assert call.status.status_code is trace.StatusCode.ERROR
    after = REGISTRY.get_sample_value("joinedup_agency_errors_total", errors)
    assert after == errors_before + 1


def test_a_sampled_out_span_is_still_propagated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not recorded, but a span of its own: agencies must see its (unsampled) context."""
    monkeypatch.setattr(tracing, "tracer", TracerProvider(sampler=ALWAYS_OFF).get_tracer("test"))
    outside = trace.get_current_span()

    with AgencyCallStep("spans-test", "read"):
        inner = trace.get_current_span()
        assert inner is not outside
        assert not inner.is_recording()
        traceparent = correlation_headers()["traceparent"]
        assert f"-{inner.get_span_context().span_id:016x}-" in traceparent
        assert int(traceparent.rsplit("-", 1)[1], 16) & 1 == 0, "marked not sampled"

    assert trace.get_current_span() is outside
