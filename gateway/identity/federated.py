"""Federated matching: find a person by demographics in agencies identifiers did not reach.

After the identifier rounds, each agency that offers demographic search and
has not matched is searched with the demographics the matched agencies hold.
The candidates are scored here with the Fellegi-Sunter model; one clear
candidate above the threshold becomes a match whose confidence is its match
probability (the policy withholds the agency's data below its own threshold),
and close rivals are returned only as possible matches for a person to confirm.
A demographic match never yields identifiers for further lookups: a probable
link must not turn into a certain one in a third agency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from adapters.sdk import Candidate, Demographics, Match
from gateway.identity.matching import PARAMS, MatchDecision, Scored, decide
from gateway.identity.model import MatchModel

DEFAULT_THRESHOLD = 0.9
"""Matches below this are not accepted (the policy's default ``min_confidence``)."""


@lru_cache(maxsize=1)
def default_model() -> MatchModel:
    return MatchModel.load(PARAMS)


@dataclass(frozen=True)
class FederatedMatcher:
    model: MatchModel = field(default_factory=default_model)
    threshold: float = DEFAULT_THRESHOLD

    def decide(
        self, agency: str, known: Sequence[Demographics], candidates: Sequence[Candidate]
    ) -> tuple[Match | None, tuple[Scored, ...]]:
        """The accepted match (if any) and the possible matches needing confirmation."""
        unique = list({c.local_id: c for c in candidates}.values())
        decision: MatchDecision = decide(self.model, known, unique, self.threshold)
        if decision.accepted is None:
            return None, decision.possible
        found = decision.accepted.candidate
        return (
            Match(
                agency,
                found.local_id,
                found.identifiers,
                confidence=decision.accepted.probability,
                demographics=found.demographics,
                method="demographics",
            ),
            (),
        )
