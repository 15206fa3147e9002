"""Generate the demo world: households of people, and what each agency holds.

The same seed always gives byte-identical files, so tests and benchmarks can
name people by identifier. ``ground_truth.json`` records the true identity of
every person and which record in each agency is theirs; the gateway never reads it.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from simulators.world import records
from simulators.world.population import households

AGENCIES = ("council", "benefits", "nhs", "schools", "police", "probation", "housing")


@dataclass(frozen=True)
class WorldPaths:
    """Where a generated world lives on disk: one file per agency system."""

    root: Path

    @property
    def council_db(self) -> Path:
        return self.root / "council.sqlite"

    def agency_json(self, agency: str) -> Path:
        return self.root / f"{agency}.json"

    @property
    def benefits_json(self) -> Path:
        return self.agency_json("benefits")

    @property
    def ground_truth(self) -> Path:
        return self.root / "ground_truth.json"


def generate_world(root: Path, people: int = 2000, seed: int = 7) -> WorldPaths:
    """Write a fresh world under ``root`` and return where its files are."""
    rng = random.Random(seed)
    paths = WorldPaths(root)
    root.mkdir(parents=True, exist_ok=True)
    world = households(rng, people)
    records.write_council(rng, world, paths.council_db)
    for agency, build in records.JSON_AGENCIES.items():
        data = build(rng, world)
        paths.agency_json(agency).write_text(json.dumps(data, indent=1, sort_keys=True))
    paths.ground_truth.write_text(
        json.dumps(
            {"seed": seed, "agencies": AGENCIES, "people": [asdict(p) for p in world.people]},
            indent=1,
        )
    )
    return paths
