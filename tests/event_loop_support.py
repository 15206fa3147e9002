"""Helpers for tests about what runs on the event loop and what in a worker thread."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from unittest import mock

T = TypeVar("T")


@contextmanager
def functions_sent_to_threads() -> Iterator[list[str]]:
    """The names of the functions handed to ``asyncio.to_thread`` while the block runs."""
    used: list[str] = []
    to_thread = asyncio.to_thread

    async def counting(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        used.append(func.__name__)
        return await to_thread(func, *args, **kwargs)

    with mock.patch.object(asyncio, "to_thread", counting):
        yield used


async def with_loop_turns(work: Awaitable[T]) -> tuple[T, int]:
    """``work``'s result, and how many times a 10 ms ticker ran on the loop meanwhile:
    few turns mean ``work`` held the loop."""
    turns = 0

    async def tick() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.ensure_future(tick())
    try:
        return await work, turns
    finally:
        ticker.cancel()
