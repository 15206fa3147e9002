"""Request correlation for agency calls: the gateway's request id, sent as a header.

The gateway binds the id of the request it is serving; adapters send it (and the
W3C trace context) on every upstream call so an agency's logs can be joined to
the gateway's audit and traces. It lives in the SDK because adapters depend on
the SDK only, never on gateway internals.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

import httpx
from opentelemetry.propagate import inject

REQUEST_ID_HEADER = "X-Request-Id"

_current_request_id: ContextVar[str | None] = ContextVar("joinedup_request_id", default=None)


def bind_request_id(request_id: str) -> Token[str | None]:
    """Make ``request_id`` current for this task and the tasks it starts."""
    return _current_request_id.set(request_id)


def unbind_request_id(token: Token[str | None]) -> None:
    _current_request_id.reset(token)


def current_request_id() -> str | None:
    return _current_request_id.get()


def correlation_headers() -> dict[str, str]:
    """Headers for an upstream call: the request id and the trace context, if any."""
    headers: dict[str, str] = {}
    request_id = current_request_id()
    if request_id is not None:
        headers[REQUEST_ID_HEADER] = request_id
    inject(headers)
    return headers


async def propagate_correlation(request: httpx.Request) -> None:
    """httpx request event hook: ``AsyncClient(event_hooks={"request": [this]})``."""
    request.headers.update(correlation_headers())
