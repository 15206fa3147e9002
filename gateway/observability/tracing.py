"""OpenTelemetry traces: a span per request, policy decision, identity resolution,
agency call and audit write.

Spans carry the agency, operation, engine and outcome; never people, identifiers,
callers or field values. The exporter is chosen by configuration; with
``traces = "none"`` no provider is installed and spans cost almost nothing.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from gateway.config import ObservabilityConfig

tracer = trace.get_tracer("joinedup")

# Span attribute names, in one place so tests and dashboards agree.
AGENCY = "joinedup.agency"
OPERATION = "joinedup.operation"
OUTCOME = "joinedup.outcome"
ENGINE = "joinedup.policy.engine"
REQUEST_ID = "joinedup.request_id"


_installed: TracerProvider | None = None


def configure_tracing(config: ObservabilityConfig) -> None:
    """Install the process's tracer provider and exporter (once, at start-up)."""
    global _installed
    exporter: SpanExporter
    if config.traces == "none":
        return
    if config.traces == "console":
        exporter = ConsoleSpanExporter()
    else:
        exporter = OTLPSpanExporter(endpoint=config.otlp_endpoint)
    provider = TracerProvider(resource=Resource.create({"service.name": config.service_name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _installed = provider


def flush_tracing() -> None:
    """Export spans still batched: worker processes exit without running atexit hooks."""
    if _installed is not None:
        _installed.force_flush()


def mark_outcome(span: trace.Span, outcome: str) -> None:
    """Record an outcome; anything but ``ok`` also marks the span as an error."""
    span.set_attribute(OUTCOME, outcome)
    if outcome != "ok":
        span.set_status(trace.StatusCode.ERROR, outcome)
