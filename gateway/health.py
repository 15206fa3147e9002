"""Liveness and readiness.

``/healthz``: the process is up. ``/readyz``: this replica can answer safely
now, i.e. the policy engine decides, the audit store takes writes, and every
agency named in ``readiness.require_agencies`` answers its health check. Other
agencies' status is reported but does not make the replica unready: one agency
being down gives partial answers, and taking every replica out of the load
balancer for it would give none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.policy import DecisionInput
from gateway.runtime import Gateway

CHECK_TIMEOUT_S = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _check(probe: Awaitable[Any]) -> dict[str, Any]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except TimeoutError:
        return {"ok": False, "detail": f"no answer within {CHECK_TIMEOUT_S:g}s"}
    except Exception as exc:
        return {"ok": False, "detail": str(exc) or type(exc).__name__}
    return {"ok": True}


async def _agency(gateway: Gateway, name: str) -> dict[str, Any]:
    try:
        health = await asyncio.wait_for(gateway.adapters[name].check(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return {"ok": False, "detail": f"no answer within {CHECK_TIMEOUT_S:g}s"}
    return {"ok": health.ok, "detail": health.detail} if not health.ok else {"ok": True}


async def readiness(gateway: Gateway) -> tuple[bool, dict[str, Any]]:
    """Run every check concurrently; return (ready, report)."""
    # An empty decision exercises the engine end to end (or reaches the OPA server).
    probe = DecisionInput({}, next(iter(gateway.purposes)), ())
    names = list(gateway.adapters)
    policy, audit, *agencies = await asyncio.gather(
        _check(gateway.policy.decide(probe)),
        _check(asyncio.to_thread(gateway.audit.check)),
        *(_agency(gateway, name) for name in names),
    )
    required = set(gateway.config.ready_requires_agencies)
    reasons = (
        [f"policy engine ({gateway.policy.name}): {policy['detail']}"] if not policy["ok"] else []
    )
    if not audit["ok"]:
        reasons.append(f"audit store: {audit['detail']}")
    report_agencies: dict[str, Any] = {}
    for name, status in zip(names, agencies, strict=True):
        report_agencies[name] = {**status, "required": name in required}
        if name in required and not status["ok"]:
            reasons.append(f"agency {name}: {status['detail']}")
    degraded = not all(status["ok"] for status in agencies)
    report = {
        "status": "not ready" if reasons else "degraded" if degraded else "ready",
        "reasons": reasons,
        "policy": policy,
        "audit": audit,
        "agencies": report_agencies,
    }
    return not reasons, report


async def readyz(request: Request) -> Response:
    ready, report = await readiness(request.app.state.gateway)
    return JSONResponse(report, status_code=200 if ready else 503)
