"""PostgreSQL backend (production), with psycopg 3.

Appends take ``LOCK TABLE audit_head IN EXCLUSIVE MODE`` inside their
transaction: writers from every gateway process queue on it, while readers
(``audit query``, ``audit verify``) are not blocked.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

from gateway.audit.backend import SCHEMA, WriterBusy

# Serialises schema creation when several processes start against an empty database.
_SCHEMA_LOCK_KEY = 0x6A6F696E6564

STARTUP_CONNECT_TIMEOUT_S = 10
RECONNECT_TIMEOUT_S = 2
"""Reconnecting happens under the store's lock, in a write or a readiness probe; a
database that does not answer must fail them within the probe's 2 s budget
(gateway/health.py), not hold every writer for longer. 2 s is libpq's minimum."""


def _placeholders(sql: str) -> str:
    return sql.replace("?", "%s")


class PostgresBackend:
    name = "postgresql"
    errors: tuple[type[Exception], ...] = (psycopg.Error,)
    local = False

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._db = self._connect(STARTUP_CONNECT_TIMEOUT_S)

    def _connect(self, timeout_s: int) -> psycopg.Connection[dict[str, Any]]:
        return psycopg.connect(
            self._dsn, autocommit=True, row_factory=dict_row, connect_timeout=timeout_s
        )

    @property
    def connection_lost(self) -> bool:
        return self._db.broken or self._db.closed

    def _reconnect_if_lost(self) -> None:
        """After a server restart or a dropped connection the next transaction reconnects;
        the one that found it lost has already failed (and so refused to disclose)."""
        if self.connection_lost:
            self._db = self._connect(RECONNECT_TIMEOUT_S)

    def create_schema(self) -> None:
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_KEY,))
            exists = self._db.execute("SELECT to_regclass('audit_head') IS NOT NULL AS found")
            row = exists.fetchone()
            if row is not None and row["found"]:
                # Take the appenders' lock first: the same lock order as theirs, so no deadlock.
                self._db.execute("LOCK TABLE audit_head IN EXCLUSIVE MODE")
            for statement in SCHEMA:
                self._db.execute(statement.encode())

    @contextmanager
    def chain_lock(self, wait: bool = True) -> Iterator[None]:
        self._reconnect_if_lost()
        with self._db.transaction():
            try:
                self._db.execute(
                    "LOCK TABLE audit_head IN EXCLUSIVE MODE" + ("" if wait else " NOWAIT")
                )
            except psycopg.errors.LockNotAvailable as exc:
                raise WriterBusy from exc
            yield

    @contextmanager
    def read(self) -> Iterator[None]:
        self._reconnect_if_lost()
        with self._db.transaction():
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self._db.execute(_placeholders(sql).encode(), tuple(params))
        return list(cursor.fetchall()) if cursor.description else []

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(_placeholders(sql).encode(), [tuple(r) for r in rows])

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Generator[dict[str, Any], None, None]:
        with self._db.cursor(name="audit_stream") as cursor:
            cursor.itersize = 2000
            cursor.execute(_placeholders(sql).encode(), tuple(params))
            yield from cursor

    def close(self) -> None:
        self._db.close()
