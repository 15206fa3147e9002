"""The audit store: append records to the hash chain; read them back for review.

One store holds one database connection, used by one thread at a time. Appends
from every process are serialised by the database's own lock (see the
backends), so each append reads the head it extends and no two records share
a sequence number.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.audit.backend import LOCK_WAIT_S, Backend, WriterBusy
from gateway.audit.chain import canonical_json, row_hash
from gateway.audit.identifiers import IdentifierPolicy, StoredIdentifier
from gateway.audit.record import COLUMNS, AuditRecord, StoredRow
from gateway.audit.signing import Checkpoint, CheckpointKind, CheckpointSigner
from gateway.audit.verify import VerifyReport, check_chain

DEFAULT_CHECKPOINT_EVERY = 1000
FIRST_LOCK_PAUSE_S = 0.0005
LONGEST_LOCK_PAUSE_S = 0.005
"""An append on the event loop that finds the lock held tries again after a pause
that doubles from the first to the longest: SQLite's own busy handler sleeps up to
100 ms between tries, so a lock held for one millisecond cost a request tens."""
_INSERT = (
    f"INSERT INTO audit_record ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
_INDEX_IDENTIFIER = "INSERT INTO audit_identifier (identifier, seq) VALUES (?, ?)"
_CHECKPOINT_COLUMNS = "kind, seq, row_hash, signed_at, key_id, signature"


class AuditUnavailable(Exception):
    """The audit store could not durably record a disclosure (so nothing may be disclosed)."""


def timestamp(moment: datetime | None = None) -> str:
    """The one text form of a time in the audit: UTC, microseconds, so text order is time order."""
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class PruneResult:
    pruned: int
    through_seq: int | None
    held_for_review: bool


class AuditStore:
    def __init__(
        self,
        backend: Backend,
        signer: CheckpointSigner,
        identifiers: IdentifierPolicy,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ) -> None:
        self.backend = backend
        self.signer = signer
        self.identifiers = identifiers
        self.checkpoint_every = checkpoint_every
        self._lock = threading.Lock()
        try:
            with self._lock:
                backend.create_schema()
            self._index_unindexed_records()
        except backend.errors as exc:
            raise AuditUnavailable(f"audit store cannot be opened: {exc}") from exc

    # -- writing ---------------------------------------------------------------------------

    async def record(self, records: Iterable[AuditRecord]) -> None:
        """Durably append ``records`` (one transaction) or raise :class:`AuditUnavailable`.

        A database server's appends run in a worker thread, where they may wait for the
        network and the lock. A local database (SQLite) is written on the event loop:
        ~0.5 ms of CPU and one fsync. In a thread, under load, the append waited for
        the interpreter lock after every SQLite call, and a writer that found the lock
        held slept in SQLite's busy handler for up to 100 ms between tries
        (``bench/README.md``, eleventh pass).
        """
        batch = list(records)
        if not batch:
            return
        if not self.backend.local:
            await asyncio.to_thread(self.append, batch)
            return
        give_up_at = time.monotonic() + LOCK_WAIT_S
        pause = FIRST_LOCK_PAUSE_S
        while True:
            try:
                self.append(batch, wait=False)
                return
            except WriterBusy:
                if time.monotonic() > give_up_at:
                    raise AuditUnavailable(
                        "audit store write failed: another writer held the lock"
                    ) from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_LOCK_PAUSE_S)

    def check(self) -> None:
        """Raise :class:`AuditUnavailable` unless a write could be taken now (readiness).

        Takes the chain lock as a write would, reads the head and writes nothing. A
        connection this finds lost is reopened for one more try: readiness is whether
        the store can take writes now, not whether an old connection still worked.
        """
        for attempt in (1, 2):
            lost_before = self.backend.connection_lost
            try:
                with self._lock, self.backend.chain_lock():
                    self.backend.execute("SELECT seq FROM audit_head WHERE id = 1")
                return
            except self.backend.errors as exc:
                found_lost = not lost_before and self.backend.connection_lost
                if attempt == 2 or not found_lost:
                    raise AuditUnavailable(
                        f"audit store not writable: {type(exc).__name__}"
                    ) from exc

    def append(self, records: list[AuditRecord], wait: bool = True) -> list[int]:
        """Append ``records`` in one transaction; their sequence numbers.

        ``wait=False``: raise :class:`WriterBusy` instead of waiting for another writer
        (a thread of this store or another process).
        """
        if not self._lock.acquire(blocking=wait):
            raise WriterBusy
        try:
            with self.backend.chain_lock(wait):
                head = self.backend.execute("SELECT seq, row_hash FROM audit_head WHERE id = 1")[0]
                seq, previous = int(head["seq"]), str(head["row_hash"])
                now = timestamp()
                rows = []
                encodings = _Encodings(self.identifiers)
                for record in records:
                    seq += 1
                    row = _row(record, seq, now, previous, encodings)
                    previous = row["row_hash"]
                    rows.append(row)
                self.backend.execute_many(_INSERT, [[r[c] for c in COLUMNS] for r in rows])
                self._index(rows)
                self._sign_head(seq, previous, now)
                first = rows[0]["seq"]
                for boundary in range(first, seq + 1):
                    if boundary % self.checkpoint_every == 0:
                        crossing = rows[boundary - first]
                        self._write_checkpoint("periodic", boundary, crossing["row_hash"], now)
                return [r["seq"] for r in rows]
        except self.backend.errors as exc:
            raise AuditUnavailable(f"audit store write failed: {type(exc).__name__}") from exc
        finally:
            self._lock.release()

    def _index(self, rows: Iterable[StoredRow]) -> None:
        pairs = [
            (identifier, row["seq"])
            for row in rows
            for identifier in json.loads(row["person_identifiers"])
        ]
        if pairs:
            self.backend.execute_many(_INDEX_IDENTIFIER, pairs)

    def _index_unindexed_records(self) -> None:
        """Index the records of a store written before the identifier index existed."""
        with self._lock, self.backend.chain_lock():
            if self.backend.execute("SELECT seq FROM audit_identifier LIMIT 1"):
                return
            self._index(
                self.backend.execute(
                    "SELECT seq, person_identifiers FROM audit_record"
                    " WHERE person_identifiers <> '[]'"
                )
            )

    def _sign_head(self, seq: int, hash_: str, now: str) -> None:
        head = self.signer.sign("head", seq, hash_, now)
        self.backend.execute(
            "UPDATE audit_head SET seq = ?, row_hash = ?, signed_at = ?, key_id = ?,"
            " signature = ? WHERE id = 1",
            (head.seq, head.row_hash, head.signed_at, head.key_id, head.signature),
        )

    def _write_checkpoint(self, kind: CheckpointKind, seq: int, hash_: str, now: str) -> None:
        checkpoint = self.signer.sign(kind, seq, hash_, now)
        self.backend.execute(
            f"INSERT INTO audit_checkpoint ({_CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, seq, hash_, now, checkpoint.key_id, checkpoint.signature),
        )

    # -- retention -------------------------------------------------------------------------

    def prune(self, older_than: datetime) -> PruneResult:
        """Delete the oldest records written before ``older_than``, after a signed checkpoint.

        Only a prefix of the chain is removed (the records before the first one
        at or after the cut-off), so what remains still verifies from the
        checkpoint. Break-glass accesses still awaiting review are kept, with
        everything after them.
        """
        cutoff = timestamp(older_than)
        with self._lock, self.backend.chain_lock():
            keep_from = self.backend.execute(
                "SELECT MIN(seq) AS seq FROM audit_record WHERE recorded_at >= ?", (cutoff,)
            )[0]["seq"]
            unreviewed = self.backend.execute(
                f"SELECT MIN(seq) AS seq FROM audit_record WHERE {self.unreviewed_break_glass}"
            )[0]["seq"]
            head = self.backend.execute("SELECT seq FROM audit_head WHERE id = 1")[0]["seq"]
            limits = [int(s) - 1 for s in (keep_from, unreviewed) if s is not None]
            through = min([int(head), *limits])
            held = unreviewed is not None and through == int(unreviewed) - 1
            last = self.backend.execute(
                "SELECT seq, row_hash FROM audit_record WHERE seq = ?", (through,)
            )
            if not last:
                return PruneResult(0, None, held)
            self._write_checkpoint("prune", through, str(last[0]["row_hash"]), timestamp())
            count = self.backend.execute(
                "SELECT COUNT(*) AS n FROM audit_record WHERE seq <= ?", (through,)
            )[0]["n"]
            self.backend.execute("DELETE FROM audit_record WHERE seq <= ?", (through,))
            self.backend.execute("DELETE FROM audit_identifier WHERE seq <= ?", (through,))
            return PruneResult(int(count), through, held)

    # -- reading ---------------------------------------------------------------------------

    # A break-glass disclosure no review record refers to yet (an SQL condition).
    unreviewed_break_glass = (
        "event = 'disclosure' AND break_glass_reason IS NOT NULL AND request_id NOT IN"
        " (SELECT subject_request_id FROM audit_record WHERE event = 'review'"
        " AND subject_request_id IS NOT NULL)"
    )

    def select(
        self, where: str = "", params: tuple[Any, ...] = (), limit: int | None = None
    ) -> list[StoredRow]:
        sql = "SELECT * FROM audit_record" + (f" WHERE {where}" if where else "") + " ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            return self.backend.execute(sql, params)

    def verify(self) -> VerifyReport:
        """Check the whole chain, its checkpoints and head in one consistent snapshot."""
        with self._lock, self.backend.read():
            checkpoints = [
                _checkpoint(row)
                for row in self.backend.execute(
                    f"SELECT {_CHECKPOINT_COLUMNS} FROM audit_checkpoint ORDER BY seq, kind"
                )
            ]
            head = self.backend.execute(
                f"SELECT 'head' AS kind, {_CHECKPOINT_COLUMNS.removeprefix('kind, ')}"
                " FROM audit_head WHERE id = 1"
            )
            rows = self.backend.stream("SELECT * FROM audit_record ORDER BY seq")
            try:
                return check_chain(
                    rows, checkpoints, _checkpoint(head[0]) if head else None, self.signer
                )
            finally:
                rows.close()  # a walk stopped at a break leaves the cursor open otherwise

    def close(self) -> None:
        with self._lock:
            self.backend.close()


def _checkpoint(row: StoredRow) -> Checkpoint:
    return Checkpoint(
        kind=row["kind"],
        seq=int(row["seq"]),
        row_hash=str(row["row_hash"]),
        signed_at=str(row["signed_at"]),
        key_id=str(row["key_id"]),
        signature=str(row["signature"]),
    )


class _Encodings:
    """The stored forms of one append's values, each distinct value worked out once.

    A request's records share the caller and, per person, the identifiers (one record
    per agency), so a caseload of 100 people in three agencies would otherwise hash
    each identifier three times. Kept for one append only, never between requests.
    """

    def __init__(self, identifiers: IdentifierPolicy) -> None:
        self._identifiers = identifiers
        self._people: dict[tuple[str, str], StoredIdentifier] = {}
        self._resolved: dict[tuple[tuple[str, str], ...], str] = {}
        self._lists: dict[tuple[str, ...], str] = {}

    def person(self, scheme: str, value: str) -> StoredIdentifier:
        stored = self._people.get((scheme, value))
        if stored is None:
            stored = self._people[scheme, value] = self._identifiers.stored(scheme, value)
        return stored

    def resolved(self, identifiers: tuple[tuple[str, str], ...]) -> str:
        encoded = self._resolved.get(identifiers)
        if encoded is None:
            hashed = {self._identifiers.resolved(scheme, value) for scheme, value in identifiers}
            encoded = self._resolved[identifiers] = canonical_json(sorted(hashed))
        return encoded

    def sorted_list(self, values: tuple[str, ...]) -> str:
        encoded = self._lists.get(values)
        if encoded is None:
            encoded = self._lists[values] = canonical_json(sorted(values))
        return encoded


def _row(
    record: AuditRecord, seq: int, now: str, previous: str, encodings: _Encodings
) -> StoredRow:
    person = (
        encodings.person(record.person_scheme, record.person_value)
        if record.person_scheme is not None and record.person_value is not None
        else None
    )
    row: StoredRow = {
        "seq": seq,
        "recorded_at": now,
        "event": record.event,
        "request_id": record.request_id,
        "user_id": record.user,
        "org": record.org,
        "roles": canonical_json(list(record.roles)),
        "team": record.team,
        "purpose": record.purpose,
        "lawful_basis": record.lawful_basis,
        "person_scheme": person.scheme if person else None,
        "person_ref": person.ref if person else None,
        "person_ref_hashed": int(person.hashed) if person else 0,
        "person_identifiers": encodings.resolved(record.person_identifiers),
        "agency": record.agency,
        "disclosed": encodings.sorted_list(record.disclosed),
        "masked": encodings.sorted_list(record.masked),
        "withheld": canonical_json(dict(record.withheld)),
        "policy_revision": record.policy_revision,
        "decision_id": record.decision_id,
        "break_glass_reason": record.break_glass_reason,
        "obligations": canonical_json(dict(record.obligations)),
        "subject_request_id": record.subject_request_id,
        "review_outcome": record.review_outcome,
        "review_note": record.review_note,
        "prev_hash": previous,
    }
    row["row_hash"] = row_hash(row)
    return row
