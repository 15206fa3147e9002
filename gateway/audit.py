"""The audit trail: one row per disclosure, written before the response leaves.

Rows name fields (schema coordinates) and outcomes, never values. If a row
cannot be written the gateway refuses to answer rather than disclose
unaudited.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS disclosure (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    user TEXT NOT NULL,
    org TEXT NOT NULL,
    roles TEXT NOT NULL,
    team TEXT,
    purpose TEXT NOT NULL,
    person_scheme TEXT NOT NULL,
    person_value TEXT NOT NULL,
    agency TEXT NOT NULL,
    disclosed TEXT NOT NULL,
    masked TEXT NOT NULL,
    withheld TEXT NOT NULL,
    policy_revision TEXT NOT NULL,
    decision_id TEXT
);
CREATE INDEX IF NOT EXISTS disclosure_person ON disclosure (person_scheme, person_value);
CREATE INDEX IF NOT EXISTS disclosure_user ON disclosure (user);
"""


class AuditUnavailable(Exception):
    """The audit store could not durably record a disclosure."""


@dataclass(frozen=True)
class AuditRecord:
    request_id: str
    user: str
    org: str
    roles: tuple[str, ...]
    team: str | None
    purpose: str
    person_scheme: str
    person_value: str
    agency: str
    disclosed: tuple[str, ...]
    masked: tuple[str, ...]
    withheld: dict[str, str]
    policy_revision: str
    decision_id: str | None


class AuditStore:
    """SQLite (WAL) audit store; writes run in a thread, one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def _write(self, records: list[AuditRecord]) -> None:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO disclosure (request_id, recorded_at, user, org, roles, team,"
                    " purpose, person_scheme, person_value, agency, disclosed, masked, withheld,"
                    " policy_revision, decision_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            r.request_id,
                            now,
                            r.user,
                            r.org,
                            json.dumps(list(r.roles)),
                            r.team,
                            r.purpose,
                            r.person_scheme,
                            r.person_value,
                            r.agency,
                            json.dumps(sorted(r.disclosed)),
                            json.dumps(sorted(r.masked)),
                            json.dumps(r.withheld, sort_keys=True),
                            r.policy_revision,
                            r.decision_id,
                        )
                        for r in records
                    ],
                )
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise AuditUnavailable(f"audit store write failed: {type(exc).__name__}") from exc

    def check(self) -> None:
        """Raise :class:`AuditUnavailable` unless a write could be taken now (readiness).

        Waits at most a second for another writer (e.g. another worker process),
        so a probe reports a stuck store quickly but not a busy one.
        """
        with self._lock:
            (waits_ms,) = self._db.execute("PRAGMA busy_timeout").fetchone()
            self._db.execute("PRAGMA busy_timeout = 1000")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                raise AuditUnavailable(f"not writable ({exc})") from exc
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {int(waits_ms)}")

    async def record(self, records: Iterable[AuditRecord]) -> None:
        batch = list(records)
        if batch:
            await asyncio.to_thread(self._write, batch)

    def close(self) -> None:
        with self._lock:
            self._db.close()
