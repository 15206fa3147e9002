"""What the audit store needs from a database, and the schema both databases share.

The schema is the same text on SQLite and PostgreSQL: every value is TEXT or
a BIGINT, so rows read back identically and hash alike on both.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from gateway.audit.record import COLUMNS

_INTEGER_COLUMNS = frozenset({"seq", "person_ref_hashed"})
_NOT_NULL = frozenset(
    {
        "seq",
        "recorded_at",
        "event",
        "request_id",
        "user_id",
        "org",
        "roles",
        "purpose",
        "lawful_basis",
        "person_ref_hashed",
        "person_identifiers",
        "disclosed",
        "masked",
        "withheld",
        "policy_revision",
        "obligations",
        "prev_hash",
        "row_hash",
    }
)


def _column_ddl(column: str) -> str:
    kind = "BIGINT" if column in _INTEGER_COLUMNS else "TEXT"
    primary = " PRIMARY KEY" if column == "seq" else ""
    null = " NOT NULL" if column in _NOT_NULL and not primary else ""
    return f"{column} {kind}{primary}{null}"


SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS audit_record (" + ", ".join(_column_ddl(c) for c in COLUMNS) + ")",
    "CREATE INDEX IF NOT EXISTS audit_record_person ON audit_record (person_scheme, person_ref)",
    "CREATE INDEX IF NOT EXISTS audit_record_user ON audit_record (user_id)",
    "CREATE INDEX IF NOT EXISTS audit_record_request ON audit_record (request_id)",
    "CREATE INDEX IF NOT EXISTS audit_record_time ON audit_record (recorded_at)",
    # Each record's resolved identifiers (as stored: usually hashed), so a data-protection
    # officer's search by identifier is an index lookup, not a scan of a JSON column. Derived
    # from audit_record.person_identifiers (which the chain protects) in the same transaction.
    "CREATE TABLE IF NOT EXISTS audit_identifier ("
    "identifier TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (identifier, seq))",
    "CREATE TABLE IF NOT EXISTS audit_checkpoint ("
    "kind TEXT NOT NULL, seq BIGINT NOT NULL, row_hash TEXT NOT NULL, signed_at TEXT NOT NULL,"
    " key_id TEXT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (kind, seq))",
    # The chain's head: one row, updated under the write lock with every append.
    "CREATE TABLE IF NOT EXISTS audit_head ("
    "id BIGINT PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, row_hash TEXT NOT NULL,"
    " signed_at TEXT NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL)",
    "INSERT INTO audit_head (id, seq, row_hash, signed_at, key_id, signature)"
    " VALUES (1, 0, '" + "0" * 64 + "', '', '', '') ON CONFLICT (id) DO NOTHING",
)


LOCK_WAIT_S = 30.0
"""How long an append to SQLite waits for another writer's lock before it fails (its
busy timeout in a thread; the store's polling on the event loop)."""


class WriterBusy(Exception):
    """Another writer holds the chain's lock, and the caller asked not to wait for it."""


class Backend(Protocol):
    """One database connection. SQL uses ``?`` placeholders on every backend."""

    name: str
    errors: tuple[type[Exception], ...]
    local: bool
    """A file on this machine: an append that finds the lock free takes well under a
    millisecond and never waits for the network, so it may run on the event loop."""

    @property
    def connection_lost(self) -> bool:
        """Whether the connection is known to be lost (the next use reopens it)."""
        ...

    def create_schema(self) -> None: ...

    def chain_lock(self, wait: bool = True) -> AbstractContextManager[None]:
        """A write transaction that holds the database-wide lock serialising appends;
        ``wait=False``: raise :class:`WriterBusy` at once if another writer holds it."""
        ...

    def read(self) -> AbstractContextManager[None]:
        """A read transaction: one consistent snapshot for the reads inside it."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]: ...

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def stream(
        self, sql: str, params: Sequence[Any] = ()
    ) -> Generator[dict[str, Any], None, None]: ...

    def close(self) -> None: ...
