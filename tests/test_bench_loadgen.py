"""The load generator's connections: kept alive per client, or new for every operation.

A gateway worker serves the connections the kernel hashes to it, so where a few
kept-alive connections land decides how many workers a run uses; ``Load.reconnect``
makes every operation open a new one. Checked against a real server on loopback that
notes which client port each request came from.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.loadgen import run

OPERATION = [{"query": "{ a }"}, {"query": "{ b }"}]  # two requests, as a chunked caseload


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[int]]]:
    """A GraphQL-shaped endpoint on loopback, and the client port of every request."""
    ports: list[int] = []

    async def graphql(request: Request) -> JSONResponse:
        assert request.client is not None
        ports.append(request.client.port)
        return JSONResponse({"data": {}})

    # Listening before the server starts: connections wait in the backlog until it accepts.
    listening = socket.create_server(("127.0.0.1", 0))
    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
    serving = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    task = asyncio.create_task(serving.serve(sockets=[listening]))
    yield f"http://127.0.0.1:{listening.getsockname()[1]}/graphql", ports
    serving.should_exit = True
    await task


def spec(url: str, reconnect: bool) -> dict[str, Any]:
    return {
        "url": url,
        "headers": {},
        "operations": [OPERATION],
        "concurrency": 2,
        "warmup_s": 0.0,
        "duration_s": 0.3,
        "reconnect": reconnect,
    }


async def test_clients_keep_their_connections_by_default(server: tuple[str, list[int]]) -> None:
    url, ports = server
    result = await run(spec(url, reconnect=False))

    assert len(result["operations"]) > 4
    assert all(op["ok"] for op in result["operations"])
    assert len(set(ports)) <= 2, "one connection per client"


async def test_reconnecting_clients_open_one_connection_per_operation(
    server: tuple[str, list[int]],
) -> None:
    url, ports = server
    result = await run(spec(url, reconnect=True))

    assert len(result["operations"]) > 4
    assert all(op["ok"] for op in result["operations"])
    # Both requests of an operation share its connection; the next operation opens another.
    assert set(Counter(ports).values()) == {len(OPERATION)}
