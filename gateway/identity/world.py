"""A generated demo world read as the identity matcher sees it, plus its ground truth.

Evaluation tooling only: the gateway itself never reads agency files or
``ground_truth.json``. Each agency record becomes its local id, the
identifiers the agency's adapter would report (never the UPN, which is for
education use only) and the demographics it holds, exactly as stored.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.sdk import Identifier
from adapters.sdk.demographics import Demographics
from simulators.world.generate import WorldPaths


@dataclass(frozen=True)
class AgencyRecord:
    agency: str
    local_id: str
    identifiers: tuple[Identifier, ...]
    demographics: Demographics
    missing_identifier: bool
    """The agency never captured an identifier it normally holds (e.g. NI number)."""


@dataclass(frozen=True)
class TruePerson:
    person_id: str
    demographics: Demographics
    previous_postcode: str | None


@dataclass(frozen=True)
class LoadedWorld:
    records: Mapping[str, Mapping[str, AgencyRecord]]
    """agency → local id → record."""
    owner: Mapping[tuple[str, str], str]
    """(agency, local id) → person id, from the ground truth."""
    people: Mapping[str, TruePerson]
    held: Mapping[str, Mapping[str, str]]
    """person id → agency → local id."""


def _ids(*pairs: tuple[str, Any]) -> tuple[Identifier, ...]:
    return tuple(Identifier(scheme, str(value)) for scheme, value in pairs if value)


def _split(name: str) -> tuple[str, str]:
    given, _, family = name.partition(" ")
    return given, family


def _council(paths: WorldPaths) -> Iterator[AgencyRecord]:
    db = sqlite3.connect(paths.council_db)
    rows = db.execute(
        "SELECT council_id, given_name, family_name, date_of_birth, postcode,"
        " ni_number, nhs_number FROM person"
    ).fetchall()
    db.close()
    for cid, given, family, dob, postcode, ni, nhs in rows:
        yield AgencyRecord(
            "council",
            cid,
            _ids(("COUNCIL_ID", cid), ("NI_NUMBER", ni), ("NHS_NUMBER", nhs)),
            Demographics(given, family, dob, postcode),
            ni is None or nhs is None,
        )


def _json_records(paths: WorldPaths) -> Iterator[AgencyRecord]:
    def load(agency: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(paths.agency_json(agency).read_text())
        return data

    for c in load("benefits")["claimants"]:
        given, family = _split(c["name"])
        yield AgencyRecord(
            "benefits",
            c["ni_number"],
            _ids(("NI_NUMBER", c["ni_number"])),
            Demographics(given, family, c["date_of_birth"], c["postcode"]),
            False,
        )
    for p in load("nhs")["patients"]:
        yield AgencyRecord(
            "nhs",
            p["id"],
            _ids(("NHS_NUMBER", p["nhs_number"])),
            Demographics(p["given"], p["family"], p["birth_date"], p["postcode"]),
            False,
        )
    for p in load("schools")["pupils"]:
        yield AgencyRecord(
            "schools",
            p["pupil_id"],
            _ids(("NHS_NUMBER", p["nhs_number"])),  # never the UPN
            Demographics(p["given_name"], p["family_name"], p["date_of_birth"], p["postcode"]),
            p["nhs_number"] is None,
        )
    for n in load("police")["nominals"]:
        yield AgencyRecord(
            "police",
            n["pnc_id"],
            _ids(("PNC_ID", n["pnc_id"]), ("NI_NUMBER", n["ni_number"])),
            Demographics(n["given_name"], n["family_name"], n["date_of_birth"], n["postcode"]),
            n["ni_number"] is None,
        )
    for o in load("probation")["offenders"]:
        yield AgencyRecord(
            "probation",
            o["crn"],
            _ids(
                ("CASE_REFERENCE", o["crn"]), ("PNC_ID", o["pnc_id"]), ("NI_NUMBER", o["ni_number"])
            ),
            Demographics(o["given_name"], o["family_name"], o["date_of_birth"], None),
            o["ni_number"] is None,
        )
    for t in load("housing")["tenants"]:
        given, family = _split(t["name"])
        yield AgencyRecord(
            "housing",
            t["housing_ref"],
            _ids(("HOUSING_REF", t["housing_ref"]), ("NI_NUMBER", t["ni_number"])),
            Demographics(given, family, t["date_of_birth"], t["postcode"]),
            t["ni_number"] is None,
        )


def load_world(root: Path) -> LoadedWorld:
    paths = WorldPaths(root)
    records: dict[str, dict[str, AgencyRecord]] = {}
    for record in (*_council(paths), *_json_records(paths)):
        records.setdefault(record.agency, {})[record.local_id] = record
    truth = json.loads(paths.ground_truth.read_text())
    owner: dict[tuple[str, str], str] = {}
    people: dict[str, TruePerson] = {}
    held: dict[str, dict[str, str]] = {}
    for p in truth["people"]:
        former = (p["former_family_name"],) if p["former_family_name"] else ()
        people[p["person_id"]] = TruePerson(
            p["person_id"],
            Demographics(
                p["given_name"], p["family_name"], p["date_of_birth"], p["postcode"], former
            ),
            p["previous_postcode"],
        )
        held[p["person_id"]] = dict(p["records"])
        for agency, local_id in p["records"].items():
            owner[(agency, local_id)] = p["person_id"]
    return LoadedWorld(records, owner, people, held)
