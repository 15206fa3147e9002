"""The request deadline, as seen by adapters.

The gateway sets one deadline per GraphQL request (``request_deadline``) and
every adapter call made for that request runs inside it, so an adapter can ask
how much time it has left (:func:`remaining_s`) and give its upstream call no
more than that. Outside a request there is no deadline and the adapter's own
timeout applies.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("joinedup_request_deadline", default=None)


@contextmanager
def request_deadline(seconds: float) -> Iterator[float]:
    """Run the enclosed work (and every task it starts) under a deadline ``seconds`` away."""
    deadline = time.monotonic() + seconds
    token = _DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _DEADLINE.reset(token)


def remaining_s(own_timeout_s: float) -> float:
    """Seconds an upstream call may take now: its own timeout, cut to the request's deadline.

    Never negative; 0 means the deadline has passed and the call should not start.
    """
    deadline = _DEADLINE.get()
    if deadline is None:
        return own_timeout_s
    return max(0.0, min(own_timeout_s, deadline - time.monotonic()))
