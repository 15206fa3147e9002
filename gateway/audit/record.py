"""What one audit record says: who saw which fields of whose data, why, and how decided.

A record names fields (schema coordinates) and outcomes, never values. One
record is written per person per agency section a response touched, plus one
per audit-review action (a data-protection officer reading the audit or
recording a break-glass review outcome), so the reviewers are accountable too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Event = Literal["disclosure", "audit_read", "review", "search"]


@dataclass(frozen=True)
class AuditRecord:
    """One audit entry as the request path hands it to the store.

    ``person_value`` is the identifier the person was looked up by, and
    ``person_identifiers`` every identifier they were resolved to; the store
    replaces each with a keyed hash when the field catalogue says the scheme is
    hashed (:mod:`gateway.audit.identifiers`). Everything after ``policy_revision``
    defaults, so decision details (break-glass, obligations) slot in as the
    policy grows.
    """

    request_id: str
    user: str
    org: str
    roles: tuple[str, ...]
    team: str | None
    purpose: str
    lawful_basis: str
    policy_revision: str
    event: Event = "disclosure"
    person_scheme: str | None = None
    person_value: str | None = None
    # Every identifier the person was resolved to across agencies, as (scheme, value).
    person_identifiers: tuple[tuple[str, str], ...] = ()
    agency: str | None = None
    disclosed: tuple[str, ...] = ()
    masked: tuple[str, ...] = ()
    withheld: Mapping[str, str] = field(default_factory=dict)
    decision_id: str | None = None
    break_glass_reason: str | None = None
    obligations: Mapping[str, Any] = field(default_factory=dict)
    subject_request_id: str | None = None
    review_outcome: str | None = None
    review_note: str | None = None


# Columns of the stored row, in order. Everything except ``row_hash`` is covered by it.
COLUMNS: tuple[str, ...] = (
    "seq",
    "recorded_at",
    "event",
    "request_id",
    "user_id",
    "org",
    "roles",
    "team",
    "purpose",
    "lawful_basis",
    "person_scheme",
    "person_ref",
    "person_ref_hashed",
    "person_identifiers",
    "agency",
    "disclosed",
    "masked",
    "withheld",
    "policy_revision",
    "decision_id",
    "break_glass_reason",
    "obligations",
    "subject_request_id",
    "review_outcome",
    "review_note",
    "prev_hash",
    "row_hash",
)

# Columns holding JSON text (canonical: sorted keys, no spaces), decoded when read.
JSON_COLUMNS: frozenset[str] = frozenset(
    {"roles", "person_identifiers", "disclosed", "masked", "withheld", "obligations"}
)

StoredRow = dict[str, Any]
