"""The walking skeleton end to end: one query, two agencies, partial results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths
from tests.conftest import GatewayFactory, GatewayProcess, agencies_read, ref, start_benefits


def test_query_returns_both_agencies_sections(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    response = gateway.query(ref("NI_NUMBER", person_in_both["ni_number"]))

    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    person = body["data"]["person"]
    full_name = f"{person_in_both['given_name']} {person_in_both['family_name']}"
    assert person["council"]["councilId"] == person_in_both["council_id"]
    assert person["council"]["name"] == full_name
    assert person["benefits"]["niNumber"] == person_in_both["ni_number"]
    assert person["benefits"]["claims"], "every claimant has at least one claim"
    statuses = {m["agency"]: m["status"] for m in person["matches"]}
    assert statuses["council"] == statuses["benefits"] == "MATCHED"
    assert set(statuses) == {
        "council",
        "benefits",
        "nhs",
        "schools",
        "police",
        "probation",
        "housing",
    }


def test_lookup_by_council_id_finds_benefits_through_the_linked_ni_number(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    body = gateway.query(ref("COUNCIL_ID", person_in_both["council_id"])).json()

    assert body["data"]["person"]["benefits"]["niNumber"] == person_in_both["ni_number"]


@pytest.fixture
def slow_benefits(benefits: SimulatorProcess) -> Iterator[SimulatorProcess]:
    httpx.put(benefits.url + "/_sim/faults", json={"latency_ms": 300})
    yield benefits
    httpx.put(benefits.url + "/_sim/faults", json={"latency_ms": 0})


def test_agency_reads_run_concurrently(
    gateway: GatewayProcess, slow_benefits: SimulatorProcess, person_in_both: dict[str, Any]
) -> None:
    body = gateway.query(ref("NI_NUMBER", person_in_both["ni_number"])).json()

    reads = {
        c["agency"]: c
        for c in body["extensions"]["joinedup"]["upstream"]
        if c["operation"] in ("read", "lookup_read")
    }
    council, benefits = reads["council"], reads["benefits"]
    assert benefits["ms"] >= 300
    # Overlapping intervals: each read started before the other one finished.
    assert council["startedMs"] < benefits["startedMs"] + benefits["ms"]
    assert benefits["startedMs"] < council["startedMs"] + council["ms"]


def test_an_agency_is_asked_as_soon_as_an_answer_gives_it_an_identifier(
    gateway: GatewayProcess, slow_benefits: SimulatorProcess, person_in_all: dict[str, Any]
) -> None:
    """NHS is looked up by the NHS number the council holds while benefits still answers."""
    body = gateway.query(ref("NI_NUMBER", person_in_all["ni_number"])).json()

    lookups = {
        c["agency"]: c
        for c in body["extensions"]["joinedup"]["upstream"]
        if c["operation"] in ("lookup", "lookup_read")
    }
    council, benefits, nhs = lookups["council"], lookups["benefits"], lookups["nhs"]
    assert benefits["ms"] >= 300
    assert nhs["startedMs"] >= council["startedMs"] + council["ms"]  # learnt from the council
    assert nhs["startedMs"] < benefits["startedMs"] + benefits["ms"]
    statuses = {m["agency"]: m["status"] for m in body["data"]["person"]["matches"]}
    assert statuses["nhs"] == statuses["benefits"] == "MATCHED"


def test_stopped_benefits_system_gives_council_section_and_an_error(
    start_gateway: GatewayFactory, world: WorldPaths, person_in_both: dict[str, Any]
) -> None:
    own_benefits = start_benefits(world)
    gateway = start_gateway({"benefits": own_benefits.url})
    assert (
        gateway.query(ref("COUNCIL_ID", person_in_both["council_id"])).json()["data"]["person"][
            "benefits"
        ]
        is not None
    )

    own_benefits.stop()
    response = gateway.query(ref("COUNCIL_ID", person_in_both["council_id"]))

    assert response.status_code == 200
    body = response.json()
    assert body["data"]["person"]["council"]["councilId"] == person_in_both["council_id"]
    assert body["data"]["person"]["benefits"] is None
    [error] = body["errors"]
    assert error["path"] == ["person", "benefits"]
    assert error["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "agency": "benefits"}
    statuses = {m["agency"]: m["status"] for m in body["data"]["person"]["matches"]}
    assert (statuses["council"], statuses["benefits"]) == ("MATCHED", "UNAVAILABLE")


def test_benefits_slower_than_its_timeout_gives_upstream_timeout(
    start_gateway: GatewayFactory, world: WorldPaths, person_in_both: dict[str, Any]
) -> None:
    own_benefits = start_benefits(world)
    try:
        gateway = start_gateway({"benefits": own_benefits.url}, agency_timeout=0.3)
        httpx.put(own_benefits.url + "/_sim/faults", json={"latency_ms": 1500})

        body = gateway.query(ref("COUNCIL_ID", person_in_both["council_id"])).json()
    finally:
        own_benefits.stop()

    assert body["data"]["person"]["council"]["councilId"] == person_in_both["council_id"]
    assert body["data"]["person"]["benefits"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UPSTREAM_TIMEOUT", "agency": "benefits"}


def test_malformed_upstream_reply_is_a_clear_error_not_a_crash(
    start_gateway: GatewayFactory, world: WorldPaths, person_in_both: dict[str, Any]
) -> None:
    own_benefits = start_benefits(world)
    try:
        gateway = start_gateway({"benefits": own_benefits.url})
        httpx.put(own_benefits.url + "/_sim/faults", json={"malformed": True})
        body = gateway.query(ref("NI_NUMBER", person_in_both["ni_number"])).json()
    finally:
        own_benefits.stop()

    assert body["data"]["person"]["council"]["councilId"] == person_in_both["council_id"]
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UPSTREAM_BAD_REPLY", "agency": "benefits"}


def test_unknown_person_is_not_found(gateway: GatewayProcess) -> None:
    body = gateway.query(ref("NI_NUMBER", "AB000000A")).json()

    assert body["data"]["person"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_person_known_only_to_council_has_null_benefits_without_error(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]], unrestricted: frozenset[str]
) -> None:
    person = next(
        p
        for p in ground_truth
        if p["council_id"] in unrestricted and "benefits" not in p["records"]
    )

    body = gateway.query(ref("COUNCIL_ID", person["council_id"])).json()

    assert "errors" not in body
    assert body["data"]["person"]["benefits"] is None
    statuses = {m["agency"]: m["status"] for m in body["data"]["person"]["matches"]}
    assert statuses["benefits"] == "NOT_FOUND"


def test_several_people_in_one_query_make_one_batched_read_per_agency(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]], unrestricted: frozenset[str]
) -> None:
    both = [
        p
        for p in ground_truth
        if p["council_id"] in unrestricted and {"council", "benefits"} <= set(p["records"])
    ]
    first, second = both[0], both[1]
    query = """
    query($refs: [PersonReference!]!) {
      people(references: $refs) { council { councilId } benefits { niNumber } }
    }"""
    variables = {
        "refs": [
            {"scheme": "COUNCIL_ID", "value": first["council_id"]},
            {"scheme": "NI_NUMBER", "value": "AB000000A"},
            {"scheme": "COUNCIL_ID", "value": second["council_id"]},
        ]
    }

    body = gateway.query(variables, query=query).json()

    found = body["data"]["people"]
    assert found[0]["council"]["councilId"] == first["council_id"]
    assert found[1] is None
    assert found[2]["benefits"]["niNumber"] == second["ni_number"]
    reads = agencies_read(body)
    assert sorted(reads) == ["benefits", "council"]
