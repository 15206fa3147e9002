"""CPU per upstream call: the SDK's ``HttpUpstream`` against cheaper ways to make the same call.

``python -m bench.http_client [--calls N] [--rounds R]``: a loopback server in its own
process answers every request at once with a 4 kB JSON document (the size of a
section read); this process makes ``N`` sequential calls per variant and measures
its own CPU (``time.process_time``) per call. Variants run interleaved, ``R`` rounds,
medians; ratios are against ``HttpUpstream`` as it was before this benchmark
(``baseline_httpx``: httpx ``AsyncClient``, correlation headers by event hook). Every
variant keeps the protections the SDK promises: size cap while streaming, one
deadline for the whole exchange, no compression, correlation headers, UTF-8 decode
and JSON parse. ``http_upstream`` is the SDK's client as it is now; ``agency_call`` is
the same call as the gateway makes it: through ``FanOut.timed`` (timing, span, metrics)
and ``ResilientAdapter`` (breaker, retries, bulkhead, timeout), inside a request deadline,
so its difference to ``http_upstream`` is the gateway's own cost per agency call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpcore
import httpx

from adapters.sdk import Adapter, FieldSpec, Health, Identifier, Match, SectionSpec
from adapters.sdk.correlation import bind_request_id, correlation_headers
from adapters.sdk.deadline import request_deadline
from adapters.sdk.http import MAX_REPLY_BYTES, HttpUpstream
from gateway.config import ResilienceSettings
from gateway.resilience import make_resilient
from resolvers.fanout import FanOut

_SERVER = """
import json, sys
body = json.dumps({"records": [{"id": i, "name": "x" * 30, "fields": list(range(10))}
                               for i in range(40)]}).encode()
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
import uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error", access_log=False)
"""

Call = Callable[[], Awaitable[Any]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _httpx_client(url: str, hook: bool) -> httpx.AsyncClient:
    async def propagate_correlation(request: httpx.Request) -> None:
        request.headers.update(correlation_headers())

    return httpx.AsyncClient(
        base_url=url,
        timeout=httpx.Timeout(10.0, connect=1.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        follow_redirects=False,
        headers={"Accept-Encoding": "identity"},
        event_hooks={"request": [propagate_correlation]} if hook else {},
    )


def _httpx_baseline_call(client: httpx.AsyncClient) -> Call:
    """``HttpUpstream`` before this benchmark: event hook, ``stream()``, a second Response."""

    async def call() -> Any:
        async with asyncio.timeout(10.0):
            async with client.stream("GET", "/pupils", params={"nhs_number": "1"}) as reply:
                body = bytearray()
                async for chunk in reply.aiter_raw():
                    body += chunk
                    if len(body) > MAX_REPLY_BYTES:
                        raise RuntimeError("too large")
            response = httpx.Response(
                reply.status_code, headers=reply.headers, content=bytes(body), request=reply.request
            )
        return json.loads(response.content.decode("utf-8"))

    return call


def _httpx_tuned_call(client: httpx.AsyncClient) -> Call:
    """The httpx-level savings: headers merged at build time, the streamed Response kept."""

    async def call() -> Any:
        async with asyncio.timeout(10.0):
            request = client.build_request(
                "GET", "/pupils", params={"nhs_number": "1"}, headers=correlation_headers()
            )
            reply = await client.send(request, stream=True)
            try:
                body = bytearray()
                async for chunk in reply.aiter_raw():
                    body += chunk
                    if len(body) > MAX_REPLY_BYTES:
                        raise RuntimeError("too large")
            finally:
                await reply.aclose()
        return json.loads(bytes(body).decode("utf-8"))

    return call


def _httpcore_call(pool: httpcore.AsyncConnectionPool, url: str) -> Call:
    """httpcore directly: what httpx adds on top is the difference."""

    async def call() -> Any:
        headers = [(b"Host", b"127.0.0.1"), (b"Accept-Encoding", b"identity")]
        headers += [(k.encode(), v.encode()) for k, v in correlation_headers().items()]
        async with asyncio.timeout(10.0):
            async with pool.stream("GET", url + "/pupils?nhs_number=1", headers=headers) as reply:
                body = bytearray()
                async for chunk in reply.aiter_stream():
                    body += chunk
                    if len(body) > MAX_REPLY_BYTES:
                        raise RuntimeError("too large")
        return json.loads(bytes(body).decode("utf-8"))

    return call


def _aiohttp_call(session: aiohttp.ClientSession, url: str) -> Call:
    """aiohttp without the SDK's reply checks and error mapping around it."""

    async def call() -> Any:
        headers = {"Accept-Encoding": "identity", **correlation_headers()}
        async with asyncio.timeout(10.0):
            async with session.get(
                url + "/pupils", params={"nhs_number": "1"}, headers=headers, auto_decompress=False
            ) as reply:
                body = bytearray()
                async for chunk in reply.content.iter_any():
                    body += chunk
                    if len(body) > MAX_REPLY_BYTES:
                        raise RuntimeError("too large")
        return json.loads(bytes(body).decode("utf-8"))

    return call


