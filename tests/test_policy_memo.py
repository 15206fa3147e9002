"""The embedded engine's remembered decision parts: reload, keys, bounds, fail closed.

That remembered decisions equal whole evaluations by both engines is checked
over the differential corpus (tests/test_policy_differential.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.policy import DecisionInput, PersonContext, RequestedField, decide_fail_closed
from gateway.policy import memo as memo_module
from gateway.policy.decision import FieldDecision
from gateway.policy.embedded import EmbeddedEngine
from gateway.policy.memo import POLICY_CALLER_CLAIMS, DecisionMemo
from tests.conftest import POLICIES

CALLER = {"user": "u", "org": "o", "roles": ["keyworker"], "team": "t"}
TEAM = RequestedField("CouncilSection.team", "council")
SOMEONE = PersonContext("COUNCIL_ID:A", {"council": 0.95}, True, {"early_help": "given"})


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


async def test_a_data_edit_reaches_fields_remembered_from_another_selection(
    policies: Path,
) -> None:
    engine = EmbeddedEngine(policies)
    other = RequestedField("CouncilSection.address", "council")
    warm = await engine.decide(DecisionInput(CALLER, "early_help", (other,)))

    edit(policies / "agencies" / "council" / "data.json", '"CouncilSection.team": "allow",', "")
    after = await engine.decide(DecisionInput(CALLER, "early_help", (TEAM,)))

    assert engine._compiled.catalogue and TEAM.coordinate in {
        c for c, _ in engine._compiled.catalogue
    }
    assert after.for_field(TEAM.coordinate).effect == "deny"
    assert after.revision != warm.revision


async def test_a_rule_edit_reaches_remembered_person_gates(policies: Path) -> None:
    engine = EmbeddedEngine(policies)
    request = DecisionInput(CALLER, "early_help", (TEAM,), (SOMEONE,))
    assert (await engine.decide(request)).for_person(SOMEONE.key, "council").effect == "allow"
    assert (await engine.decide(request)).for_person(SOMEONE.key, "council").effect == "allow"

    edit(
        policies / "joinedup" / "identity.rego",
        "confidence >= threshold",
        "confidence >= threshold + 0.09",
    )
    gate = (await engine.decide(request)).for_person(SOMEONE.key, "council")

    assert (gate.effect, gate.rule) == ("deny", "identity.threshold")


async def test_people_with_the_same_context_share_gates_and_keep_their_own_keys() -> None:
    """Confidences of the same class (here: both enough for the council) share a gate."""
    engine = EmbeddedEngine(POLICIES, hot_reload=False)
    twin = PersonContext("NHS_NUMBER:9", {"council": 1.0}, True, SOMEONE.consent)
    stranger = PersonContext("NHS_NUMBER:8", SOMEONE.match_confidence, False, SOMEONE.consent)
    unsure = PersonContext("NHS_NUMBER:7", {"council": 0.5}, True, SOMEONE.consent)

    decision = await engine.decide(
        DecisionInput(CALLER, "early_help", (TEAM,), (SOMEONE, twin, stranger, unsure))
    )

    assert set(decision.persons) == {SOMEONE.key, twin.key, stranger.key, unsure.key}
    assert decision.for_person(twin.key, "council").effect == "allow"
    assert decision.for_person(stranger.key, "council").rule == "relationship.required"
    assert decision.for_person(unsure.key, "council").rule == "identity.threshold"
    memo = engine._compiled.memo
    assert len(memo.gates) == 3
    assert sorted(memo.classes.values()) == ["identity.threshold", "sufficient", "sufficient"]


def test_the_policies_read_no_caller_claim_the_memo_does_not_key_by() -> None:
    """The memo evaluates and keys field decisions and gates by the caller's
    POLICY_CALLER_CLAIMS only; a rule reading another claim must extend them."""
    allowed = "|".join(POLICY_CALLER_CLAIMS)
    for path in (POLICIES / "joinedup").glob("*.rego"):
        if path.name.endswith("_test.rego"):
            continue
        text = path.read_text()
        assert not re.search(r"\binput\s*\[", text), path
        assert not re.search(rf"\binput\.caller\b(?!\.({allowed})\b)", text), path
        reads = set(re.findall(r"\binput\.(\w+)", text))
        assert reads <= {
            "caller",
            "purpose",
            "fields",
            "persons",
            "break_glass",
            "consent_override",
            "records",
            "matches",
        }, (path, reads)


def test_the_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "MAX_CONTEXTS", 2)
    monkeypatch.setattr(memo_module, "MAX_FIELDS_PER_CONTEXT", 3)
    monkeypatch.setattr(memo_module, "MAX_PERSON_GATES", 2)
    memo = DecisionMemo()
    allow = FieldDecision("allow")
    for context in ("a", "b", "c"):
        memo.remember_fields(context, {(f"T.f{n}", "x"): allow for n in range(5)})
        memo.remember_gate(context, "p", allow)

    assert list(memo.fields) == ["b", "c"]
    assert all(len(known) == 3 for known in memo.fields.values())
    assert list(memo.gates) == [("b", "p"), ("c", "p")]


async def test_a_result_missing_a_field_is_denied_not_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = EmbeddedEngine(POLICIES, hot_reload=False)
    evaluate = engine._evaluate

    def drop_last_field(compiled: Any, entrypoint: str, document: dict[str, Any]) -> Any:
        result = evaluate(compiled, entrypoint, document)
        if "fields" in result:
            result["fields"] = result["fields"][:-1]
        return result

    monkeypatch.setattr(engine, "_evaluate", drop_last_field)
    decision = await decide_fail_closed(engine, DecisionInput(CALLER, "early_help", (TEAM,)), 5)

    assert decision.for_field(TEAM.coordinate).rule == "engine.fail_closed"
    assert not engine._compiled.memo.fields
