"""The audit store on SQLite and PostgreSQL: a hash chain that shows any tampering."""

from __future__ import annotations

import json
import multiprocessing
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit import AuditUnavailable, open_store
from gateway.audit.query import AuditFilter, find
from gateway.audit.record import COLUMNS
from gateway.config import REPO_ROOT
from tests.audit_support import disclosure, open_test_store, raw
from tests.postgres import PostgresServer


def test_appended_records_form_a_verifiable_chain(audit_dsn: str, tmp_path: Path) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    assert store.append([disclosure(1), disclosure(2)]) == [1, 2]
    assert store.append([disclosure(n) for n in range(3, 11)]) == list(range(3, 11))

    report = store.verify()

    assert report.ok, report.summary()
    assert (report.records, report.first_seq, report.last_seq) == (10, 1, 10)
    assert report.checkpoints == 3  # periodic at 4 and 8, plus the signed head
    rows = raw(audit_dsn, "SELECT prev_hash, row_hash FROM audit_record ORDER BY seq")
    assert rows[0][0] == "0" * 64
    assert all(rows[i][0] == rows[i - 1][1] for i in range(1, len(rows)))
    store.close()


def _flip_one_character(value: object) -> object:
    if value is None:
        return "x"
    if isinstance(value, int):  # seq moves out of place; the 0/1 hashed flag flips
        return value + 1000 if value > 1 else 1 - value
    text = str(value)
    last = text[-1]
    return text[:-1] + ("0" if last != "0" else "1")


@pytest.mark.parametrize("column", COLUMNS)
def test_a_one_character_change_in_any_column_is_found_at_that_record(
    audit_dsn: str, tmp_path: Path, column: str
) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    store.append([disclosure(n) for n in range(1, 8)])
    [(original,)] = raw(audit_dsn, f"SELECT {column} FROM audit_record WHERE seq = 5")
    raw(
        audit_dsn,
        f"UPDATE audit_record SET {column} = ? WHERE seq = 5",
        (_flip_one_character(original),),
    )

    report = store.verify()

    assert not report.ok
    assert report.problem is not None and report.problem.seq == 5, report.summary()
    store.close()


@pytest.mark.parametrize("deleted", [1, 4, 7])
def test_deleting_any_record_is_found(audit_dsn: str, tmp_path: Path, deleted: int) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    store.append([disclosure(n) for n in range(1, 8)])
    raw(audit_dsn, "DELETE FROM audit_record WHERE seq = ?", (deleted,))

    report = store.verify()

    assert not report.ok
    assert report.problem is not None and report.problem.seq == deleted, report.summary()
    store.close()


def test_rewinding_the_head_without_the_key_is_found(audit_dsn: str, tmp_path: Path) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    store.append([disclosure(n) for n in range(1, 8)])
    [(hash6,)] = raw(audit_dsn, "SELECT row_hash FROM audit_record WHERE seq = 6")
    raw(audit_dsn, "DELETE FROM audit_record WHERE seq = 7")
    raw(audit_dsn, "UPDATE audit_head SET seq = 6, row_hash = ?", (hash6,))

    report = store.verify()

    assert not report.ok and "signature" in report.summary()
    store.close()


def test_a_forged_checkpoint_is_found(audit_dsn: str, tmp_path: Path) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    store.append([disclosure(n) for n in range(1, 8)])
    raw(audit_dsn, "UPDATE audit_checkpoint SET signed_at = '2020-01-01' WHERE seq = 4")

    report = store.verify()

    assert not report.ok and report.problem is not None and report.problem.seq == 4
    store.close()


def test_a_store_signed_by_another_key_does_not_verify(audit_dsn: str, tmp_path: Path) -> None:
    store = open_test_store(audit_dsn, tmp_path / "one")
    store.append([disclosure(n) for n in range(1, 3)])
    store.close()

    stranger = open_test_store(audit_dsn, tmp_path / "other")

    assert not stranger.verify().ok
    stranger.close()