class _UpstreamAdapter(Adapter):
    """The smallest adapter whose read is one ``HttpUpstream.json`` call."""

    SECTION = SectionSpec("bench", "Bench", ("X",), (FieldSpec("v", "string", "value"),))

    def __init__(self, upstream: HttpUpstream) -> None:
        self.upstream = upstream

    def discover(self) -> SectionSpec:
        return self.SECTION

    async def check(self) -> Health:
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return None

    async def read(self, local_ids: tuple[str, ...], fields: frozenset[str]) -> Any:
        return await self.upstream.json("GET", "/pupils", params={"nhs_number": "1"})


def _agency_call(upstream: HttpUpstream) -> Call:
    """One read as the gateway makes it: ``FanOut.timed`` around ``ResilientAdapter``."""
    adapters = make_resilient(
        {"bench": _UpstreamAdapter(upstream)}, ResilienceSettings(), lambda _: 10.0
    )
    fanout = FanOut(adapters)
    reader = adapters["bench"]

    async def call() -> Any:
        with request_deadline(10.0):
            result = await fanout.timed("bench", "read", reader.read(("1",), frozenset({"v"})))
        fanout.calls.clear()  # one request's record, not the whole benchmark's
        return result

    return call


async def _cpu_per_call(call: Call, calls: int) -> float:
    for _ in range(20):
        await call()
    start = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - start) * 1000 / calls


async def _measure(url: str, calls: int, rounds: int) -> dict[str, Any]:
    bind_request_id("bench-request-id")
    hooked, plain = _httpx_client(url, hook=True), _httpx_client(url, hook=False)
    pool = httpcore.AsyncConnectionPool(max_connections=50)
    session = aiohttp.ClientSession(auto_decompress=False)
    upstream = HttpUpstream("bench", url, 10.0)
    variants: dict[str, Call] = {
        "baseline_httpx": _httpx_baseline_call(hooked),
        "httpx_tuned": _httpx_tuned_call(plain),
        "httpcore": _httpcore_call(pool, url),
        "aiohttp_bare": _aiohttp_call(session, url),
        "http_upstream": lambda: upstream.json("GET", "/pupils", params={"nhs_number": "1"}),
        "agency_call": _agency_call(upstream),
    }
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, call in variants.items():
            samples[name].append(await _cpu_per_call(call, calls))
    for client in (hooked, plain):
        await client.aclose()
    await pool.aclose()
    await session.close()
    await upstream.aclose()
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "cpu_ms_per_call": {name: round(value, 4) for name, value in medians.items()},
        "ratio_vs_baseline": {
            name: round(value / medians["baseline_httpx"], 3) for name, value in medians.items()
        },
        "calls": calls,
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", help="write the figures as JSON to this file")
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        figures = asyncio.run(_measure(f"http://127.0.0.1:{port}", args.calls, args.rounds))
    finally:
        server.terminate()
        server.wait()
    text = json.dumps(figures, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
