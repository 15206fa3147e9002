"""Per-caller rate limiting: each verified caller gets its own sliding-window budget.

Kept in process memory (the ``limits`` library's asyncio memory storage): one
gateway process limits its own callers; several replicas would each allow the
budget.

The strategy is the ``limits`` library's sliding-window counter: the caller's
count in the current fixed window plus the previous window's count weighted by
the share of that window still inside the sliding window. For "600/minute" a
caller gets about 600 requests in any 60 seconds, never more than 600 in one
fixed minute, and a burst at the end of one minute is still counted against
the start of the next; unlike an exact moving window it may admit or refuse a
request near the limit a little early or late, because it assumes the previous
window's requests were spread evenly. It keeps two counters per caller instead
of one timestamp per request. The asyncio storage expires counters in an event
loop task; the thread-based memory storage started a ``threading.Timer`` thread
per request, ~0.3 ms of CPU each (``bench.profile``).
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

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
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def hit(self, caller: Caller) -> None:
        """Count one request for ``caller``, or raise :class:`RateLimited`."""
        key = f"{caller.org}\x1f{caller.user}"
        if await self._limiter.hit(self._item, key):
            return
        reset_at = (await self._limiter.get_window_stats(self._item, key)).reset_time
        raise RateLimited(self.limit, max(1, math.ceil(reset_at - time.time())))
