"""SQLite backend (the default): one WAL database file; appends take ``BEGIN IMMEDIATE``.

``BEGIN IMMEDIATE`` takes SQLite's single write lock at the start of the
transaction, so appends from several processes run one after another and each
reads the head it extends. ``synchronous=FULL`` makes a commit durable before
the response leaves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.audit.backend import LOCK_WAIT_S, SCHEMA, WriterBusy

BUSY_TIMEOUT_MS = round(LOCK_WAIT_S * 1000)


class SqliteBackend:
    name = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)
    local = True

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")

    @property
    def connection_lost(self) -> bool:
        return False  # a file: nothing to lose

    def create_schema(self) -> None:
        with self.chain_lock():
            for statement in SCHEMA:
                self._db.execute(statement)

    @contextmanager
    def chain_lock(self, wait: bool = True) -> Iterator[None]:
        if wait:
            self._db.execute("BEGIN IMMEDIATE")
        else:
            self._begin_if_free()
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _begin_if_free(self) -> None:
        """``BEGIN IMMEDIATE`` without SQLite's busy handler: another process's lock is
        :class:`WriterBusy` at once."""
        self._db.execute("PRAGMA busy_timeout = 0")
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                raise WriterBusy from exc
            raise
        finally:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextmanager
    def read(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self._db.execute(sql, tuple(params))]

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, [tuple(r) for r in rows])

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Generator[dict[str, Any], None, None]:
        for row in self._db.execute(sql, tuple(params)):
            yield dict(row)

    def close(self) -> None:
        self._db.close()
