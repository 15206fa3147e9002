"""Prometheus metrics, served on ``/metrics``.

With several worker processes (``joinedup serve --workers N``) each worker
writes its samples to ``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker
aggregates all of them, so one scrape sees the whole replica.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "joinedup_request_seconds",
    "GraphQL requests by operation (root fields) and HTTP status.",
    ["operation", "status"],
)
AGENCY_CALL_SECONDS = Histogram(
    "joinedup_agency_call_seconds",
    "Calls to agency systems by agency, operation (lookup, read) and outcome.",
    ["agency", "operation", "outcome"],
)
AGENCY_ERRORS = Counter(
    "joinedup_agency_errors",
    "Failed agency calls by error code (UPSTREAM_TIMEOUT counts timeouts).",
    ["agency", "operation", "code"],
)
CIRCUIT_STATE = Gauge(
    "joinedup_agency_circuit_state",
    "Circuit breaker per agency: 0 closed, 1 half-open, 2 open.",
    ["agency"],
    multiprocess_mode="max",
)
POLICY_DECISIONS = Counter(
    "joinedup_policy_decisions",
    "Policy decisions by engine and outcome (decided, failed_closed).",
    ["engine", "outcome"],
)
POLICY_DECISION_SECONDS = Histogram(
    "joinedup_policy_decision_seconds", "Time to a policy decision, by engine.", ["engine"]
)
POLICY_FIELD_EFFECTS = Counter(
    "joinedup_policy_field_effects",
    "Field decisions by effect (allow, mask, deny).",
    ["engine", "effect"],
)
AUDIT_WRITE_SECONDS = Histogram(
    "joinedup_audit_write_seconds", "Audit store writes by outcome.", ["outcome"]
)

CIRCUIT_CLOSED, CIRCUIT_HALF_OPEN, CIRCUIT_OPEN = 0, 1, 2


def set_circuit_state(agency: str, state: int) -> None:
    """Hook for circuit breakers: report an agency's breaker state.

    This build has no breakers, so every agency is reported closed at start-up;
    a breaker implementation calls this on each transition.
    """
    CIRCUIT_STATE.labels(agency).set(state)


def report_agencies(agencies: Iterable[str]) -> None:
    for agency in agencies:
        set_circuit_state(agency, CIRCUIT_CLOSED)


async def metrics_endpoint(request: Request) -> Response:
    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
