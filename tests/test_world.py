"""The demo world generator: deterministic, valid identifiers, ground truth written."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from adapters.sdk import SENSITIVITY_LABELS
from simulators.world import WorldPaths, generate_world
from simulators.world.generate import AGENCIES
from simulators.world.identifiers import (
    is_valid_case_reference,
    is_valid_housing_reference,
    is_valid_nhs_number,
    is_valid_ni_number,
    is_valid_pnc_id,
    is_valid_upn,
    nhs_check_digit,
    nhs_number,
    ni_number,
    pnc_check_character,
    pnc_id,
    upn,
    upn_check_letter,
)
from simulators.world.population import KNOWN_TO_ALL


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first = generate_world(tmp_path / "a", people=200, seed=3)
    second = generate_world(tmp_path / "b", people=200, seed=3)
    other = generate_world(tmp_path / "c", people=200, seed=4)

    for agency in AGENCIES[1:]:
        assert first.agency_json(agency).read_bytes() == second.agency_json(agency).read_bytes()
    assert first.ground_truth.read_bytes() == second.ground_truth.read_bytes()
    assert council_dump(first) == council_dump(second)
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


def council_dump(paths: WorldPaths) -> list[str]:
    db = sqlite3.connect(paths.council_db)
    try:
        return list(db.iterdump())
    finally:
        db.close()


@pytest.fixture(scope="module")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[WorldPaths, list[dict[str, Any]]]:
    paths = generate_world(tmp_path_factory.mktemp("big"), people=2000, seed=7)
    return paths, json.loads(paths.ground_truth.read_text())["people"]


def agency_data(paths: WorldPaths) -> dict[str, list[dict[str, Any]]]:
    collections = {
        "benefits": "claimants",
        "nhs": "patients",
        "schools": "pupils",
        "police": "nominals",
        "probation": "offenders",
        "housing": "tenants",
    }
    return {
        agency: json.loads(paths.agency_json(agency).read_text())[collection]
        for agency, collection in collections.items()
    }


def test_every_identifier_in_the_world_is_valid(
    big_world: tuple[WorldPaths, list[dict[str, Any]]],
) -> None:
    _, people = big_world

    def valid(key: str, check: Any) -> int:
        values = [p[key] for p in people if p[key]]
        assert all(check(v) for v in values), key
        return len(values)

    assert valid("upn", is_valid_upn) > 100
    assert valid("pnc_id", is_valid_pnc_id) > 20
    assert valid("case_reference", is_valid_case_reference) > 5
    assert valid("housing_ref", is_valid_housing_reference) > 100
    assert all(p["upn"] is None for p in people if p["date_of_birth"] > "2022-11-01")


def test_ground_truth_names_the_record_in_every_agency(
    big_world: tuple[WorldPaths, list[dict[str, Any]]],
) -> None:
    paths, people = big_world
    data = agency_data(paths)
    keys = {
        "benefits": "ni_number",
        "nhs": "id",
        "schools": "pupil_id",
        "police": "pnc_id",
        "probation": "crn",
        "housing": "housing_ref",
    }
    for agency, key in keys.items():
        held = {record[key] for record in data[agency]}
        assigned = [p["records"][agency] for p in people if agency in p["records"]]
        assert sorted(assigned) == sorted(held), agency
    db = sqlite3.connect(paths.council_db)
    council_ids = {row[0] for row in db.execute("SELECT council_id FROM person")}
    db.close()
    assert council_ids == {p["records"]["council"] for p in people if "council" in p["records"]}
    known_to_all = [p for p in people if p["known_to_all"]]
    assert len(known_to_all) == KNOWN_TO_ALL
    assert all(set(p["records"]) == set(AGENCIES) for p in known_to_all)
    counts = {a: sum(a in p["records"] for p in people) for a in AGENCIES}
    assert counts["nhs"] > 0.9 * len(people), "most people are registered with a GP"
    assert counts["probation"] < counts["police"] < 0.2 * len(people)


def test_agencies_record_people_with_identity_noise(
    big_world: tuple[WorldPaths, list[dict[str, Any]]],
) -> None:
    paths, people = big_world
    by_nhs_record = {p["records"]["nhs"]: p for p in people if "nhs" in p["records"]}
    patients = agency_data(paths)["nhs"]
    police = agency_data(paths)["police"]
    by_pnc = {p["pnc_id"]: p for p in people if p["pnc_id"]}

    renamed = [r for r in patients if r["given"] != by_nhs_record[r["id"]]["given_name"]]
    transposed = [
        r
        for r in patients
        if r["birth_date"] != by_nhs_record[r["id"]]["date_of_birth"]
        and r["birth_date"][5:7] == by_nhs_record[r["id"]]["date_of_birth"][8:10]
    ]
    former = [
        r
        for r in police
        if by_pnc[r["pnc_id"]]["former_family_name"]
        and r["family_name"] == by_pnc[r["pnc_id"]]["former_family_name"]
    ]
    moved = [r for r in patients if by_nhs_record[r["id"]]["previous_postcode"] == r["postcode"]]
    assert renamed and transposed and former and moved
    assert len(renamed) < 0.2 * len(patients), "noise, not chaos"
    police_without_ni = [r for r in police if r["ni_number"] is None]
    assert police_without_ni, "identifiers are sometimes never captured"


def test_children_have_no_ni_number_anywhere_and_upn_stays_in_schools(
    big_world: tuple[WorldPaths, list[dict[str, Any]]],
) -> None:
    paths, people = big_world
    under_16 = [p for p in people if p["date_of_birth"] > "2010-11-01"]
    assert under_16 and all(p["ni_number"] is None for p in under_16)
    for agency in ("benefits", "nhs", "police", "probation", "housing"):
        text = paths.agency_json(agency).read_text()
        assert not any(p["upn"] and p["upn"] in text for p in people), agency


def test_sensitivity_labels_come_from_the_vocabulary_and_all_occur(
    big_world: tuple[WorldPaths, list[dict[str, Any]]],
) -> None:
    paths, _ = big_world
    data = agency_data(paths)
    nhs = json.loads(paths.agency_json("nhs").read_text())
    labels = [label for records in data.values() for r in records for label in r.get("labels", [])]
    labels += [
        label for kind in ("flags", "conditions") for r in nhs[kind] for label in r["labels"]
    ]
    db = sqlite3.connect(paths.council_db)
    for (stored,) in db.execute(
        "SELECT labels FROM person UNION ALL SELECT labels FROM social_case"
    ):
        labels += [label for label in stored.split(",") if label]
    db.close()

    assert set(labels) == set(SENSITIVITY_LABELS)


def test_upn_check_letter_and_pnc_check_character() -> None:
    rng = random.Random(2)
    values = [upn(rng, 886, 2015) for _ in range(300)]
    assert all(is_valid_upn(v) for v in values)
    assert all(v[0] not in "IOS" for v in values)
    body = "886123415001"
    assert (
        upn_check_letter(body)
        == "ABCDEFGHJKLMNPQRTUVWXYZ"[
            sum(int(d) * w for d, w in zip(body, range(2, 14), strict=True)) % 23
        ]
    )
    assert not is_valid_upn(("B" if values[0][0] == "A" else "A") + values[0][1:])
    assert all(is_valid_pnc_id(pnc_id(rng, 2019)) for _ in range(300))
    assert pnc_check_character(2019, 1234567) == "ZABCDEFGHJKLMNPQRTUVWXY"[191234567 % 23]
    assert not is_valid_pnc_id("2019/1234567A")