def test_prune_removes_old_records_and_the_rest_still_verifies(
    audit_dsn: str, tmp_path: Path
) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    store.append([disclosure(n) for n in range(1, 6)])
    cutoff = datetime.now(UTC)
    store.append([disclosure(n) for n in range(6, 10)])

    result = store.prune(cutoff)

    assert (result.pruned, result.through_seq) == (5, 5)
    report = store.verify()
    assert report.ok, report.summary()
    assert (report.records, report.first_seq, report.last_seq) == (4, 6, 9)
    store.append([disclosure(10)])
    assert store.verify().ok
    # Removing the oldest retained record now looks like what it is: a deletion.
    raw(audit_dsn, "DELETE FROM audit_record WHERE seq = 6")
    assert store.verify().problem is not None
    store.close()


def test_deleting_the_prune_checkpoint_is_found(audit_dsn: str, tmp_path: Path) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    store.append([disclosure(n) for n in range(1, 6)])
    store.prune(datetime.now(UTC) + timedelta(seconds=1))
    store.append([disclosure(6)])
    raw(audit_dsn, "DELETE FROM audit_checkpoint WHERE kind = 'prune'")

    report = store.verify()

    assert not report.ok and report.problem is not None and report.problem.seq == 1
    store.close()


def test_prune_keeps_break_glass_awaiting_review(audit_dsn: str, tmp_path: Path) -> None:
    store = open_test_store(audit_dsn, tmp_path)
    store.append([disclosure(1), disclosure(2), disclosure(3, break_glass_reason="child at risk")])
    store.append([disclosure(4)])
    future = datetime.now(UTC) + timedelta(days=1)

    held = store.prune(future)

    assert (held.through_seq, held.held_for_review) == (2, True)
    store.append(
        [
            disclosure(
                5,
                event="review",
                person_scheme=None,
                person_value=None,
                agency=None,
                subject_request_id="req-3",
                review_outcome="justified",
            )
        ]
    )
    released = store.prune(future)
    assert (released.through_seq, released.held_for_review) == (5, False)
    assert store.verify().ok
    store.close()


def test_identifiers_are_hashed_unless_the_catalogue_says_clear(
    audit_dsn: str, tmp_path: Path
) -> None:
    catalogue = json.loads((REPO_ROOT / "policies" / "data.json").read_text())
    assert catalogue["audit"]["identifiers"] == {
        "COUNCIL_ID": "clear",
        "NI_NUMBER": "hash",
        "NHS_NUMBER": "hash",
    }
    store = open_test_store(audit_dsn, tmp_path)
    store.append(
        [
            disclosure(1, "NI_NUMBER", "QQ123456C"),
            disclosure(2, "COUNCIL_ID", "C-000042"),
            disclosure(3, "SOME_NEW_SCHEME", "X1"),  # not in the catalogue: hashed
        ]
    )

    stored = raw(audit_dsn, "SELECT person_ref, person_ref_hashed FROM audit_record ORDER BY seq")

    assert stored[0][0].startswith("hmac-sha256:") and stored[0][1] == 1
    assert "QQ123456C" not in json.dumps(stored)
    assert stored[1] == ("C-000042", 0)
    assert stored[2][0].startswith("hmac-sha256:")
    found = find(store, AuditFilter(person=("NI_NUMBER", "QQ123456C")))
    assert [r["request_id"] for r in found] == ["req-1"]
    store.append(
        [
            disclosure(
                4,
                "COUNCIL_ID",
                "C-000077",
                person_identifiers=(("COUNCIL_ID", "C-000077"), ("NI_NUMBER", "QQ999999A")),
            )
        ]
    )
    [(resolved,)] = raw(audit_dsn, "SELECT person_identifiers FROM audit_record WHERE seq = 4")
    assert "QQ999999A" not in resolved and "C-000077" not in resolved  # resolved: hashed
    by_resolved = find(store, AuditFilter(person=("NI_NUMBER", "QQ999999A")))
    assert [r["request_id"] for r in by_resolved] == ["req-4"]
    assert len(find(store, AuditFilter(person=("COUNCIL_ID", "C-000077")))) == 1
    assert find(store, AuditFilter(person=("NI_NUMBER", "QQ99999%"))) == []
    store.close()


def _append_many(dsn: str, state_dir: str, worker: int, count: int) -> None:
    store = open_test_store(dsn, Path(state_dir), checkpoint_every=16)
    for n in range(count):
        store.append([disclosure(worker * 1000 + n), disclosure(worker * 1000 + n)])
    store.close()


