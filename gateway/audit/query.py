"""Finding audit records (by person, user, agency, purpose, time, break-glass) and
presenting them: table, JSON or CSV for people, and subject-access / data-owner reports.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from gateway.audit.record import JSON_COLUMNS, StoredRow
from gateway.audit.store import AuditStore, timestamp

OutputFormat = Literal["table", "json", "csv"]


@dataclass(frozen=True)
class AuditFilter:
    """Conditions that all must hold; ``None`` means any."""

    person: tuple[str, str] | None = None  # (scheme, value) as the caller knows it
    user: str | None = None
    agency: str | None = None
    purpose: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    break_glass_only: bool = False
    request_id: str | None = None
    event: str | None = None


def find(store: AuditStore, where: AuditFilter, limit: int | None = None) -> list[StoredRow]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.person is not None:
        scheme, value = where.person
        # Looked up by this identifier (in either stored form, since the catalogue's rule
        # for a scheme may change), or resolved to it (always hashed).
        hashed = store.identifiers.hashed(scheme, value)
        clauses.append(
            "(person_scheme = ? AND person_ref IN (?, ?)"
            " OR seq IN (SELECT seq FROM audit_identifier WHERE identifier = ?))"
        )
        params += [scheme, value, hashed, store.identifiers.resolved(scheme, value)]
    for column, wanted in (
        ("user_id", where.user),
        ("agency", where.agency),
        ("purpose", where.purpose),
        ("request_id", where.request_id),
        ("event", where.event),
    ):
        if wanted is not None:
            clauses.append(f"{column} = ?")
            params.append(wanted)
    if where.since is not None:
        clauses.append("recorded_at >= ?")
        params.append(timestamp(where.since))
    if where.until is not None:
        clauses.append("recorded_at < ?")
        params.append(timestamp(where.until))
    if where.break_glass_only:
        clauses.append("break_glass_reason IS NOT NULL")
    return [decoded(row) for row in store.select(" AND ".join(clauses), tuple(params), limit)]


def unreviewed_break_glass(store: AuditStore) -> list[StoredRow]:
    return [decoded(row) for row in store.select(store.unreviewed_break_glass)]


def decoded(row: StoredRow) -> StoredRow:
    """A stored row for people: JSON columns as values, chain columns dropped."""
    out = {k: v for k, v in row.items() if k not in ("prev_hash", "row_hash")}
    for column in JSON_COLUMNS:
        out[column] = json.loads(row[column])
    out["person_ref_hashed"] = bool(row["person_ref_hashed"])
    return out


_TABLE_COLUMNS = (
    "seq",
    "recorded_at",
    "event",
    "user_id",
    "purpose",
    "person_scheme",
    "person_ref",
    "agency",
    "disclosed",
    "masked",
    "withheld",
    "break_glass_reason",
)


def render(rows: Sequence[StoredRow], output: OutputFormat) -> str:
    if output == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if output == "csv":
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
        return buffer.getvalue()
    return _table(rows)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _table(rows: Sequence[StoredRow]) -> str:
    def short(column: str, value: Any) -> str:
        if column == "withheld":
            return " ".join(value)
        if column == "person_ref" and isinstance(value, str) and len(value) > 24:
            return value[:24] + "…"
        if column == "recorded_at":
            return str(value)[:19]
        return _cell(value)

    cells = [[short(c, row.get(c)) for c in _TABLE_COLUMNS] for row in rows]
    widths = [
        max([len(c), *(len(line[i]) for line in cells)]) for i, c in enumerate(_TABLE_COLUMNS)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(_TABLE_COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)) for line in cells]
    lines.append(f"({len(rows)} records)")
    return "\n".join(lines)


def subject_access_report(rows: Sequence[StoredRow], scheme: str, value: str) -> dict[str, Any]:
    """Who accessed one person's data, for what, and which fields: for a subject-access request."""
    disclosures = [r for r in rows if r["event"] == "disclosure"]
    return {
        "report": "subject_access",
        "generated_at": timestamp(),
        "person": {"scheme": scheme, "value": value},
        "accesses": len({r["request_id"] for r in disclosures}),
        "by_organisation": dict(Counter(r["org"] for r in disclosures)),
        "by_purpose": dict(Counter(r["purpose"] for r in disclosures)),
        "records": [
            {
                "recorded_at": r["recorded_at"],
                "event": r["event"],
                "organisation": r["org"],
                "team": r["team"],
                "user": r["user_id"],
                "purpose": r["purpose"],
                "lawful_basis": r["lawful_basis"],
                "agency": r["agency"],
                "fields_disclosed": r["disclosed"],
                "fields_masked": r["masked"],
                "fields_withheld": sorted(r["withheld"]),
                "break_glass_reason": r["break_glass_reason"],
            }
            for r in rows
        ],
    }


def data_owner_report(rows: Sequence[StoredRow], agency: str) -> dict[str, Any]:
    """What one agency's data was disclosed, to whom and why: for the data owner."""
    disclosures = [r for r in rows if r["event"] == "disclosure"]
    fields: Counter[str] = Counter()
    for r in disclosures:
        fields.update(r["disclosed"])
        fields.update(r["masked"])
    return {
        "report": "data_owner",
        "generated_at": timestamp(),
        "agency": agency,
        "disclosures": len(disclosures),
        "people": len({(r["person_scheme"], r["person_ref"]) for r in disclosures}),
        "by_organisation": dict(Counter(r["org"] for r in disclosures)),
        "by_purpose": dict(Counter(r["purpose"] for r in disclosures)),
        "by_user": dict(Counter(r["user_id"] for r in disclosures)),
        "fields_shared": dict(fields.most_common()),
        "break_glass": sum(1 for r in disclosures if r["break_glass_reason"]),
    }
