"""Decide which of an agency's candidate records, if any, is the person.

The person is known by the demographics each already-matched agency holds.
Each candidate gets the best match probability against any of them. One
candidate above the threshold, clearly ahead of the rest, is accepted; two or
more close to each other are ambiguous and only offered as possible matches
for a person to confirm: a wrong match would disclose someone else's records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from adapters.sdk.demographics import Candidate, Demographics
from gateway.identity.model import MatchModel

PARAMS = Path(__file__).with_name("params.json")
"""Model parameters estimated by ``joinedup identity train`` (no personal data)."""

POSSIBLE_FLOOR = 0.5
"""Candidates at least this probable, but not accepted, are offered as possible matches."""


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    probability: float


@dataclass(frozen=True)
class MatchDecision:
    accepted: Scored | None
    possible: tuple[Scored, ...] = field(default=())


def load_model(path: Path = PARAMS) -> MatchModel:
    return MatchModel.load(path)


def decide(
    model: MatchModel,
    known: Sequence[Demographics],
    candidates: Sequence[Candidate],
    threshold: float,
) -> MatchDecision:
    """Accept the single best candidate above ``threshold`` unless a rival is also plausible."""
    scored = sorted(
        (
            Scored(c, max(model.score(k, c.demographics).probability for k in known))
            for c in candidates
        ),
        key=lambda s: -s.probability,
    )
    plausible = tuple(s for s in scored if s.probability >= POSSIBLE_FLOOR)
    if not plausible:
        return MatchDecision(None)
    best = plausible[0]
    if best.probability >= threshold and len(plausible) == 1:
        return MatchDecision(best)
    return MatchDecision(None, plausible)
