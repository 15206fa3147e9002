"""A Fellegi-Sunter match model: agreement levels → match weight → probability.

For each comparison and level, ``m`` is the chance of that level among true
matches and ``u`` among non-matches; the match weight is the sum of
log2(m/u) over comparisons, and with the prior odds of a match it gives a
calibrated probability. Parameters are estimated from labelled pairs (the
demo world's ground truth) by :func:`estimate`, kept in a JSON file, and
never contain personal data.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from adapters.sdk.demographics import Demographics
from gateway.identity.comparisons import COMPARISONS, comparison_vector

MISSING = "missing"


@dataclass(frozen=True)
class MatchScore:
    probability: float
    weight: float
    levels: Mapping[str, str]


@dataclass(frozen=True)
class MatchModel:
    m: Mapping[str, Mapping[str, float]]
    u: Mapping[str, Mapping[str, float]]
    prior: float

    def score(self, query: Demographics, candidate: Demographics) -> MatchScore:
        levels = comparison_vector(query, candidate)
        weight = math.log2(self.prior / (1 - self.prior))
        for name, level in levels.items():
            if level != MISSING:
                weight += math.log2(self.m[name][level] / self.u[name][level])
        probability = 1 / (1 + 2 ** (-weight))
        return MatchScore(probability, weight, levels)

    def to_json(self) -> str:
        return json.dumps({"prior": self.prior, "m": self.m, "u": self.u}, indent=1, sort_keys=True)

    @classmethod
    def load(cls, path: Path) -> MatchModel:
        raw = json.loads(path.read_text())
        return cls(m=raw["m"], u=raw["u"], prior=float(raw["prior"]))


def estimate(
    matches: Iterable[tuple[Demographics, Demographics]],
    non_matches: Iterable[tuple[Demographics, Demographics]],
    prior: float,
) -> MatchModel:
    """m and u per level from labelled pairs, with add-one smoothing so no level is 0."""

    def frequencies(
        pairs: Iterable[tuple[Demographics, Demographics]],
    ) -> dict[str, dict[str, float]]:
        counts: dict[str, Counter[str]] = {name: Counter() for name in COMPARISONS}
        for a, b in pairs:
            for name, level in comparison_vector(a, b).items():
                counts[name][level] += 1
        result: dict[str, dict[str, float]] = {}
        for name, counter in counts.items():
            levels = LEVELS[name]
            total = sum(counter[level] for level in levels) + len(levels)
            result[name] = {level: (counter[level] + 1) / total for level in levels}
        return result

    return MatchModel(m=frequencies(matches), u=frequencies(non_matches), prior=prior)


LEVELS: dict[str, tuple[str, ...]] = {
    "given_name": ("exact", "nickname", "similar", "different"),
    "family_name": ("exact", "former", "similar", "different"),
    "date_of_birth": ("exact", "transposed", "one_digit", "same_year", "different"),
    "postcode": ("exact", "district", "different"),
}
"""Every non-missing level each comparison can give."""
