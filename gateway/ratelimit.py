"""Per-caller rate limiting: each verified caller gets its own moving-window budget.

Kept in process memory (the ``limits`` library's memory storage): one gateway
process limits its own callers; several replicas would each allow the budget.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from gateway.auth import Caller


class RateLimited(Exception):
    """The caller has used its budget; ``retry_after_s`` says when one more request fits."""

    def __init__(self, limit: str, retry_after_s: int) -> None:
        super().__init__(f"rate limit of {limit} per caller exceeded; retry after {retry_after_s}s")
        self.retry_after_s = retry_after_s


class CallerRateLimiter:
    def __init__(self, limit: str) -> None:
        self.limit = limit
        self._item = parse(limit)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, caller: Caller) -> None:
        """Count one request for ``caller``, or raise :class:`RateLimited`."""
        key = f"{caller.org}\x1f{caller.user}"
        if self._limiter.hit(self._item, key):
            return
        reset_at = self._limiter.get_window_stats(self._item, key).reset_time
        raise RateLimited(self.limit, max(1, math.ceil(reset_at - time.time())))
