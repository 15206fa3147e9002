"""Both engines give identical decisions on a generated corpus covering the whole policy.

The corpus crosses every role (alone, combined, unknown), every purpose (and an
unknown one), person contexts (relationship, each consent state, low and
unknown-agency confidence), break-glass and consent overrides, every catalogued
field plus Person fields, an uncatalogued one and the demographic-search coordinates
(with the search limits), and every sensitivity label: alone and in pairs (both
orders), on several agencies' records of one person and of two.
The test also checks the corpus reaches every rule the policy can name.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.policy import (
    Decision,
    DecisionInput,
    LabelDecision,
    LabelInput,
    LabelledRecord,
    PersonContext,
    RequestedField,
)
from gateway.policy.bundle import data_document
from gateway.policy.embedded import DECISION, LABELS, EmbeddedEngine
from gateway.policy.opa_server import OpaServerEngine, OpaServerProcess
from tests.conftest import POLICIES

DATA = data_document(POLICIES)
ROLES = sorted(DATA["access"]["roles"])
PURPOSES = sorted(DATA["access"]["purposes"])
LABELS_KNOWN = sorted(DATA["access"]["labels"])
COORDINATES = sorted(
    (coordinate, agency)
    for agency, document in DATA["agencies"].items()
    for coordinate in document["fields"]
)
EXPECTED_RULES = {
    "purposes.unknown",
    "catalogue.unknown_field",
    "grants.by_name",
    "grants.by_type",
    "grants.sensitive",
    "grants.none",
    "grants.agreement",
    "grants.any_agreement",
    "grants.no_agreement",
    "masking.catalogue",
    "identity.threshold",
    "identity.unknown_agency",
    "relationship.required",
    "consent.required",
    "consent.override_required",
    "labels.record",
    "labels.unknown",
    "search.permitted",
    "search.not_permitted",
    "search.detail",
    "search.detail_masked",
    "search.detail_withheld",
}
SEARCH_COORDINATES = (
    "Query.findPerson",
    "PersonSearch.candidates",
    "PersonSearch.unavailable",
    "PersonCandidate.reference",
    "PersonCandidate.probability",
    "PersonCandidate.name",
    "PersonCandidate.yearOfBirth",
    "PersonCandidate.postcodeDistrict",
)


def corpus() -> list[dict[str, Any]]:
    rng = random.Random(4)
    role_sets = [[r] for r in ROLES] + [["keyworker", "social_worker"], ["nobody"], []]
    purposes = [*PURPOSES, "curiosity"]
    fields = [{"coordinate": c, "agency": a} for c, a in COORDINATES] + [
        {"coordinate": f"Person.{a}", "agency": a} for a in DATA["agencies"]
    ]
    fields += [
        {"coordinate": "Person.reference", "agency": None},
        {"coordinate": "CouncilSection.secret", "agency": "council"},
    ]
    fields += [{"coordinate": c, "agency": None} for c in SEARCH_COORDINATES]
    consent_states = ["given", "refused", "withdrawn", None]
    inputs = []
    for index, (roles, purpose) in enumerate(itertools.product(role_sets, purposes)):
        for variant in range(6):
            consent = rng.choice(consent_states)
            person: dict[str, Any] = {
                "key": f"NI_NUMBER:QQ{index:04d}{variant}",
                "match_confidence": {
                    "council": rng.choice([1.0, 0.95, 0.5]),
                    "benefits": 1.0,
                    **({"zoo": 1.0} if variant == 5 else {}),
                },
                "relationship": variant % 2 == 0,
                "consent": {purpose: consent} if consent else {},
            }
            if variant == 1:  # consent recorded for other purposes must not matter
                person["consent"] |= {p: "refused" for p in PURPOSES if p != purpose}
            persons = [person]
            if variant == 2:  # a second person: gates per person, not per request
                persons.append(person | {"key": f"NHS_NUMBER:{index}", "relationship": False})
            document: dict[str, Any] = {
                "caller": {"user": "u", "org": "o", "roles": roles, "team": "t"},
                "purpose": purpose,
                "fields": rng.sample(fields, rng.randint(1, len(fields))),
                "persons": persons,
                "records": [
                    {
                        "id": f"r{n}",
                        "person": person["key"],
                        "agency": "council",
                        "labels": [label],
                    }
                    for n, label in enumerate([*LABELS_KNOWN, "alien"])
                    if rng.random() < 0.5 or variant == 0
                ],
            }
            if variant in (2, 5):  # label pairs, one person's labels on several agencies
                document["records"] += label_pairs(index, [p["key"] for p in persons])
            if variant == 3:
                document["break_glass"] = {"reason": "emergency"}
            if variant == 4:
                document["consent_override"] = {"reason": "s47"}
            inputs.append(document)
    return inputs


def label_pairs(index: int, persons: list[str]) -> list[dict[str, Any]]:
    known = [*LABELS_KNOWN, "alien"]
    first, second = known[index % len(known)], known[(index * 3 + 1) % len(known)]
    return [
        {"id": "p0", "person": persons[-1], "agency": "health", "labels": [first, second]},
        {"id": "p1", "person": persons[0], "agency": "health", "labels": [second, first]},
        {"id": "p2", "person": persons[0], "agency": "police", "labels": ["refuge_address"]},
        {"id": "p3", "person": persons[-1], "agency": "housing", "labels": [first, first]},
    ]


@pytest.fixture(scope="module")
async def engines(
    opa_server: OpaServerProcess,
) -> AsyncIterator[tuple[EmbeddedEngine, OpaServerEngine]]:
    opa = OpaServerEngine(opa_server.url, POLICIES)
    yield EmbeddedEngine(POLICIES, hot_reload=False), opa
    await opa.aclose()


async def test_both_engines_decide_identically_on_the_corpus(
    engines: tuple[EmbeddedEngine, OpaServerEngine],
) -> None:
    """Whole evaluations by both engines agree; so do the decisions (field and label)
    the embedded engine assembles from remembered parts (gateway/policy/memo.py),
    whether the parts are evaluated for this request (cold) or remembered (warm)."""
    embedded, opa = engines
    remembering = EmbeddedEngine(POLICIES, hot_reload=False)
    inputs = corpus()
    assert len(inputs) >= 200
    rules: set[str] = set()
    expected = []
    expected_labels = []
    for document in inputs:
        for entrypoint in (DECISION, LABELS):
            ours = embedded.evaluate(entrypoint, document)
            theirs, _ = await opa.evaluate(entrypoint, document)
            assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True), (
                entrypoint,
                document,
            )
            rules |= _rules(ours)
        whole = embedded.evaluate(DECISION, document)
        assert len(whole["fields"]) == len(document["fields"])
        expected.append(Decision.from_policy_result(whole))
        assert await remembering.decide(decision_input(document)) == expected[-1], document
        labels = LabelDecision.from_policy_result(embedded.evaluate(LABELS, document))
        expected_labels.append(labels)
        assert await remembering.decide_labels(label_input(document)) == labels, document
    assert EXPECTED_RULES <= rules, EXPECTED_RULES - rules
    for document, decision, labels in zip(inputs, expected, expected_labels, strict=True):
        assert await remembering.decide(decision_input(document)) == decision, document
        assert await remembering.decide_labels(label_input(document)) == labels, document
    memo = remembering._compiled.memo
    assert memo.fields and memo.gates and memo.request_wide and memo.labels
    assert any(labels.persons for labels in expected_labels)


def decision_input(document: dict[str, Any]) -> DecisionInput:
    return DecisionInput(
        document["caller"],
        document["purpose"],
        tuple(RequestedField(f["coordinate"], f["agency"]) for f in document["fields"]),
        tuple(
            PersonContext(p["key"], p["match_confidence"], p["relationship"], p["consent"])
            for p in document["persons"]
        ),
        document.get("break_glass", {}).get("reason"),
        document.get("consent_override", {}).get("reason"),
    )


def label_input(document: dict[str, Any]) -> LabelInput:
    return LabelInput(
        document["caller"],
        document["purpose"],
        tuple(
            LabelledRecord(r["id"], r["person"], r["agency"], tuple(r["labels"]))
            for r in document["records"]
        ),
    )


def _rules(result: dict[str, Any]) -> set[str]:
    found = {f["rule"] for f in result.get("fields", [])}
    found |= {r["rule"] for r in result.get("records", []) if "rule" in r}
    for person in result.get("persons", []):
        if isinstance(person, dict) and "agencies" in person:
            found |= {g["rule"] for g in person["agencies"].values() if "rule" in g}
    return found
