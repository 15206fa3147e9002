"""The one interface every policy engine implements, and the fail-closed call sites.

Engines (embedded Rego, OPA server) only evaluate. Whatever goes wrong while
deciding - an engine error, a timeout, an undefined or malformed result - is
turned into a denial of everything asked about here, in one place.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from gateway.observability.steps import policy_decision_step
from gateway.policy.decision import Decision, DecisionInput, LabelDecision, LabelInput

log = logging.getLogger(__name__)

ENGINE_FAILED = "access could not be decided (policy engine unavailable), so it is denied"


class PolicyEngine(Protocol):
    name: str

    async def decide(self, request: DecisionInput) -> Decision:
        """Evaluate the request decision; raise on any failure."""
        ...

    async def decide_labels(self, request: LabelInput) -> LabelDecision:
        """Evaluate the batched label decision; raise on any failure."""
        ...

    async def aclose(self) -> None: ...


async def decide_fail_closed(
    engine: PolicyEngine, request: DecisionInput, timeout_s: float
) -> Decision:
    with policy_decision_step(engine.name) as step:
        try:
            async with asyncio.timeout(timeout_s):
                decision = await engine.decide(request)
        except Exception as exc:
            log.error("policy engine %s failed (%s); denying", engine.name, type(exc).__name__)
            step.outcome = "failed_closed"
            decision = Decision.deny_all(request, ENGINE_FAILED)
        step.effects = tuple(decision.for_field(f.coordinate).effect for f in request.fields)
        return decision


async def decide_labels_fail_closed(
    engine: PolicyEngine, request: LabelInput, timeout_s: float
) -> LabelDecision:
    if not request.records:
        return LabelDecision({})
    try:
        async with asyncio.timeout(timeout_s):
            return await engine.decide_labels(request)
    except Exception as exc:
        log.error(
            "policy engine %s failed on labels (%s); denying", engine.name, type(exc).__name__
        )
        return LabelDecision.deny_all(request, ENGINE_FAILED)
