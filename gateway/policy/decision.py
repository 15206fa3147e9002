"""The decision contract between the gateway and the Rego policies.

One decision is asked per request, for every field coordinate the request
names. Anything the policy does not answer for is denied: a missing entry,
a malformed entry or an unknown effect all read as ``deny``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Effect = Literal["allow", "mask", "deny"]
_EFFECTS: frozenset[str] = frozenset({"allow", "mask", "deny"})

NOT_DECIDED = "no policy decision covers this field"


@dataclass(frozen=True)
class RequestedField:
    """A schema coordinate (``Type.field``) named by the query, and its agency."""

    coordinate: str
    agency: str | None


@dataclass(frozen=True)
class DecisionInput:
    caller: Mapping[str, Any]
    purpose: str
    fields: tuple[RequestedField, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "caller": dict(self.caller),
            "purpose": self.purpose,
            "fields": [{"coordinate": f.coordinate, "agency": f.agency} for f in self.fields],
        }


@dataclass(frozen=True)
class FieldDecision:
    effect: Effect
    mask: str | None = None
    reason: str | None = None


DENY_UNDECIDED = FieldDecision("deny", reason=NOT_DECIDED)


@dataclass(frozen=True)
class Decision:
    fields: Mapping[str, FieldDecision]
    obligations: Mapping[str, Any] = field(default_factory=dict)
    revision: str = "unknown"
    decision_id: str | None = None

    def for_field(self, coordinate: str) -> FieldDecision:
        return self.fields.get(coordinate, DENY_UNDECIDED)

    @classmethod
    def deny_all(cls, requested: tuple[RequestedField, ...], reason: str) -> Decision:
        denial = FieldDecision("deny", reason=reason)
        return cls({f.coordinate: denial for f in requested}, revision="none")

    @classmethod
    def from_policy_result(cls, result: Any, decision_id: str | None = None) -> Decision:
        """Read the policy's output strictly; anything malformed reads as deny."""
        if not isinstance(result, Mapping):
            raise ValueError("policy result is not an object")
        raw_fields = result.get("fields", {})
        if not isinstance(raw_fields, Mapping):
            raise ValueError("policy result 'fields' is not an object")
        fields = {str(coordinate): _field_decision(raw) for coordinate, raw in raw_fields.items()}
        obligations = result.get("obligations", {})
        return cls(
            fields=fields,
            obligations=obligations if isinstance(obligations, Mapping) else {},
            revision=str(result.get("revision", "unknown")),
            decision_id=decision_id,
        )


def _field_decision(raw: Any) -> FieldDecision:
    if not isinstance(raw, Mapping) or raw.get("effect") not in _EFFECTS:
        return FieldDecision("deny", reason="the policy gave no valid decision for this field")
    effect: Effect = raw["effect"]
    if effect == "mask" and not isinstance(raw.get("mask"), str):
        return FieldDecision("deny", reason="the policy asked for a mask but named none")
    reason = raw.get("reason")
    return FieldDecision(effect, raw.get("mask"), str(reason) if reason is not None else None)
