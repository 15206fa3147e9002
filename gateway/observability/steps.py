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
from contextvars import Token
from dataclasses import dataclass

from opentelemetry import context, trace
from opentelemetry.context import Context

from gateway.observability import tracing
from gateway.observability.metrics import (
    AGENCY_CALL_SECONDS,
    AGENCY_ERRORS,
    AUDIT_WRITE_SECONDS,
    POLICY_DECISION_SECONDS,
    POLICY_DECISIONS,
    POLICY_FIELD_EFFECTS,
)


class _StepSpan:
    """A step's span, current while the step runs, as ``start_as_current_span`` makes it.

    With no tracer provider installed (the default) the API's no-op tracer hands back
    the current span itself, non-recording: there is nothing to record and nothing new
    to propagate, so the context is left as it is. This is the agency call's hot path
    (~14 calls per full person view); making the span current would cost a context
    switch each way for nothing.
    """

    __slots__ = ("_name", "_token", "span")

    def __init__(self, name: str) -> None:
        self._name = name
        self._token: Token[Context] | None = None

    def __enter__(self) -> trace.Span:
        span = tracing.tracer.start_span(
            self._name, record_exception=False, set_status_on_exception=False
        )
        if span.is_recording() or span is not trace.get_current_span():
            self._token = context.attach(trace.set_span_in_context(span))
        self.span = span
        return span

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            context.detach(self._token)
            self.span.end()


@dataclass
class PolicyStep:
    outcome: str = "decided"
    effects: tuple[str, ...] = ()


@contextmanager
def policy_decision_step(engine: str) -> Iterator[PolicyStep]:
    """Around one policy decision; set ``outcome`` ("decided"/"failed_closed") and ``effects``."""
    step = PolicyStep()
    started = time.perf_counter()
    with _StepSpan("policy.decide") as span:
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
    with _StepSpan("identity.resolve") as span:
        try:
            yield step
        finally:
            span.set_attribute("joinedup.identity.agencies_matched", step.matched)
            span.set_attribute("joinedup.identity.agencies_failed", step.failed)


class AgencyCallStep:
    """Around one adapter call: its span, duration metric and error count.

    Set ``outcome`` to the error code when the call fails. The step times the call once
    for everyone: ``started`` and ``seconds`` (``time.perf_counter``) are also the
    call's interval in the request's ``extensions.joinedup.upstream``.
    A class rather than a generator context manager: it runs for every agency call.
    """

    __slots__ = ("_span", "agency", "operation", "outcome", "seconds", "started")

    def __init__(self, agency: str, operation: str) -> None:
        self.agency = agency
        self.operation = operation
        self.outcome = "ok"
        self.started = 0.0
        self.seconds = 0.0
        self._span = _StepSpan(f"agency.{operation}")

    def __enter__(self) -> AgencyCallStep:
        self.started = time.perf_counter()
        span = self._span.__enter__()
        span.set_attribute(tracing.AGENCY, self.agency)
        span.set_attribute(tracing.OPERATION, self.operation)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self.started
        try:
            AGENCY_CALL_SECONDS.labels(self.agency, self.operation, self.outcome).observe(
                self.seconds
            )
            if self.outcome != "ok":
                AGENCY_ERRORS.labels(self.agency, self.operation, self.outcome).inc()
            tracing.mark_outcome(self._span.span, self.outcome)
        finally:
            self._span.__exit__(*exc_info)


@contextmanager
def audit_write_step() -> Iterator[None]:
    """Around one audit write; a raised exception counts as a failed write."""
    outcome = "ok"
    started = time.perf_counter()
    with _StepSpan("audit.write") as span:
        try:
            yield
        except Exception:
            outcome = "failed"
            raise
        finally:
            AUDIT_WRITE_SECONDS.labels(outcome).observe(time.perf_counter() - started)
            tracing.mark_outcome(span, outcome)
