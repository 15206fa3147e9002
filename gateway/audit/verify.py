"""Verification: the chain is whole, every checkpoint is genuine and matches it.

What is checked, in order, stopping at the first problem:

1. every checkpoint's signature (and the head's) is valid under the audit key;
2. the oldest record links to its anchor: the genesis hash, or the newest
   ``prune`` checkpoint if retention has cut the chain;
3. each record links to the one before, with no gap, and hashes to its stored hash;
4. each periodic checkpoint at or after the anchor names the hash its record has;
5. the signed head names the newest record, so dropping the newest records shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.audit.chain import GENESIS, ChainBreak, ChainWalk, walk
from gateway.audit.signing import Checkpoint, CheckpointSigner


@dataclass(frozen=True)
class VerifyReport:
    records: int
    first_seq: int | None
    last_seq: int | None
    checkpoints: int
    problem: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is not None:
            return f"audit chain BROKEN at {self.problem}"
        if not self.records:
            return f"audit chain intact: no records held ({self.checkpoints} checkpoints)"
        return (
            f"audit chain intact: {self.records} records ({self.first_seq}..{self.last_seq}),"
            f" {self.checkpoints} signed checkpoints"
        )


def check_chain(
    rows: Iterable[Mapping[str, Any]],
    checkpoints: list[Checkpoint],
    head: Checkpoint | None,
    signer: CheckpointSigner,
) -> VerifyReport:
    def broken(seq: int, problem: str, walked: ChainWalk | None = None) -> VerifyReport:
        return VerifyReport(
            walked.count if walked else 0,
            walked.first_seq if walked else None,
            walked.last_seq if walked else None,
            len(checkpoints),
            ChainBreak(seq, problem),
        )

    for checkpoint in checkpoints:
        if not signer.valid(checkpoint):
            return broken(
                checkpoint.seq, f"its {checkpoint.kind} checkpoint's signature is invalid"
            )
    prunes = [c for c in checkpoints if c.kind == "prune"]
    anchor_seq, anchor_hash = (prunes[-1].seq, prunes[-1].row_hash) if prunes else (0, GENESIS)

    hashes: dict[int, str] = {}
    wanted = {c.seq for c in checkpoints if c.kind == "periodic" and c.seq > anchor_seq}
    if head is not None:
        wanted.add(head.seq)

    def remember(row_iter: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
        expected = anchor_seq + 1
        for index, row in enumerate(row_iter):
            if index == 0 and int(row["seq"]) != expected:
                raise _AnchorMismatch(expected)
            if int(row["seq"]) in wanted:
                hashes[int(row["seq"])] = str(row["row_hash"])
            yield row

    try:
        result = walk(remember(rows), anchor_hash)
    except _AnchorMismatch as exc:
        return broken(
            exc.seq, "missing: the oldest record held is not the one after the last prune"
        )
    if isinstance(result, ChainBreak):
        return VerifyReport(0, None, None, len(checkpoints), result)

    for checkpoint in checkpoints:
        if checkpoint.kind == "periodic" and checkpoint.seq > anchor_seq:
            if hashes.get(checkpoint.seq) != checkpoint.row_hash:
                return broken(checkpoint.seq, "does not match its signed checkpoint", result)
    last_seq = result.last_seq if result.last_seq is not None else anchor_seq
    if head is None or head.seq == 0:
        if last_seq != 0:
            return broken(last_seq, "the chain's head is missing or unsigned", result)
    else:
        if not signer.valid(head):
            return broken(head.seq, "the chain head's signature is invalid", result)
        if head.seq != last_seq:
            return broken(
                min(head.seq, last_seq + 1),
                f"missing: the signed head names record {head.seq}, the newest held is {last_seq}",
                result,
            )
        head_hash = hashes.get(head.seq, anchor_hash if head.seq == anchor_seq else None)
        if head_hash != head.row_hash:
            return broken(head.seq, "does not match the signed head", result)
    return VerifyReport(result.count, result.first_seq, result.last_seq, len(checkpoints) + 1, None)


class _AnchorMismatch(Exception):
    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq
