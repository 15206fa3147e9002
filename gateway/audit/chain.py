"""The hash chain: each row's hash covers its content and the previous row's hash.

The encoding is canonical JSON (sorted keys, no whitespace, UTF-8) of every
column except ``row_hash`` itself, so SQLite and PostgreSQL rows hash alike and
changing, inserting or deleting any row breaks the link to its successor.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical encoding of every column but ``row_hash``."""
    covered = {column: value for column, value in row.items() if column != "row_hash"}
    return hashlib.sha256(canonical_json(covered).encode()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """The first link that does not hold: at which sequence number, and why."""

    seq: int
    problem: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.problem}"


@dataclass(frozen=True)
class ChainWalk:
    """Where a walk over consecutive rows ended."""

    count: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str


def walk(rows: Iterable[Mapping[str, Any]], start_hash: str) -> ChainBreak | ChainWalk:
    """Check rows in sequence order; return the first break, else where the walk ended.

    ``start_hash`` is the hash the first row must link to: the genesis hash, or
    the hash of the checkpoint rows were pruned up to.
    """
    previous_seq: int | None = None
    previous_hash = start_hash
    first_seq: int | None = None
    count = 0
    for row in rows:
        seq = int(row["seq"])
        if previous_seq is not None and seq != previous_seq + 1:
            return ChainBreak(previous_seq + 1, f"missing (the sequence jumps to {seq})")
        if row["prev_hash"] != previous_hash:
            return ChainBreak(seq, "does not link to the record before it (prev_hash differs)")
        if row_hash(row) != row["row_hash"]:
            return ChainBreak(seq, "its content does not match its hash (altered)")
        first_seq = seq if first_seq is None else first_seq
        previous_seq, previous_hash, count = seq, str(row["row_hash"]), count + 1
    return ChainWalk(count, first_seq, previous_seq, previous_hash)
