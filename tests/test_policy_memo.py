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

from gateway.policy import (
    DecisionInput,
    FieldDecision,
    LabelDecision,
    LabelInput,
    LabelledRecord,
    PersonContext,
    RequestedField,
    decide_fail_closed,
    decide_labels_fail_closed,
)
from gateway.policy import memo as memo_module
from gateway.policy.embedded import LABELS, EmbeddedEngine
from gateway.policy.memo import POLICY_CALLER_CLAIMS, DecisionMemo, LabelPart
from tests.conftest import POLICIES

CALLER = {"user": "u", "org": "o", "roles": ["keyworker"], "team": "t"}
TEAM = RequestedField("CouncilSection.team", "council")
SOMEONE = PersonContext("COUNCIL_ID:A", {"council": 0.95}, True, {"early_help": "given"})
LABELLED = (
    LabelledRecord("COUNCIL_ID:A/council", "COUNCIL_ID:A", "council", ("refuge_address",)),
    LabelledRecord("COUNCIL_ID:A/council/cases/0", "COUNCIL_ID:A", "council", ("sealed_adoption",)),
    LabelledRecord("NHS_NUMBER:1/health", "NHS_NUMBER:1", "health", ("refuge_address",)),
    LabelledRecord(
        "NHS_NUMBER:1/health/notes/2", "NHS_NUMBER:1", "health", ("safeguarding_flag", "alien")
    ),
)


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
    engine = EmbeddedEngine(policies, reload_interval_s=0)
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
    engine = EmbeddedEngine(policies, reload_interval_s=0)
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


def test_the_label_rules_read_of_a_record_only_what_its_part_is_keyed_by() -> None:
    """A label part is keyed and evaluated by the record's agency and labels
    (memo.label_part_key) with a made-up id and person: the rules may echo the id and
    group by the person, and read nothing else of a record."""
    keyed_by = {"agency", "labels"}
    for path in (POLICIES / "joinedup").glob("*.rego"):
        if path.name.endswith("_test.rego"):
            continue
        text = re.sub(r"(?m)^\s*#.*$", "", path.read_text())
        uses = re.findall(r"(?:\bsome\s+(\w+)\s+in\s+)?\binput\.records\b", text)
        assert all(uses), (path, "input.records is read other than record by record")
        for record in set(uses):
            reads = re.findall(rf"\b{record}\.(\w+)", text)
            assert set(reads) <= keyed_by | {"id", "person"}, (path, reads)
            assert len(re.findall(rf'\{{"id":\s*{record}\.id\}}', text)) == reads.count("id")
            assert len(re.findall(rf"\[{record}\.person,", text)) == reads.count("person")


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


class CountingEngine(EmbeddedEngine):
    """An embedded engine that keeps each input it evaluates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inputs: list[tuple[str, dict[str, Any]]] = []

    def _evaluate(self, compiled: Any, entrypoint: str, document: dict[str, Any]) -> Any:
        self.inputs.append((entrypoint, document))
        return super()._evaluate(compiled, entrypoint, document)


def whole(engine: EmbeddedEngine, request: LabelInput) -> LabelDecision:
    return LabelDecision.from_policy_result(engine.evaluate(LABELS, request.as_json()))


async def test_label_parts_are_evaluated_once_without_ids_or_caller_details() -> None:
    engine = CountingEngine(POLICIES, hot_reload=False)
    request = LabelInput(CALLER, "early_help", LABELLED)

    cold = await engine.decide_labels(request)
    other_people = LabelInput(
        CALLER,
        "early_help",
        tuple(LabelledRecord("x" + r.id, "x" + r.person, r.agency, r.labels) for r in LABELLED),
    )
    warm = await engine.decide_labels(other_people)

    [(entrypoint, document)] = engine.inputs
    assert entrypoint == LABELS
    assert document["caller"] == {"roles": CALLER["roles"]}
    assert "COUNCIL_ID" not in str(document) and "NHS_NUMBER" not in str(document)
    assert len(document["records"]) == len(LABELLED), "one part per agency and label list"
    assert cold == whole(engine, request)
    assert warm == whole(engine, other_people)
    assert set(cold.persons) == {"COUNCIL_ID:A", "NHS_NUMBER:1"}
    assert cold.for_record("NHS_NUMBER:1/health/notes/2").rule == "labels.unknown"


async def test_label_parts_are_remembered_per_roles_and_purpose() -> None:
    engine = CountingEngine(POLICIES, hot_reload=False)
    social_worker = CALLER | {"roles": ["social_worker"]}

    for caller, purpose in [(CALLER, "early_help"), (social_worker, "safeguarding_children")]:
        request = LabelInput(caller, purpose, LABELLED[:1])
        assert await engine.decide_labels(request) == whole(engine, request)

    assert len(engine._compiled.memo.labels) == 2
    request = LabelInput(social_worker, "safeguarding_children", LABELLED[:1])
    assert not (await engine.decide_labels(request)).persons, "visible to this role and purpose"


async def test_a_data_edit_reaches_remembered_label_parts(policies: Path) -> None:
    engine = EmbeddedEngine(policies, reload_interval_s=0)
    request = LabelInput(CALLER, "early_help", LABELLED[1:2])
    assert (await engine.decide_labels(request)).for_record(LABELLED[1].id).effect == "deny"

    edit(
        policies / "data.json",
        '"Sealed adoption record",\n        "scope": "record",\n        "visible_to": {}',
        '"Sealed adoption record", "scope": "record", "visible_to": {"keyworker": ["early_help"]}',
    )

    assert (await engine.decide_labels(request)).for_record(LABELLED[1].id).effect == "allow"


async def test_a_label_result_missing_a_record_is_denied_not_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = EmbeddedEngine(POLICIES, hot_reload=False)
    evaluate = engine._evaluate

    def drop_last_record(compiled: Any, entrypoint: str, document: dict[str, Any]) -> Any:
        result = evaluate(compiled, entrypoint, document)
        result["records"] = result["records"][:-1]
        return result

    monkeypatch.setattr(engine, "_evaluate", drop_last_record)
    decision = await decide_labels_fail_closed(
        engine, LabelInput(CALLER, "early_help", LABELLED), 5
    )

    assert {d.rule for d in decision.records.values()} == {"engine.fail_closed"}
    assert len(decision.records) == len(LABELLED)
    assert not engine._compiled.memo.labels and engine._compiled.memo.label_revision is None


def test_remembered_label_parts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "MAX_LABEL_PARTS", 2)
    memo = DecisionMemo()
    for part in ("a", "b", "c"):
        memo.remember_label_part("context", part, LabelPart(FieldDecision("allow"), None))
    assert memo.label_part_of("context", "b") is not None

    memo.remember_label_part("context", "d", LabelPart(FieldDecision("allow"), None))

    assert list(memo.labels) == [("context", "b"), ("context", "d")]
