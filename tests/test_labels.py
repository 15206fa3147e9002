"""Applying the batched label decision to records and list items, and failing closed."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.sdk import LABELS_KEY, Identifier
from gateway.policy import (
    FieldDecision,
    LabelDecision,
    LabelInput,
    decide_labels_fail_closed,
)
from resolvers.fanout import PersonFetch
from resolvers.labels import apply_record_labels, labelled_records
from resolvers.sections import WITHHELD_KEY
from tests.test_policy_contract import ExplodingEngine


async def person_with(record: dict[str, Any]) -> PersonFetch:
    person = PersonFetch(Identifier("COUNCIL_ID", "C1"))
    read: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    read.set_result(record)
    person.reads["council"] = read
    return person


RECORD = {
    "name": "A Person",
    LABELS_KEY: ["refuge_address"],
    "cases": [
        {"caseId": "SC1", LABELS_KEY: ["sealed_adoption"]},
        {"caseId": "SC2"},
    ],
}


async def test_every_labelled_record_and_item_is_collected_once() -> None:
    person = await person_with(RECORD)

    records = labelled_records([person])

    assert [(r.id, r.labels) for r in records] == [
        ("COUNCIL_ID:C1/council", ("refuge_address",)),
        ("COUNCIL_ID:C1/council/cases/0", ("sealed_adoption",)),
    ]


async def test_denied_items_become_withheld_markers_and_labels_are_stripped() -> None:
    person = await person_with(RECORD)
    decision = LabelDecision(
        {
            "COUNCIL_ID:C1/council": FieldDecision("allow"),
            "COUNCIL_ID:C1/council/cases/0": FieldDecision("deny", reason="sealed"),
        }
    )

    applied = apply_record_labels(decision, person, "council", RECORD)

    assert isinstance(applied, dict)
    assert LABELS_KEY not in applied
    assert applied["cases"] == [{WITHHELD_KEY: "sealed"}, {"caseId": "SC2"}]


async def test_an_undecided_labelled_record_is_withheld_whole() -> None:
    person = await person_with(RECORD)

    applied = apply_record_labels(LabelDecision({}), person, "council", RECORD)

    assert isinstance(applied, str)


async def test_label_engine_failure_denies_every_labelled_record() -> None:
    person = await person_with(RECORD)
    request = LabelInput({"roles": ["social_worker"]}, "early_help", labelled_records([person]))

    decision = await decide_labels_fail_closed(ExplodingEngine(), request, timeout_s=1.0)

    assert {d.effect for d in decision.records.values()} == {"deny"}
    assert len(decision.records) == 2
