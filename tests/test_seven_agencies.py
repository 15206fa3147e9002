"""End to end through `joinedup serve`: one query, seven agency systems, one bad agency."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import load_agencies
from simulators.launcher import SimulatorProcess, free_port
from simulators.world import WorldPaths
from tests.conftest import GatewayFactory, GatewayProcess, agencies_read, ref

AGENCIES = ("council", "benefits", "nhs", "schools", "police", "probation", "housing")

ALL_SECTIONS_QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    matches { agency status }
    council { councilId allocatedWorker childProtectionPlan cases { caseType status }
              referrals { source reason } consents { purpose given } }
    benefits { niNumber workCoach claims { type status } }
    nhs { nhsNumber registeredGp gpPractice aAndEAttendances { date reason }
          mentalHealthContacts { service } flags { category } conditions { category } }
    schools { school attendancePercent senStatus exclusions { type days } }
    police { pncId domesticAbuseIncidents { role riskLevel } missingEpisodes { hoursMissing } }
    probation { caseReference supervisionStatus practitioner licenceConditions
                riskOfSeriousHarm mappaLevel }
    housing { housingReference tenure rentArrears homelessnessApplications { duty } }
  }
}
"""


def not_label_denials(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors other than records withheld by their sensitivity labels."""
    return [
        e
        for e in body.get("errors", [])
        if "this record is labelled" not in e["extensions"].get("reason", "")
    ]


def test_one_query_returns_all_seven_sections_for_a_person_known_to_all(
    gateway: GatewayProcess, person_in_all: dict[str, Any]
) -> None:
    body = gateway.query(
        ref("NI_NUMBER", person_in_all["ni_number"]), query=ALL_SECTIONS_QUERY
    ).json()

    # Only sensitivity labels may withhold anything here (e.g. a sexual-health record
    # from a social worker), and only inside a section: every section is present.
    for error in body.get("errors", []):
        assert error["extensions"]["code"] == "FORBIDDEN", error
        assert "this record is labelled" in error["extensions"]["reason"], error
        assert len(error["path"]) > 2, error
    person = body["data"]["person"]
    assert {m["agency"]: m["status"] for m in person["matches"]} == dict.fromkeys(
        AGENCIES, "MATCHED"
    )
    records = person_in_all["records"]
    assert person["council"]["councilId"] == records["council"]
    assert person["benefits"]["niNumber"] == records["benefits"]
    assert person["nhs"]["nhsNumber"] == person_in_all["nhs_number"]
    assert person["nhs"]["registeredGp"]
    assert person["schools"]["school"] and 0 < person["schools"]["attendancePercent"] <= 100
    assert person["police"]["pncId"] == records["police"]
    assert person["police"]["domesticAbuseIncidents"]
    assert person["probation"]["caseReference"] == records["probation"]
    assert person["housing"]["housingReference"] == records["housing"]
    reads = set(agencies_read(body))
    assert reads == set(AGENCIES)


def test_people_known_to_all_cost_one_read_per_agency(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]]
) -> None:
    everyone = [p for p in ground_truth if p["known_to_all"]]
    query = """
    query($refs: [PersonReference!]!) {
      people(references: $refs) { nhs { nhsNumber } police { pncId } probation { caseReference } }
    }"""
    variables = {"refs": [{"scheme": "NI_NUMBER", "value": p["ni_number"]} for p in everyone]}

    body = gateway.query(variables, query=query).json()

    assert [p["police"]["pncId"] for p in body["data"]["people"]] == [
        p["records"]["police"] for p in everyone
    ]
    reads = agencies_read(body)
    assert sorted(reads) == ["nhs", "police", "probation"]


def test_xml_bomb_from_police_fails_only_the_police_section(
    start_gateway: GatewayFactory, world: WorldPaths, person_in_all: dict[str, Any]
) -> None:
    police = SimulatorProcess.for_agency("police", world)
    police.start()
    try:
        gateway = start_gateway({"police": police.url})
        # Lookups first (so the person is found), then every police reply is a bomb.
        httpx.put(police.url + "/_sim/faults", json={"hostile": True})
        body = gateway.query(
            ref("CASE_REFERENCE", person_in_all["records"]["probation"]),
            query=ALL_SECTIONS_QUERY,
        ).json()
    finally:
        police.stop()

    person = body["data"]["person"]
    assert person["police"] is None
    [error] = not_label_denials(body)
    assert error["extensions"] == {"code": "UPSTREAM_BAD_REPLY", "agency": "police"}
    assert error["path"] == ["person", "police"]
    statuses = {m["agency"]: m["status"] for m in person["matches"]}
    assert statuses["police"] == "UNAVAILABLE"
    for agency in set(AGENCIES) - {"police"}:
        assert person[agency] is not None, agency
    assert "lol" not in str(body)


def test_graphql_errors_from_probation_fail_only_the_probation_section(
    start_gateway: GatewayFactory, world: WorldPaths, person_in_all: dict[str, Any]
) -> None:
    probation = SimulatorProcess.for_agency("probation", world)
    probation.start()
    try:
        gateway = start_gateway({"probation": probation.url})
        warm = gateway.query(ref("NI_NUMBER", person_in_all["ni_number"])).json()
        assert "errors" not in warm
        httpx.put(probation.url + "/_sim/faults", json={"hostile": True})
        body = gateway.query(
            ref("NI_NUMBER", person_in_all["ni_number"]), query=ALL_SECTIONS_QUERY
        ).json()
    finally:
        probation.stop()

    assert body["data"]["person"]["probation"] is None
    assert body["data"]["person"]["housing"] is not None
    [error] = not_label_denials(body)
    assert error["extensions"] == {"code": "UPSTREAM_BAD_REPLY", "agency": "probation"}
    assert "locked" not in str(body), "the upstream's error message is not passed on"


def test_joinedup_serve_demo_mode_runs_seven_systems_and_its_example_query_works(
    tmp_path: Path,
) -> None:
    """`joinedup serve` with no configuration: the printed curl gets all seven sections,
    and stopping the gateway stops every simulator it started."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--state-dir",
                str(tmp_path),
                "--port",
                str(port),
                "--people",
                "150",
                "--seed",
                "5",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + 60
        while "Uvicorn running" not in log_path.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        agencies = load_agencies(tmp_path / "agencies.toml")
        assert set(agencies) == set(AGENCIES)
        curl = next(line for line in log_path.read_text().splitlines() if "curl -s" in line)
        words = shlex.split(curl)
        headers = dict(h.split(": ", 1) for h in words[words.index("-H") + 1 :: 2][:3])
        body = json.loads(words[words.index("-d") + 1])

        answer = httpx.post(words[2], json=body, headers=headers, timeout=30).json()
    finally:
        process.terminate()
        process.wait(timeout=20)

    assert "errors" not in answer, answer.get("errors")
    for agency in AGENCIES:
        assert answer["data"]["person"][agency], agency
    for settings in agencies.values():
        if settings.endpoint.startswith("http"):
            with pytest.raises(httpx.TransportError):
                httpx.get(settings.endpoint + "/health", timeout=1)


def test_timeline_merges_events_from_the_new_agencies(
    gateway: GatewayProcess, person_in_all: dict[str, Any]
) -> None:
    query = """
    query($ref: PersonReference!) {
      person(reference: $ref) { timeline { events { date agency kind } gaps { agency } } }
    }"""

    body = gateway.query(ref("NI_NUMBER", person_in_all["ni_number"]), query=query).json()

    timeline = body["data"]["person"]["timeline"]
    assert timeline["gaps"] == []
    kinds = {(e["agency"], e["kind"]) for e in timeline["events"]}
    assert {("nhs", "A&E attendance"), ("police", "domestic-abuse incident")} <= kinds
    assert {"schools", "housing", "council", "benefits"} <= {agency for agency, _ in kinds}
    dates = [e["date"] for e in timeline["events"]]
    assert dates == sorted(dates)
