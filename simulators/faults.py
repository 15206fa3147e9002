"""Fault injection shared by the HTTP simulators: latency, errors, garbage replies.

Tests and demos change faults at run time through ``PUT /_sim/faults`` so that
one running simulator can be made slow or broken without a restart.

``hostile`` makes every data reply one of the replies a gateway must survive
(:data:`HOSTILE_REPLIES`): too large, not UTF-8, nested past any parser's
recursion limit, labelled with the wrong content type, or trickled a byte at a
time so that no single read times out but the whole reply never arrives in time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

OVERSIZED_BYTES = 32_000_000
TRICKLE_INTERVAL_S = 0.05
DEEP_NESTING = 200_000


def _oversized() -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"claimants": [{"name": "'
        for _ in range(OVERSIZED_BYTES // 65_536):
            yield b"x" * 65_536
        yield b'"}]}'

    # No Content-Length: the client must count what it reads, not trust a header.
    return StreamingResponse(chunks(), media_type="application/json")


def _trickle() -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for byte in b'{"claimants": []}':
            await asyncio.sleep(TRICKLE_INTERVAL_S)
            yield bytes([byte])

    return StreamingResponse(chunks(), media_type="application/json")


HOSTILE_REPLIES = {
    "oversized": _oversized,
    "invalid_encoding": lambda: Response(
        b'{"claimants": [{"name": "\xff\xfe\xc3\x28"}]}', media_type="application/json"
    ),
    "deep_nesting": lambda: Response(
        b"[" * DEEP_NESTING + b"]" * DEEP_NESTING, media_type="application/json"
    ),
    "wrong_content_type": lambda: Response(
        b'{"claimants": []}', media_type="text/html; charset=utf-8"
    ),
    "trickle": _trickle,
}


@dataclass
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    malformed: bool = False
    hostile: str = ""

    async def apply(self, rng: random.Random) -> Response | None:
        """Sleep the injected latency; return a failure response if one is due."""
        delay = self.latency_ms + rng.uniform(-self.jitter_ms, self.jitter_ms)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        if self.error_rate and rng.random() < self.error_rate:
            return JSONResponse({"error": "injected failure"}, status_code=503)
        if self.malformed:
            return Response("<html>not json", media_type="application/json")
        if self.hostile:
            return HOSTILE_REPLIES[self.hostile]()
        return None


async def faults_endpoint(request: Request) -> Response:
    """GET shows the current faults; PUT replaces them."""
    faults: Faults = request.app.state.faults
    if request.method == "PUT":
        body = await request.json()
        known = set(asdict(Faults()))
        unknown = set(body) - known
        if unknown:
            return JSONResponse({"error": f"unknown fault(s): {sorted(unknown)}"}, 400)
        if body.get("hostile", "") not in {"", *HOSTILE_REPLIES}:
            return JSONResponse({"error": f"hostile must be one of {sorted(HOSTILE_REPLIES)}"}, 400)
        for key, value in body.items():
            setattr(faults, key, type(getattr(faults, key))(value))
    return JSONResponse(asdict(faults))
