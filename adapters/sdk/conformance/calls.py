"""Counting the calls an adapter makes to its upstream, to check batching.

The kit does not trust an adapter's own account: it counts at the client
library. :func:`count_http_requests` counts every request sent by any
``aiohttp.ClientSession`` (what the SDK's ``HttpUpstream`` uses) or
``httpx.AsyncClient`` in this process;
:func:`count_sqlite_statements` counts every SQL statement run on any
``sqlite3`` connection while counting, whether opened before (an adapter may keep
one between calls) or during.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import aiohttp
import httpx


@dataclass
class CallCount:
    """Calls seen so far; safe to bump from worker threads."""

    count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bump(self) -> None:
        with self._lock:
            self.count += 1


@contextmanager
def count_http_requests() -> Iterator[CallCount]:
    """Count requests sent through aiohttp's or httpx's async client while the block runs."""
    calls = CallCount()
    send = httpx.AsyncClient.send
    # Every verb of a session goes through _request.
    aiohttp_request = aiohttp.ClientSession._request

    async def counting_send(
        client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        calls.bump()
        return await send(client, request, **kwargs)

    def counting_request(session: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        calls.bump()
        return aiohttp_request(session, *args, **kwargs)

    with (
        mock.patch.object(httpx.AsyncClient, "send", counting_send),
        mock.patch.object(aiohttp.ClientSession, "_request", counting_request),
    ):
        yield calls


@contextmanager
def count_sqlite_statements() -> Iterator[CallCount]:
    """Count SQL statements on every sqlite3 connection while the block runs.

    Connections already open are found through the garbage collector (it tracks every
    ``sqlite3.Connection``); new ones as they are opened. Each one's trace callback is
    the counter's while counting, and none afterwards.
    """
    calls = CallCount()
    connect = sqlite3.connect
    traced: list[sqlite3.Connection] = []

    def trace(connection: sqlite3.Connection) -> None:
        try:
            connection.set_trace_callback(lambda _statement: calls.bump())
        except sqlite3.ProgrammingError:  # closed, or bound to another thread
            return
        traced.append(connection)

    def counting_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = connect(*args, **kwargs)
        trace(connection)
        return connection

    for found in gc.get_objects():
        if isinstance(found, sqlite3.Connection):
            trace(found)
    try:
        with mock.patch.object(sqlite3, "connect", counting_connect):
            yield calls
    finally:
        for connection in traced:
            try:
                connection.set_trace_callback(None)
            except sqlite3.ProgrammingError:
                pass
