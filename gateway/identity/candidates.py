"""Candidate people for a demographic search: records scored, then grouped across agencies.

Each agency returns the records that could be the person searched for; each is
scored against the search with the Fellegi-Sunter model. Records in different
agencies that hold the same strong identifier (NHS number, NI number, ...) are
the same person and form one candidate; nothing else joins them, and the Unique
Pupil Number never does (education use only). Two records of one agency are
never joined: they are two people (or a duplicate the agency must resolve), so
each is offered separately for a person to choose between.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from adapters.sdk import Candidate, Demographics, Identifier
from gateway.identity.model import MatchModel

NEVER_JOINS = frozenset({"UPN"})


@dataclass(frozen=True)
class ScoredRecord:
    agency: str
    candidate: Candidate
    probability: float


@dataclass(frozen=True)
class CandidatePerson:
    """Records believed to be one person; its probability is its best record's."""

    records: tuple[ScoredRecord, ...]

    @property
    def probability(self) -> float:
        return max(r.probability for r in self.records)

    @property
    def best(self) -> ScoredRecord:
        return max(self.records, key=lambda r: (r.probability, r.agency))

    @property
    def agencies(self) -> tuple[str, ...]:
        return tuple(sorted({r.agency for r in self.records}))


def score(
    model: MatchModel,
    search: Demographics,
    found: Mapping[str, Sequence[Candidate]],
    floor: float,
) -> list[ScoredRecord]:
    """Every record at least ``floor`` probable, once per agency and local id."""
    scored = []
    for agency, candidates in found.items():
        for candidate in {c.local_id: c for c in candidates}.values():
            probability = model.score(search, candidate.demographics).probability
            if probability >= floor:
                scored.append(ScoredRecord(agency, candidate, probability))
    return scored


def group(records: Sequence[ScoredRecord]) -> list[CandidatePerson]:
    """Join records sharing a strong identifier, most probable first; never two of one agency."""
    ordered = sorted(records, key=lambda r: (-r.probability, r.agency, r.candidate.local_id))
    people: list[list[ScoredRecord]] = []
    held_by: dict[Identifier, int] = {}
    for record in ordered:
        strong = [i for i in record.candidate.identifiers if i.scheme not in NEVER_JOINS]
        joined = None
        for identifier in strong:
            index = held_by.get(identifier)
            if index is not None and all(r.agency != record.agency for r in people[index]):
                joined = index
                break
        if joined is None:
            joined = len(people)
            people.append([])
        people[joined].append(record)
        for identifier in strong:
            held_by.setdefault(identifier, joined)
    return sorted(
        (CandidatePerson(tuple(p)) for p in people),
        key=lambda c: (-c.probability, c.best.agency, c.best.candidate.local_id),
    )
