"""Request decisions assembled from remembered parts, each evaluated once by the policy.

The request decision (``policies/joinedup/decision.rego``) splits into parts
that depend on less than the whole input:

- a field's decision depends only on the caller's roles, the purpose and the
  field itself (coordinate and agency), never on the other fields asked for,
  the persons, break-glass or a consent override;
- a person's gate on one agency's section depends only on the roles, purpose,
  break-glass and consent override of the request and on the person's
  context for that agency: the class of the match confidence in that agency
  (``joinedup.confidence``: sufficient, or the identity rule it fails), the
  relationship and the consent state for the purpose; never on the person's
  other agencies, other consents or on which reference named the person;
- the obligations, the demographic search limits and the revision depend only
  on the roles, purpose, break-glass and consent override;
- in the label decision (``policies/joinedup/sensitivity.rego``), a labelled
  record's decision depends only on the roles, the purpose and the record's
  agency and labels (in their order: a reason names the first label hidden),
  never on its id (only echoed), its person or the other records; the
  coordinates a person's labels protect are the union, over that person's
  records, of what each record's agency and labels protect (the person key only
  groups them). That pair (decision, protection) is a record's label part.

The embedded engine evaluates each part with an input holding only what that
part may depend on (so a remembered part is the policy's answer for its key;
a gate is evaluated with the first confidence seen of its class) and keeps
the parts here, keyed by that input.
Everything is bounded (least recently used entries go first) and belongs to
one compiled policy revision: a reload starts an empty memo.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.policy.decision import FieldDecision, LabelledRecord

K = TypeVar("K")
V = TypeVar("V")

FieldKey = tuple[str, str | None]
"""A requested field: its coordinate and agency."""

MAX_CONTEXTS = 256
"""Remembered (roles, purpose) contexts, each with its field decisions."""
MAX_FIELDS_PER_CONTEXT = 4096
"""Field decisions kept per context (the catalogue is ~100; schema coordinates are finite)."""
MAX_GATE_CONTEXTS = 1024
"""Remembered (roles, purpose, break-glass, override) contexts: their RequestWide parts."""
MAX_CLASSES = 4096
"""Remembered classes of (agency, match confidence)."""
MAX_PERSON_GATES = 16384
"""Remembered gates (one agency of one person context) across all contexts."""
MAX_LABEL_PARTS = 4096
"""Remembered label parts (one agency and label list) across all roles/purpose contexts."""


POLICY_CALLER_CLAIMS = ("roles",)
"""The caller's claims the policies read (tests/test_policy_memo.py checks the Rego)."""


def policy_caller(caller: Mapping[str, Any]) -> dict[str, Any]:
    """The caller as the policy sees it: only the claims it reads."""
    return {claim: caller[claim] for claim in POLICY_CALLER_CLAIMS if claim in caller}


def field_context(document: Mapping[str, Any]) -> dict[str, Any]:
    """Everything a field decision may read besides the field: the input it is evaluated with."""
    return {"caller": policy_caller(document["caller"]), "purpose": document["purpose"]}


def gate_context(document: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the gates and obligations read besides the person."""
    context = field_context(document)
    for part in ("break_glass", "consent_override"):
        if part in document:
            context[part] = document[part]
    return context


def key_of(context: Mapping[str, Any]) -> str:
    return json.dumps(context, sort_keys=True)


def label_part_key(record: LabelledRecord) -> str:
    """The key of a labelled record's part: its agency and its labels, in order."""
    return json.dumps([record.agency, list(record.labels)])


def match_key(agency: str, confidence: Any) -> str:
    """The key of one agency's match confidence (its class is remembered by it)."""
    return json.dumps([agency, confidence])


def shared_view(person: Mapping[str, Any], purpose: str) -> dict[str, Any]:
    """What every agency's gate reads of the person besides the match: the relationship
    and the consent for the purpose (consents for other purposes are not read)."""
    consent = person.get("consent", {})
    return {
        "relationship": person.get("relationship", False),
        "consent": {purpose: consent[purpose]} if purpose in consent else {},
    }


@dataclass(frozen=True)
class RequestWide:
    """What a request's context decides besides its fields and gates."""

    obligations: Mapping[str, Any]
    search: Mapping[str, Any]
    revision: str


@dataclass(frozen=True)
class LabelPart:
    """What one labelled record decides: the record's effect and, if its labels protect
    its person (a person-scoped label hidden from the caller), the coordinates withheld
    and why (``None``: the record protects nothing of its person)."""

    record: FieldDecision
    protects: Mapping[str, str] | None


@dataclass
class DecisionMemo:
    """Remembered decision parts of one compiled policy (see the module docstring)."""

    fields: OrderedDict[str, dict[FieldKey, FieldDecision]] = field(default_factory=OrderedDict)
    request_wide: OrderedDict[str, RequestWide] = field(default_factory=OrderedDict)
    gates: OrderedDict[tuple[str, str], FieldDecision] = field(default_factory=OrderedDict)
    classes: OrderedDict[str, str] = field(default_factory=OrderedDict)
    labels: OrderedDict[tuple[str, str], LabelPart] = field(default_factory=OrderedDict)
    label_revision: str | None = None
    """The revision the label decision reports (the same for every part of this memo)."""

    def fields_of(self, context: str) -> dict[FieldKey, FieldDecision] | None:
        return _recall(self.fields, context)

    def remember_fields(self, context: str, decided: Mapping[FieldKey, FieldDecision]) -> None:
        known = self.fields.setdefault(context, {})
        self.fields.move_to_end(context)
        for key, decision in decided.items():
            if len(known) >= MAX_FIELDS_PER_CONTEXT:
                break
            known[key] = decision
        _trim(self.fields, MAX_CONTEXTS)

    def request_wide_of(self, context: str) -> RequestWide | None:
        return _recall(self.request_wide, context)

    def remember_request_wide(self, context: str, parts: RequestWide) -> None:
        _keep(self.request_wide, context, parts, MAX_GATE_CONTEXTS)

    def gate_of(self, context: str, view: str) -> FieldDecision | None:
        return _recall(self.gates, (context, view))

    def remember_gate(self, context: str, view: str, gate: FieldDecision) -> None:
        _keep(self.gates, (context, view), gate, MAX_PERSON_GATES)

    def class_of(self, match: str) -> str | None:
        return _recall(self.classes, match)

    def remember_class(self, match: str, confidence_class: str) -> None:
        _keep(self.classes, match, confidence_class, MAX_CLASSES)

    def label_part_of(self, context: str, part: str) -> LabelPart | None:
        return _recall(self.labels, (context, part))

    def remember_label_part(self, context: str, part: str, decided: LabelPart) -> None:
        _keep(self.labels, (context, part), decided, MAX_LABEL_PARTS)


def _recall(entries: OrderedDict[K, V], key: K) -> V | None:
    """The entry for ``key``, now the most recently used; ``None`` if not remembered."""
    known = entries.get(key)
    if known is not None:
        entries.move_to_end(key)
    return known


def _keep(entries: OrderedDict[K, V], key: K, value: V, limit: int) -> None:
    entries[key] = value
    _trim(entries, limit)


def _trim(entries: OrderedDict[Any, Any], limit: int) -> None:
    """Forget the least recently used entries beyond ``limit``."""
    while len(entries) > limit:
        entries.popitem(last=False)
