"""Where an append runs: a local store (SQLite) on the event loop, polling a lock another
writer holds; a database server (PostgreSQL) in a worker thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from gateway.audit import AuditUnavailable
from gateway.audit.backend import WriterBusy
from tests.audit_support import disclosure, open_test_store
from tests.event_loop_support import with_loop_turns


@contextmanager
def lock_held_elsewhere(dsn: str) -> Iterator[Callable[[], None]]:
    """Another connection (as another gateway process would) holds the append lock
    until the block ends or the yielded function is called (from any thread)."""
    if dsn.startswith("sqlite:///"):
        db = sqlite3.connect(
            dsn.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        db.execute("BEGIN IMMEDIATE")
        released = threading.Lock()

        def release() -> None:
            with released:
                if db.in_transaction:
                    db.execute("ROLLBACK")

        try:
            yield release
        finally:
            release()
            db.close()
    else:
        with psycopg.connect(dsn) as pg:
            pg.execute("BEGIN")
            pg.execute("LOCK TABLE audit_head IN EXCLUSIVE MODE")

            def release_pg() -> None:
                pg.execute("ROLLBACK")

            try:
                yield release_pg
            finally:
                if pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    pg.execute("ROLLBACK")


async def test_a_local_store_is_written_on_the_loop_and_a_server_from_a_thread(
    audit_dsn: str, tmp_path: Path, threads_used: list[str]
) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    await store.record([disclosure(1), disclosure(2)])
    await store.record([disclosure(3)])

    local = audit_dsn.startswith("sqlite:///")
    assert threads_used == ([] if local else ["append", "append"])
    report = store.verify()
    assert report.ok and report.records == 3, report.summary()
    store.close()


async def test_a_held_lock_is_polled_while_the_loop_runs_on(
    tmp_path: Path, threads_used: list[str]
) -> None:
    dsn = "sqlite:///" + str(tmp_path / "audit.sqlite")
    store = open_test_store(dsn, tmp_path)

    with lock_held_elsewhere(dsn) as release:
        asyncio.get_running_loop().call_later(0.3, release)
        _, loop_turns = await with_loop_turns(asyncio.wait_for(store.record([disclosure(1)]), 5))

    assert loop_turns > 10, "the event loop kept running while the lock was held"
    assert threads_used == []
    report = store.verify()
    assert report.ok and report.records == 1, report.summary()
    store.close()


async def test_a_lock_held_too_long_fails_the_append_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gateway.audit.store.LOCK_WAIT_S", 0.2)
    dsn = "sqlite:///" + str(tmp_path / "audit.sqlite")
    store = open_test_store(dsn, tmp_path)

    with lock_held_elsewhere(dsn), pytest.raises(AuditUnavailable, match="held the lock"):
        await store.record([disclosure(1)])

    assert store.verify().records == 0
    await store.record([disclosure(2)])
    assert store.verify().records == 1
    store.close()


def test_not_waiting_for_a_held_lock_is_writer_busy_and_waiting_still_waits(
    audit_dsn: str, tmp_path: Path
) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    with lock_held_elsewhere(audit_dsn) as release:
        with pytest.raises(WriterBusy):
            store.append([disclosure(1)], wait=False)
        # A writer that waits (in a thread) still waits for the lock, not just fails.
        timer = threading.Timer(0.3, release)
        timer.start()
        assert store.append([disclosure(2)]) == [1]
        timer.join()

    assert store.append([disclosure(3)], wait=False) == [2]
    report = store.verify()
    assert report.ok and report.records == 2, report.summary()
    store.close()
