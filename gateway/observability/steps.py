"""Instrumentation of the request's steps: one span and its metrics per step.

Each step is a context manager called at an existing step boundary (policy
decision, identity resolution, agency call, audit write). Spans never record
exceptions: an exception's message may carry data, so only outcome codes are kept.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opentelemetry import trace

from gateway.observability import tracing
from gateway.observability.metrics import (
    AGENCY_CALL_SECONDS,
    AGENCY_ERRORS,
    AUDIT_WRITE_SECONDS,
    POLICY_DECISION_SECONDS,
    POLICY_DECISIONS,
    POLICY_FIELD_EFFECTS,
)


@contextmanager
def _span(name: str) -> Iterator[trace.Span]:
    with tracing.tracer.start_as_current_span(
        name, record_exception=False, set_status_on_exception=False
    ) as span:
        yield span


@dataclass
class PolicyStep:
    outcome: str = "decided"
    effects: tuple[str, ...] = ()


@contextmanager
def policy_decision_step(engine: str) -> Iterator[PolicyStep]:
    """Around one policy decision; set ``outcome`` ("decided"/"failed_closed") and ``effects``."""
    step = PolicyStep()
    started = time.perf_counter()
    with _span("policy.decide") as span:
        span.set_attribute(tracing.ENGINE, engine)
        try:
            yield step
        finally:
            POLICY_DECISION_SECONDS.labels(engine).observe(time.perf_counter() - started)
            POLICY_DECISIONS.labels(engine, step.outcome).inc()
            # One increment per distinct effect, not per field (~110 fields per full view).
            for effect, count in Counter(step.effects).items():
                POLICY_FIELD_EFFECTS.labels(engine, effect).inc(count)
            span.set_attribute("joinedup.policy.fields", len(step.effects))
            tracing.mark_outcome(span, "ok" if step.outcome == "decided" else step.outcome)


@dataclass
class IdentityStep:
    matched: int = 0
    failed: int = 0


@contextmanager
def identity_resolution_step() -> Iterator[IdentityStep]:
    """Around finding one person in every agency; counts only, never identifiers."""
    step = IdentityStep()
    with _span("identity.resolve") as span:
        try:
            yield step
        finally:
            span.set_attribute("joinedup.identity.agencies_matched", step.matched)
            span.set_attribute("joinedup.identity.agencies_failed", step.failed)


@dataclass
class AgencyStep:
    outcome: str = "ok"


@contextmanager
def agency_call_step(agency: str, operation: str) -> Iterator[AgencyStep]:
    """Around one adapter call; set ``outcome`` to the error code when it fails."""
    step = AgencyStep()
    started = time.perf_counter()
    with _span(f"agency.{operation}") as span:
        span.set_attribute(tracing.AGENCY, agency)
        span.set_attribute(tracing.OPERATION, operation)
        try:
            yield step
        finally:
            AGENCY_CALL_SECONDS.labels(agency, operation, step.outcome).observe(
                time.perf_counter() - started
            )
            if step.outcome != "ok":
                AGENCY_ERRORS.labels(agency, operation, step.outcome).inc()
            tracing.mark_outcome(span, step.outcome)


@contextmanager
def audit_write_step() -> Iterator[None]:
    """Around one audit write; a raised exception counts as a failed write."""
    outcome = "ok"
    started = time.perf_counter()
    with _span("audit.write") as span:
        try:
            yield
        except Exception:
            outcome = "failed"
            raise
        finally:
            AUDIT_WRITE_SECONDS.labels(outcome).observe(time.perf_counter() - started)
            tracing.mark_outcome(span, outcome)
