"""The decision contract between the gateway and the Rego policies.

Two decisions per request, each one policy evaluation:

- the request decision (``data.joinedup.decision``): per requested field
  allow / mask / deny, per person and agency a gate (identity confidence,
  relationship, consent), and obligations (audit level, alert, review);
- the label decision (``data.joinedup.labels``): for every labelled record
  read, whether it may be shown, and per person the fields a label protects.

Anything the policy does not answer for is denied: a missing entry, a
malformed entry or an unknown effect all read as ``deny``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Effect = Literal["allow", "mask", "deny"]
_EFFECTS: frozenset[str] = frozenset({"allow", "mask", "deny"})

NOT_DECIDED = "no policy decision covers this field"
STANDARD_OBLIGATIONS: Mapping[str, Any] = {
    "audit_level": "standard",
    "alert": False,
    "review": False,
}


@dataclass(frozen=True)
class RequestedField:
    """A schema coordinate (``Type.field``) named by the query, and its agency."""

    coordinate: str
    agency: str | None


@dataclass(frozen=True)
class PersonContext:
    """What the gateway knows about one person before deciding: never agency data.

    ``key`` is ``SCHEME:VALUE`` of the reference the person was asked by;
    ``match_confidence`` holds one entry per agency the person was found in.
    """

    key: str
    match_confidence: Mapping[str, float]
    relationship: bool = False
    consent: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "match_confidence": dict(self.match_confidence),
            "relationship": self.relationship,
            "consent": dict(self.consent),
        }


@dataclass(frozen=True)
class DecisionInput:
    caller: Mapping[str, Any]
    purpose: str
    fields: tuple[RequestedField, ...]
    persons: tuple[PersonContext, ...] = ()
    break_glass_reason: str | None = None
    consent_override_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "caller": dict(self.caller),
            "purpose": self.purpose,
            "fields": [{"coordinate": f.coordinate, "agency": f.agency} for f in self.fields],
            "persons": [p.as_json() for p in self.persons],
        }
        if self.break_glass_reason is not None:
            document["break_glass"] = {"reason": self.break_glass_reason}
        if self.consent_override_reason is not None:
            document["consent_override"] = {"reason": self.consent_override_reason}
        return document


@dataclass(frozen=True)
class FieldDecision:
    effect: Effect
    mask: str | None = None
    reason: str | None = None
    rule: str | None = None


DENY_UNDECIDED = FieldDecision("deny", reason=NOT_DECIDED)


@dataclass(frozen=True)
class Decision:
    fields: Mapping[str, FieldDecision]
    persons: Mapping[str, Mapping[str, FieldDecision]] = field(default_factory=dict)
    obligations: Mapping[str, Any] = field(default_factory=lambda: dict(STANDARD_OBLIGATIONS))
    revision: str = "unknown"
    decision_id: str | None = None
    search: Mapping[str, Any] = field(default_factory=dict)
    """Limits of a demographic search (``joinedup.search``); empty: the caller may not search."""

    def for_field(self, coordinate: str) -> FieldDecision:
        return self.fields.get(coordinate, DENY_UNDECIDED)

    def for_person(self, person_key: str, agency: str) -> FieldDecision:
        """The gate on one agency's section of one person; undecided means deny."""
        return self.persons.get(person_key, {}).get(agency, DENY_UNDECIDED)

    @classmethod
    def deny_all(cls, request: DecisionInput, reason: str) -> Decision:
        denial = FieldDecision("deny", reason=reason, rule="engine.fail_closed")
        return cls(
            {f.coordinate: denial for f in request.fields},
            {p.key: {a: denial for a in p.match_confidence} for p in request.persons},
            revision="none",
        )

    @classmethod
    def from_policy_result(cls, result: Any, decision_id: str | None = None) -> Decision:
        """Read the policy's output strictly; anything malformed reads as deny."""
        if not isinstance(result, Mapping):
            raise ValueError("policy result is not an object")
        fields = {
            str(entry["coordinate"]): read_field_decision(entry)
            for entry in _entries(result.get("fields", []), "fields", "coordinate")
        }
        persons = {
            str(entry["key"]): {
                str(agency): read_field_decision(gate)
                for agency, gate in _mapping(entry.get("agencies"), "agencies").items()
            }
            for entry in _entries(result.get("persons", []), "persons", "key")
        }
        obligations = result.get("obligations", STANDARD_OBLIGATIONS)
        search = result.get("search", {})
        return cls(
            fields=fields,
            persons=persons,
            obligations=obligations if isinstance(obligations, Mapping) else STANDARD_OBLIGATIONS,
            revision=str(result.get("revision", "unknown")),
            decision_id=decision_id,
            search=search if isinstance(search, Mapping) else {},
        )


@dataclass(frozen=True)
class LabelledRecord:
    """A record an adapter returned with sensitivity labels (no values, only where it is)."""

    id: str
    person: str
    agency: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class LabelInput:
    caller: Mapping[str, Any]
    purpose: str
    records: tuple[LabelledRecord, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "caller": dict(self.caller),
            "purpose": self.purpose,
            "records": [
                {"id": r.id, "person": r.person, "agency": r.agency, "labels": list(r.labels)}
                for r in self.records
            ],
        }


@dataclass(frozen=True)
class LabelDecision:
    """Per labelled record allow/deny, and per person the coordinates a label protects."""

    records: Mapping[str, FieldDecision]
    persons: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    revision: str = "unknown"

    def for_record(self, record_id: str) -> FieldDecision:
        return self.records.get(record_id, DENY_UNDECIDED)

    @classmethod
    def deny_all(cls, request: LabelInput, reason: str) -> LabelDecision:
        denial = FieldDecision("deny", reason=reason, rule="engine.fail_closed")
        return cls({r.id: denial for r in request.records}, revision="none")

    @classmethod
    def from_policy_result(cls, result: Any) -> LabelDecision:
        if not isinstance(result, Mapping):
            raise ValueError("label decision is not an object")
        records = {
            str(entry["id"]): read_field_decision(entry)
            for entry in _entries(result.get("records", []), "records", "id")
        }
        persons = {
            str(person): {str(c): str(r) for c, r in _mapping(withheld, "persons").items()}
            for person, withheld in _mapping(result.get("persons", {}), "persons").items()
        }
        return cls(records, persons, str(result.get("revision", "unknown")))


def _entries(raw: Any, name: str, key: str) -> Sequence[Mapping[str, Any]]:
    if not isinstance(raw, list) or not all(isinstance(e, Mapping) and key in e for e in raw):
        raise ValueError(f"policy result '{name}' is not a list of objects with '{key}'")
    return raw


def _mapping(raw: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"policy result '{name}' is not an object")
    return raw


def read_field_decision(raw: Any) -> FieldDecision:
    """One allow/mask/deny entry of a policy result; anything malformed reads as deny."""
    if not isinstance(raw, Mapping) or raw.get("effect") not in _EFFECTS:
        return FieldDecision("deny", reason="the policy gave no valid decision for this field")
    effect: Effect = raw["effect"]
    if effect == "mask" and not isinstance(raw.get("mask"), str):
        return FieldDecision("deny", reason="the policy asked for a mask but named none")
    reason = raw.get("reason")
    rule = raw.get("rule")
    return FieldDecision(
        effect,
        raw.get("mask") if effect == "mask" else None,
        str(reason) if reason is not None else None,
        str(rule) if rule is not None else None,
    )