def test_processes_appending_at_once_lose_and_duplicate_nothing(
    audit_dsn: str, tmp_path: Path
) -> None:
    open_test_store(audit_dsn, tmp_path).close()  # keys exist before the race
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_append_many, args=(audit_dsn, str(tmp_path), w, 40))
        for w in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0

    store = open_test_store(audit_dsn, tmp_path, checkpoint_every=16)
    report = store.verify()

    assert report.ok, report.summary()
    assert report.records == 4 * 40 * 2
    per_request = raw(
        audit_dsn, "SELECT request_id, COUNT(*) FROM audit_record GROUP BY request_id"
    )
    assert len(per_request) == 160 and {n for _, n in per_request} == {2}
    store.close()


def test_an_unreachable_store_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(AuditUnavailable):
        open_store("postgresql://postgres@127.0.0.1:1/none", tmp_path, REPO_ROOT / "policies")
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    with pytest.raises(AuditUnavailable):
        open_store(f"sqlite:///{blocked}/audit.sqlite", tmp_path, REPO_ROOT / "policies")


def test_an_unknown_dsn_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sqlite:///"):
        open_store("mysql://x", tmp_path, REPO_ROOT / "policies")


def test_a_lost_postgresql_connection_fails_one_write_then_reconnects(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    dsn = postgres.create_database("audit_reconnect")
    store = open_test_store(dsn, tmp_path)
    store.append([disclosure(1)])
    raw(
        dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = 'audit_reconnect' AND pid <> pg_backend_pid()",
    )

    with pytest.raises(AuditUnavailable):
        store.append([disclosure(2)])
    assert store.append([disclosure(3)]) == [2]
    assert store.verify().ok
    store.close()


def test_a_readiness_check_that_finds_the_connection_lost_reconnects(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """After a database restart or failover the store is ready again at once: the check
    reopens the connection it found lost (a write that finds it lost still fails)."""
    dsn = postgres.create_database("audit_check_reconnect")
    store = open_test_store(dsn, tmp_path)
    raw(
        dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = 'audit_check_reconnect' AND pid <> pg_backend_pid()",
    )

    store.check()
    assert store.append([disclosure(1)]) == [1]
    store.close()


class SilenceableProxy:
    """A TCP relay to PostgreSQL that can go silent, like a database host lost on the
    network: open relays are cut and new connections are accepted but never answered."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.silent = False
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            if self.silent:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def go_silent(self) -> None:
        self.silent = True
        for open_socket in list(self._sockets):
            open_socket.close()

    def close(self) -> None:
        self._listener.close()
        for open_socket in self._sockets:
            open_socket.close()


def test_a_database_that_stops_answering_fails_the_check_within_the_probe_budget(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """Reconnecting holds the store's lock; a silent host must not hold it for long."""
    postgres.create_database("audit_silent")
    proxy = SilenceableProxy(postgres.port)
    store = open_test_store(f"postgresql://postgres@127.0.0.1:{proxy.port}/audit_silent", tmp_path)
    try:
        store.append([disclosure(1)])
        proxy.go_silent()
        with pytest.raises(AuditUnavailable):
            store.check()  # finds the connection lost

        started = time.monotonic()
        with pytest.raises(AuditUnavailable):
            store.check()  # reconnecting to a host that never answers
        assert time.monotonic() - started < 4, "gave up within libpq's 2 s connect timeout"
    finally:
        store.close()
        proxy.close()


def test_flipping_one_byte_of_the_sqlite_file_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.sqlite"
    store = open_test_store(f"sqlite:///{path}", tmp_path)
    store.append([disclosure(n, decision_id=f"decision-marker-{n:03d}") for n in range(1, 8)])
    store.close()  # the last connection closing folds the WAL into the file
    content = bytearray(path.read_bytes())
    offset = content.index(b"decision-marker-005")
    content[offset + len("decision-marker-00")] ^= 0x01  # '5' becomes '4'
    path.write_bytes(bytes(content))

    reopened = open_test_store(f"sqlite:///{path}", tmp_path)
    report = reopened.verify()

    assert report.problem is not None and report.problem.seq == 5, report.summary()
    reopened.close()
