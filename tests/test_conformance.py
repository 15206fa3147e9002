"""The conformance kit on all seven demo adapters, each against its session simulator
(the council against a copy of its database file, which the kit may move away)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.sdk import Adapter, Identifier
from adapters.sdk.conformance import (
    AdapterConformance,
    ConformanceTarget,
    DatabaseFileFaults,
    SimulatorFaults,
    count_sqlite_statements,
)
from gateway.adapters import adapter_class
from simulators.launcher import DemoWorld
from simulators.world import WorldPaths

AGENCIES = ("council", "benefits", "nhs", "schools", "police", "probation", "housing")

KNOWN_BY = {
    # agency: (scheme, where the ground truth holds the value: a person key or records[agency])
    "council": ("COUNCIL_ID", "records"),
    "benefits": ("NI_NUMBER", "ni_number"),
    "nhs": ("NHS_NUMBER", "nhs_number"),
    "schools": ("NHS_NUMBER", "nhs_number"),
    "police": ("PNC_ID", "records"),
    "probation": ("CASE_REFERENCE", "records"),
    "housing": ("HOUSING_REF", "records"),
}

LABELLED_IN = {
    # agency: (collection, record key, scheme)
    "housing": ("tenants", "housing_ref", "HOUSING_REF"),
    "police": ("nominals", "pnc_id", "PNC_ID"),
    "probation": ("offenders", "crn", "CASE_REFERENCE"),
    "schools": ("pupils", "nhs_number", "NHS_NUMBER"),
}


def known_people(agency: str, ground_truth: list[dict[str, Any]]) -> tuple[tuple[Identifier], ...]:
    scheme, source = KNOWN_BY[agency]
    everyone = [p for p in ground_truth if p["known_to_all"]][:3]
    return tuple(
        (Identifier(scheme, p["records"][agency] if source == "records" else p[source]),)
        for p in everyone
    )


def labelled_person(agency: str, world: WorldPaths) -> tuple[Identifier] | None:
    """Someone whose record in ``agency`` carries a sensitivity label, from its data."""
    if agency == "council":
        db = sqlite3.connect(world.council_db)
        try:
            row = db.execute("SELECT council_id FROM person WHERE labels != '' LIMIT 1").fetchone()
        finally:
            db.close()
        return (Identifier("COUNCIL_ID", row[0]),)
    data = json.loads(world.agency_json(agency).read_text()) if agency != "benefits" else {}
    if agency == "nhs":
        flagged = {f["patient"] for f in data["flags"] if f["labels"]}
        patient = next(p for p in data["patients"] if p["id"] in flagged and p["nhs_number"])
        return (Identifier("NHS_NUMBER", patient["nhs_number"]),)
    if agency not in LABELLED_IN:
        return None  # benefits records carry no sensitivity labels
    collection, key, scheme = LABELLED_IN[agency]
    record = next(r for r in data[collection] if r["labels"] and r.get(key))
    return (Identifier(scheme, record[key]),)


@pytest.fixture(scope="module")
def council_copy(world: WorldPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private copy of the council database: the kit's faults move it away."""
    copy = tmp_path_factory.mktemp("council-conformance") / "council.sqlite"
    shutil.copy(world.council_db, copy)
    yield copy


@pytest.fixture(params=AGENCIES)
def conformance_target(
    request: pytest.FixtureRequest,
    demo_world: DemoWorld,
    ground_truth: list[dict[str, Any]],
    council_copy: Path,
) -> ConformanceTarget:
    agency: str = request.param
    factory = adapter_class(agency)
    known = known_people(agency, ground_truth)
    labelled = labelled_person(agency, demo_world.paths)
    if agency == "council":

        def make_council(timeout_s: float) -> Adapter:
            return factory(str(council_copy), timeout_s=timeout_s)

        return ConformanceTarget(
            make_adapter=make_council,
            known=known,
            faults=DatabaseFileFaults(council_copy),
            count_calls=count_sqlite_statements,
            labelled=labelled,
        )
    url = demo_world.systems[agency].url

    def make(timeout_s: float) -> Adapter:
        return factory(url, timeout_s=timeout_s)

    return ConformanceTarget(
        make_adapter=make, known=known, faults=SimulatorFaults(url), labelled=labelled
    )


class TestDemoAdaptersConform(AdapterConformance):
    """Every check of the kit, for each of the seven demo adapters."""
