"""The decision contract: the policy's output is read strictly and fails closed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.policy import (
    Decision,
    DecisionInput,
    FieldDecision,
    LabelDecision,
    LabelInput,
    RequestedField,
)
from gateway.policy.embedded import EmbeddedEngine
from gateway.policy.engine import decide_fail_closed
from resolvers.masks import WITHHELD, apply_mask

POLICIES = Path(__file__).resolve().parent.parent / "policies"


@pytest.mark.parametrize(
    "raw",
    [None, "permit", {"effect": "permit"}, {"effect": "mask"}, {"effect": "mask", "mask": 3}],
)
def test_malformed_field_decisions_read_as_deny(raw: object) -> None:
    entry = (
        {"coordinate": "T.f", **raw}
        if isinstance(raw, dict)
        else {"coordinate": "T.f", "effect": raw}
    )
    decision = Decision.from_policy_result({"fields": [entry]})

    assert decision.for_field("T.f").effect == "deny"


def test_field_missing_from_decision_is_denied() -> None:
    decision = Decision.from_policy_result({"fields": [{"coordinate": "T.a", "effect": "allow"}]})

    assert decision.for_field("T.a") == FieldDecision("allow")
    assert decision.for_field("T.b").effect == "deny"


def test_non_object_policy_result_is_an_error() -> None:
    with pytest.raises(ValueError, match="not an object"):
        Decision.from_policy_result(["allow"])


class ExplodingEngine:
    name = "exploding"

    async def decide(self, request: DecisionInput) -> Decision:
        raise RuntimeError("engine crashed")

    async def decide_labels(self, request: LabelInput) -> LabelDecision:
        raise RuntimeError("engine crashed")

    async def aclose(self) -> None:
        return None


class HangingEngine(ExplodingEngine):
    name = "hanging"

    async def decide(self, request: DecisionInput) -> Decision:
        await asyncio.sleep(60)
        raise AssertionError("unreachable")


@pytest.mark.parametrize("engine", [ExplodingEngine(), HangingEngine()])
async def test_engine_failure_or_timeout_denies_every_field(engine: ExplodingEngine) -> None:
    request = DecisionInput(
        {"roles": ["social_worker"]},
        "safeguarding_children",
        (RequestedField("CouncilSection.name", "council"),),
    )

    decision = await decide_fail_closed(engine, request, timeout_s=0.05)

    assert decision.for_field("CouncilSection.name").effect == "deny"


async def test_embedded_engine_decides_per_field_with_revision() -> None:
    engine = EmbeddedEngine(POLICIES)
    request = DecisionInput(
        {"user": "u", "roles": ["keyworker"]},
        "early_help",
        (
            RequestedField("CouncilSection.team", "council"),
            RequestedField("CouncilSection.dateOfBirth", "council"),
            RequestedField("CouncilSection.address", "council"),
        ),
    )

    decision = await engine.decide(request)

    assert decision.for_field("CouncilSection.team").effect == "allow"
    assert decision.for_field("CouncilSection.dateOfBirth") == FieldDecision(
        "mask", "year", rule="masking.catalogue"
    )
    denied = decision.for_field("CouncilSection.address")
    assert denied.effect == "deny" and denied.reason and "early_help" in denied.reason
    assert decision.revision == engine.revision != "unversioned"


@pytest.mark.parametrize(
    ("mask", "value", "masked"),
    [
        ("year", "1984-03-02", "1984"),
        ("year", "not a date", WITHHELD),
        ("postcode_district", "TN23 7AB", "TN23"),
        ("postcode_district", "sw1a1aa", "SW1A"),
        ("postcode_district", "nowhere", WITHHELD),
        ("withheld", "anything", WITHHELD),
        ("no_such_mask", "anything", WITHHELD),
        ("year", None, None),
    ],
)
def test_masks(mask: str, value: str | None, masked: str | None) -> None:
    assert apply_mask(mask, value) == masked
