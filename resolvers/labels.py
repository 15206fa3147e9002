"""Record sensitivity labels: what the batched label decision is asked, and how it applies.

After every read of a request has settled, the records adapters returned with
``@labels`` (a section or a list item) are collected and put to the policy in
one call. A denied record is replaced by a withheld marker (its fields are
then denied one by one, with the reason); a person-scoped label withholds
fields of that person in every agency's section. ``@labels`` itself never
reaches a caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapters.sdk import LABELS_KEY
from gateway.policy import LabelDecision, LabelledRecord
from resolvers.fanout import PersonFetch
from resolvers.sections import WITHHELD_KEY


def _record_id(person: PersonFetch, agency: str, *item: str | int) -> str:
    return "/".join([person.key, agency, *(str(i) for i in item)])


def labelled_records(persons: Iterable[PersonFetch]) -> tuple[LabelledRecord, ...]:
    """Every labelled record among the settled reads (ids name a place, not a value)."""
    found: list[LabelledRecord] = []
    for person in persons:
        for agency, read in person.reads.items():
            if not _settled_record(read):
                continue
            record: Mapping[str, Any] = read.result()  # type: ignore[attr-defined]
            key = person.key
            if record.get(LABELS_KEY):
                found.append(
                    LabelledRecord(
                        _record_id(person, agency), key, agency, tuple(record[LABELS_KEY])
                    )
                )
            for name, value in record.items():
                if not isinstance(value, list):
                    continue
                for index, item in enumerate(value):
                    if isinstance(item, Mapping) and item.get(LABELS_KEY):
                        found.append(
                            LabelledRecord(
                                _record_id(person, agency, name, index),
                                key,
                                agency,
                                tuple(item[LABELS_KEY]),
                            )
                        )
    return tuple(found)


def _settled_record(read: Any) -> bool:
    return bool(
        read.done()
        and not read.cancelled()
        and read.exception() is None
        and isinstance(read.result(), Mapping)
    )


def apply_record_labels(
    labels: LabelDecision, person: PersonFetch, agency: str, record: Mapping[str, Any]
) -> Mapping[str, Any] | str:
    """The record as the caller may see it, or the reason the whole record is withheld."""
    if record.get(LABELS_KEY):  # an empty label list labels nothing
        decision = labels.for_record(_record_id(person, agency))
        if decision.effect == "deny":
            return decision.reason or "withheld by a sensitivity label"
    cleaned: dict[str, Any] = {}
    for name, value in record.items():
        if name == LABELS_KEY:
            continue
        if isinstance(value, list):
            value = [
                _apply_item(labels, person, agency, name, index, item)
                for index, item in enumerate(value)
            ]
        cleaned[name] = value
    return cleaned


def _apply_item(
    labels: LabelDecision, person: PersonFetch, agency: str, name: str, index: int, item: Any
) -> Any:
    if not isinstance(item, Mapping) or LABELS_KEY not in item:
        return item  # nothing to strip: kept as it is, not copied
    if item[LABELS_KEY]:  # an empty label list labels nothing
        decision = labels.for_record(_record_id(person, agency, name, index))
        if decision.effect == "deny":
            return {WITHHELD_KEY: decision.reason or "withheld by a sensitivity label"}
    return {k: v for k, v in item.items() if k != LABELS_KEY}
