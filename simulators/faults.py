"""Fault injection shared by the HTTP simulators: latency, errors, garbage replies.

Tests and demos change faults at run time through ``PUT /_sim/faults`` so that
one running simulator can be made slow or broken without a restart.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    malformed: bool = False

    async def apply(self, rng: random.Random) -> Response | None:
        """Sleep the injected latency; return a failure response if one is due."""
        delay = self.latency_ms + rng.uniform(-self.jitter_ms, self.jitter_ms)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        if self.error_rate and rng.random() < self.error_rate:
            return JSONResponse({"error": "injected failure"}, status_code=503)
        if self.malformed:
            return Response("<html>not json", media_type="application/json")
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
        for key, value in body.items():
            setattr(faults, key, type(getattr(faults, key))(value))
    return JSONResponse(asdict(faults))
