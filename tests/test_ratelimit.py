"""The per-caller budget's sliding-window counter, on a controlled clock.

The limiter reads the wall clock (``time.time``) through the ``limits`` library;
the tests set it so each request lands at a known point of the fixed windows
the counter weights.
"""

from __future__ import annotations

import time

import pytest

from gateway.auth import Caller
from gateway.ratelimit import CallerRateLimiter, RateLimited

AMY = Caller(user="amy", org="o", roles=("keyworker",), team=None)
BOB = Caller(user="bob", org="o", roles=("keyworker",), team=None)
# A multiple of 60 s: the start of a fixed minute window.
WINDOW_START = 1_800_000_000.0


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = WINDOW_START
        monkeypatch.setattr(time, "time", lambda: self.now)


async def hits_admitted(limiter: CallerRateLimiter, caller: Caller, count: int) -> int:
    admitted = 0
    for _ in range(count):
        try:
            await limiter.hit(caller)
        except RateLimited:
            continue
        admitted += 1
    return admitted


async def test_budget_is_per_caller_and_says_when_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    limiter = CallerRateLimiter("10/minute")
    clock.now = WINDOW_START + 30

    assert await hits_admitted(limiter, AMY, 10) == 10
    with pytest.raises(RateLimited, match="10/minute") as refused:
        await limiter.hit(AMY)
    assert 1 <= refused.value.retry_after_s <= 60
    assert await hits_admitted(limiter, BOB, 1) == 1


async def test_a_burst_at_the_end_of_a_window_counts_against_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    limiter = CallerRateLimiter("10/minute")
    clock.now = WINDOW_START + 59
    assert await hits_admitted(limiter, AMY, 10) == 10

    # 3 s into the next minute, 95 % of the last one is still inside the sliding window:
    # 10 x 0.95 = 9.5 requests counted, so one more fits (a fixed window would allow 10).
    clock.now = WINDOW_START + 63
    assert await hits_admitted(limiter, AMY, 5) == 1

    # 27 s in: 10 x 0.55 + 1 = 6.5 counted, four more fit.
    clock.now = WINDOW_START + 87
    assert await hits_admitted(limiter, AMY, 10) == 4

    # Two minutes on, the burst has left the window; the last minute's 5 weigh 5 x 0.45.
    clock.now = WINDOW_START + 153
    assert await hits_admitted(limiter, AMY, 20) == 8
