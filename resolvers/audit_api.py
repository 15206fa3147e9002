"""The data-protection officer's API: who accessed a person's data, and break-glass review.

``Query.auditLog`` and ``Mutation.auditReview`` are namespaces; their fields
(``AuditLog.*``, ``AuditActions.*``) are governed coordinates like any agency
field, so only a role the policy grants for a purpose such as ``audit_review``
may use them. Reading a person's audit trail and recording a review outcome
are themselves audited (events ``audit_read`` and ``review``), with the
request's other records, before the response leaves.
"""

from __future__ import annotations

import asyncio
import enum
from collections import defaultdict
from typing import Any

import strawberry

from adapters.sdk import Identifier
from gateway.audit import AuditStore
from gateway.audit.query import AuditFilter, find, unreviewed_break_glass
from gateway.audit.record import StoredRow
from resolvers.context import AuditEvent, RequestContext
from resolvers.errors import AuditLogUnavailable, BreakGlassNotFound

GOVERNED_TYPES = frozenset({"AuditLog", "AuditActions"})
POLICY_AGENCY = "audit"
MAX_ENTRIES = 1000


@strawberry.type(description="A field withheld from a disclosure, and the policy's reason.")
class WithheldField:
    coordinate: str
    reason: str


@strawberry.type(description="One audit record: who saw which fields, why, and how it was decided.")
class AuditEntry:
    seq: int
    recorded_at: str
    event: str
    request_id: str
    user: str
    org: str
    roles: list[str]
    team: str | None
    purpose: str
    lawful_basis: str
    agency: str | None
    disclosed: list[str]
    masked: list[str]
    withheld: list[WithheldField]
    policy_revision: str
    decision_id: str | None
    break_glass_reason: str | None
    subject_request_id: str | None
    review_outcome: str | None


@strawberry.type(description="A break-glass access that no one has reviewed yet.")
class BreakGlassAccess:
    request_id: str
    recorded_at: str
    user: str
    org: str
    team: str | None
    purpose: str
    reason: str
    agencies: list[str]
    people: int


@strawberry.enum(description="What a reviewer concluded about a break-glass access.")
class ReviewOutcome(enum.Enum):
    JUSTIFIED = "justified"
    NOT_JUSTIFIED = "not_justified"
    REFERRED = "referred"


@strawberry.type(description="A review outcome, recorded in the audit with this request.")
class BreakGlassReview:
    request_id: str
    outcome: ReviewOutcome
    note: str | None


@strawberry.input(description="A person's identifier, as the data subject or an agency gives it.")
class AuditPersonReference:
    scheme: str
    value: str


def _store(info: strawberry.Info) -> AuditStore:
    context: RequestContext = info.context
    if context.audit_log is None:
        raise AuditLogUnavailable()
    return context.audit_log


async def _read(store: AuditStore, where: AuditFilter) -> list[StoredRow]:
    try:
        return await asyncio.to_thread(find, store, where, MAX_ENTRIES)
    except store.backend.errors:
        raise AuditLogUnavailable() from None


def _entry(row: StoredRow) -> AuditEntry:
    return AuditEntry(
        seq=row["seq"],
        recorded_at=row["recorded_at"],
        event=row["event"],
        request_id=row["request_id"],
        user=row["user_id"],
        org=row["org"],
        roles=row["roles"],
        team=row["team"],
        purpose=row["purpose"],
        lawful_basis=row["lawful_basis"],
        agency=row["agency"],
        disclosed=row["disclosed"],
        masked=row["masked"],
        withheld=[WithheldField(coordinate=c, reason=r) for c, r in row["withheld"].items()],
        policy_revision=row["policy_revision"],
        decision_id=row["decision_id"],
        break_glass_reason=row["break_glass_reason"],
        subject_request_id=row["subject_request_id"],
        review_outcome=row["review_outcome"],
    )


async def _person_access(
    info: strawberry.Info, reference: AuditPersonReference
) -> list[AuditEntry]:
    context: RequestContext = info.context
    person = Identifier(reference.scheme.strip().upper(), reference.value.strip().upper())
    rows = await _read(_store(info), AuditFilter(person=(person.scheme, person.value)))
    context.audit_events.append(AuditEvent("audit_read", person=person))
    return [_entry(row) for row in rows]


async def _break_glass_queue(info: strawberry.Info) -> list[BreakGlassAccess]:
    store = _store(info)
    try:
        rows = await asyncio.to_thread(unreviewed_break_glass, store)
    except store.backend.errors:
        raise AuditLogUnavailable() from None
    by_request: dict[str, list[StoredRow]] = defaultdict(list)
    for row in rows:
        by_request[row["request_id"]].append(row)
    return [
        BreakGlassAccess(
            request_id=request_id,
            recorded_at=group[0]["recorded_at"],
            user=group[0]["user_id"],
            org=group[0]["org"],
            team=group[0]["team"],
            purpose=group[0]["purpose"],
            reason=group[0]["break_glass_reason"],
            agencies=sorted({r["agency"] for r in group if r["agency"]}),
            people=len({(r["person_scheme"], r["person_ref"]) for r in group}),
        )
        for request_id, group in by_request.items()
    ]


async def _record_break_glass_review(
    info: strawberry.Info, request_id: str, outcome: ReviewOutcome, note: str | None = None
) -> BreakGlassReview:
    context: RequestContext = info.context
    accessed = await _read(_store(info), AuditFilter(request_id=request_id, break_glass_only=True))
    if not accessed:
        raise BreakGlassNotFound()
    context.audit_events.append(
        AuditEvent(
            "review", subject_request_id=request_id, review_outcome=outcome.value, review_note=note
        )
    )
    return BreakGlassReview(request_id=request_id, outcome=outcome, note=note)


@strawberry.type(description="The audit trail, for data-protection officers.")
class AuditLog:
    # Nullable, so a field the policy withholds is null at its own path, not the whole answer.
    person_access: list[AuditEntry] | None = strawberry.field(
        resolver=_person_access,
        description=f"Who accessed this person's data (oldest first, at most {MAX_ENTRIES}).",
    )
    break_glass_queue: list[BreakGlassAccess] | None = strawberry.field(
        resolver=_break_glass_queue, description="Break-glass accesses awaiting review."
    )


@strawberry.type(description="Actions on the audit trail, for data-protection officers.")
class AuditActions:
    record_break_glass_review: BreakGlassReview | None = strawberry.field(
        resolver=_record_break_glass_review,
        description="Record the outcome of reviewing a break-glass access (itself audited).",
    )


def _audit_log() -> AuditLog:
    return AuditLog()


def _audit_actions() -> AuditActions:
    return AuditActions()


def query_fields() -> list[Any]:
    return [
        strawberry.field(
            resolver=_audit_log,
            name="auditLog",
            description="The audit trail (data-protection officers, purpose audit_review).",
        )
    ]


def mutation_fields() -> list[Any]:
    return [
        strawberry.mutation(
            resolver=_audit_actions,
            name="auditReview",
            description="Review actions on the audit trail (data-protection officers).",
        )
    ]
