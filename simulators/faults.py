"""Fault injection shared by the simulators: latency, errors, outages, bad and hostile replies.

Tests and demos change faults at run time through ``PUT /_sim/faults`` so that
one running simulator can be made slow or broken without a restart. What a
malformed or hostile reply looks like depends on the protocol, so each
simulator gives its own :class:`FaultReplies` (e.g. an XML bomb for SOAP, an
OperationOutcome for FHIR, a GraphQL ``errors`` document for GraphQL).

``hostile_transport`` makes every data reply one the gateway's HTTP machinery
must survive whatever the protocol (:data:`TRANSPORT_ATTACKS`): too large, not
UTF-8, nested past any parser's recursion limit, or trickled a byte at a time so
that no single read times out but the whole reply never arrives in time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, fields

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


TRANSPORT_ATTACKS: dict[str, Callable[[], Response]] = {
    "oversized": _oversized,
    "invalid_encoding": lambda: Response(
        b'{"claimants": [{"name": "\xff\xfe\xc3\x28"}]}', media_type="application/json"
    ),
    "deep_nesting": lambda: Response(
        b"[" * DEEP_NESTING + b"]" * DEEP_NESTING, media_type="application/json"
    ),
    "trickle": _trickle,
}


@dataclass(frozen=True)
class FaultReplies:
    """The protocol-specific bodies a simulator answers with when a fault is due."""

    media_type: str = "application/json"
    malformed: str = "<html>not json"
    hostile: str = '{"unexpected": ["shape"]}'
    hostile_status: int = 200
    error_body: str = '{"error": "injected failure"}'
    error_media_type: str = "application/json"


@dataclass
class Faults:
    """Faults currently injected; every field can be changed at run time.

    ``outage`` answers 503 to everything; ``error_rate`` does so at random;
    ``malformed`` sends a syntactically broken body; ``wrong_content_type``
    a valid-looking body labelled text/html; ``hostile`` the protocol's attack
    or error document (see :class:`FaultReplies`).
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    outage: bool = False
    malformed: bool = False
    wrong_content_type: bool = False
    hostile: bool = False
    hostile_transport: str = ""
    replies: FaultReplies = field(default_factory=FaultReplies, repr=False, compare=False)

    def settings(self) -> dict[str, float | bool | str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "replies"}

    def health_failure(self) -> Response | None:
        """What ``/health`` answers: 503 during an outage, as every other route does.

        The other faults leave ``/health`` alone, so a slow or broken simulator
        still starts and tests can still tell it is running.
        """
        if self.outage:
            return Response(self.replies.error_body, 503, media_type=self.replies.error_media_type)
        return None

    async def apply(self, rng: random.Random) -> Response | None:
        """Sleep the injected latency; return a failure response if one is due."""
        delay = self.latency_ms + rng.uniform(-self.jitter_ms, self.jitter_ms)
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        replies = self.replies
        if self.outage or (self.error_rate and rng.random() < self.error_rate):
            return Response(replies.error_body, 503, media_type=replies.error_media_type)
        if self.malformed:
            return Response(replies.malformed, media_type=replies.media_type)
        if self.wrong_content_type:
            return Response("<html><body>Service page</body></html>", media_type="text/html")
        if self.hostile:
            return Response(replies.hostile, replies.hostile_status, media_type=replies.media_type)
        if self.hostile_transport:
            return TRANSPORT_ATTACKS[self.hostile_transport]()
        return None


async def faults_endpoint(request: Request) -> Response:
    """GET shows the current faults; PUT changes the ones named."""
    faults: Faults = request.app.state.faults
    if request.method == "PUT":
        body = await request.json()
        known = faults.settings()
        unknown = set(body) - set(known)
        if unknown:
            return JSONResponse({"error": f"unknown fault(s): {sorted(unknown)}"}, 400)
        if body.get("hostile_transport", "") not in {"", *TRANSPORT_ATTACKS}:
            attacks = sorted(TRANSPORT_ATTACKS)
            return JSONResponse({"error": f"hostile_transport must be one of {attacks}"}, 400)
        for key, value in body.items():
            setattr(faults, key, type(known[key])(value))
    return JSONResponse(faults.settings())
