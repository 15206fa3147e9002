"""The demo world generator: deterministic, valid identifiers, ground truth written."""

from __future__ import annotations

import json
import random
from pathlib import Path

from simulators.world import generate_world
from simulators.world.identifiers import (
    is_valid_nhs_number,
    is_valid_ni_number,
    nhs_check_digit,
    nhs_number,
    ni_number,
)


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first = generate_world(tmp_path / "a", people=200, seed=3)
    second = generate_world(tmp_path / "b", people=200, seed=3)
    other = generate_world(tmp_path / "c", people=200, seed=4)

    assert first.benefits_json.read_bytes() == second.benefits_json.read_bytes()
    assert first.ground_truth.read_bytes() == second.ground_truth.read_bytes()
    assert first.ground_truth.read_bytes() != other.ground_truth.read_bytes()


def test_ground_truth_identifiers_are_valid_and_children_have_no_ni_number(
    tmp_path: Path,
) -> None:
    paths = generate_world(tmp_path, people=300, seed=5)
    people = json.loads(paths.ground_truth.read_text())["people"]

    assert len(people) == 300
    assert all(is_valid_nhs_number(p["nhs_number"]) for p in people)
    adults = [p for p in people if p["date_of_birth"] <= "2010-11-01"]
    children = [p for p in people if p["date_of_birth"] > "2010-11-01"]
    assert adults and children
    assert all(p["ni_number"] is None for p in children)
    assert all(is_valid_ni_number(p["ni_number"]) for p in adults)


def test_nhs_check_digit_matches_the_published_example() -> None:
    # NHS Digital's worked example: 943 476 5919 is valid.
    assert nhs_check_digit("943476591") == 9
    assert is_valid_nhs_number("943 476 5919")
    assert not is_valid_nhs_number("9434765918")


def test_generated_identifiers_are_valid() -> None:
    rng = random.Random(1)
    assert all(is_valid_nhs_number(nhs_number(rng)) for _ in range(500))
    assert all(is_valid_ni_number(ni_number(rng)) for _ in range(500))
    assert not is_valid_ni_number("QQ123456C")  # Q is never a first letter
    assert not is_valid_ni_number("GB123456A")  # never-issued prefix
