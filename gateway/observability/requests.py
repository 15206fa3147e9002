"""Per-request observation of ``/graphql``: request id, span, latency metric, access log.

An ASGI middleware rather than code in the endpoint, so every exit of the
endpoint (rejections included) is measured the same way. The endpoint only
names the operation (:func:`name_operation`) once the query is parsed.

Health probes and ``/metrics`` are not observed: they would drown the signal.
The access log line has no query string, which may carry identifiers.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

from graphql import FieldNode, OperationDefinitionNode
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.sdk.correlation import bind_request_id, unbind_request_id
from gateway.observability import tracing
from gateway.observability.metrics import REQUEST_SECONDS

log = logging.getLogger("joinedup.access")

OBSERVED_PATH = "/graphql"
# A caller's X-Request-Id is kept only if it is short and plain: it reaches logs and agencies.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass
class RequestObservation:
    operation: str = "none"


_current: ContextVar[RequestObservation | None] = ContextVar("joinedup_observation", default=None)


def name_operation(operation: OperationDefinitionNode) -> None:
    """Label the current request by its root fields (bounded by the schema, not the caller)."""
    observation = _current.get()
    if observation is None:
        return
    roots = sorted(
        "introspection" if s.name.value.startswith("__") else s.name.value
        for s in operation.selection_set.selections
        if isinstance(s, FieldNode)
    )
    observation.operation = "+".join(dict.fromkeys(roots)) or "other"


def request_id_from(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _ACCEPTED_REQUEST_ID.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex


class ObserveRequests:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != OBSERVED_PATH:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        id_token = bind_request_id(request_id)
        observation = RequestObservation()
        observation_token = _current.set(observation)
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        with tracing.tracer.start_as_current_span(
            f"{scope['method']} {OBSERVED_PATH}", kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute(tracing.REQUEST_ID, request_id)
            span.set_attribute("http.request.method", scope["method"])
            try:
                await self.app(scope, receive, send_and_watch)
            finally:
                elapsed = time.perf_counter() - started
                span.set_attribute(tracing.OPERATION, observation.operation)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(trace.StatusCode.ERROR, f"HTTP {status}")
                REQUEST_SECONDS.labels(observation.operation, str(status)).observe(elapsed)
                log.info(
                    "%s %s %d %.1fms operation=%s",
                    scope["method"],
                    OBSERVED_PATH,
                    status,
                    elapsed * 1000,
                    observation.operation,
                )
                _current.reset(observation_token)
                unbind_request_id(id_token)
