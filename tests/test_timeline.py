"""The multi-agency chronology, under the same policy as the sections it comes from."""

from __future__ import annotations

import sqlite3
from typing import Any

from simulators.world import WorldPaths
from tests.conftest import GatewayFactory, GatewayProcess, ref, start_benefits

TIMELINE = """
query($ref: PersonReference!, $since: Date, $agencies: [String!]) {
  person(reference: $ref) {
    timeline(since: $since, agencies: $agencies) {
      events { date agency kind summary }
      gaps { agency code reason }
    }
  }
}
"""


def with_events(ground_truth: list[dict[str, Any]], world: WorldPaths) -> dict[str, Any]:
    db = sqlite3.connect(world.council_db)
    try:
        for person in ground_truth:
            if person["council_id"] and "benefits" in person["records"]:
                cases = db.execute(
                    "SELECT count(*) FROM social_case WHERE council_id = ?",
                    (person["council_id"],),
                ).fetchone()[0]
                if cases >= 1:
                    return person
    finally:
        db.close()
    raise LookupError("no person with council cases and benefit claims")


def test_timeline_merges_both_agencies_in_date_order(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]], world: WorldPaths
) -> None:
    person = with_events(ground_truth, world)

    body = gateway.query(ref("COUNCIL_ID", person["council_id"]), query=TIMELINE).json()

    timeline = body["data"]["person"]["timeline"]
    events = timeline["events"]
    assert {e["agency"] for e in events} >= {"council", "benefits"}
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)
    assert timeline["gaps"] == []
    assert all(e["summary"] for e in events)


def test_timeline_filters_by_agency_and_date(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]], world: WorldPaths
) -> None:
    person = with_events(ground_truth, world)
    variables = ref("COUNCIL_ID", person["council_id"])
    everything = gateway.query(variables, query=TIMELINE).json()["data"]["person"]["timeline"]
    middle = sorted(e["date"] for e in everything["events"])[len(everything["events"]) // 2]

    only_council = gateway.query({**variables, "agencies": ["council"]}, query=TIMELINE).json()[
        "data"
    ]["person"]["timeline"]["events"]
    recent = gateway.query({**variables, "since": middle}, query=TIMELINE).json()["data"]["person"][
        "timeline"
    ]["events"]

    assert only_council and {e["agency"] for e in only_council} == {"council"}
    assert recent and all(e["date"] >= middle for e in recent)
    assert len(recent) < len(everything["events"]) or middle == min(
        e["date"] for e in everything["events"]
    )


def test_timeline_events_obey_field_policy(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]], world: WorldPaths
) -> None:
    """keyworker/early_help: council cases allowed, benefit claims allowed; a role whose
    grant lacks a section's list sees that agency as a FORBIDDEN gap, not its events."""
    person = with_events(ground_truth, world)

    body = gateway.query(
        ref("COUNCIL_ID", person["council_id"]),
        role="social_worker",
        purpose="early_help",
        query=TIMELINE,
    ).json()
    assert {e["agency"] for e in body["data"]["person"]["timeline"]["events"]} == {
        "council",
        "benefits",
    }

    restricted = gateway.query(
        ref("NI_NUMBER", person["ni_number"]),
        role="benefits_officer",
        purpose="benefit_assessment",
        query=TIMELINE,
    ).json()
    timeline = restricted["data"]["person"]["timeline"]
    assert {e["agency"] for e in timeline["events"]} == {"benefits"}
    gaps = {g["agency"]: g for g in timeline["gaps"]}
    assert gaps["council"]["code"] == "FORBIDDEN"
    assert "no data-sharing agreement with council" in gaps["council"]["reason"]


def test_agency_down_is_a_gap_and_the_rest_of_the_timeline_stands(
    start_gateway: GatewayFactory, ground_truth: list[dict[str, Any]], world: WorldPaths
) -> None:
    person = with_events(ground_truth, world)
    own_benefits = start_benefits(world)
    gateway = start_gateway({"benefits": own_benefits.url})
    own_benefits.stop()

    body = gateway.query(ref("COUNCIL_ID", person["council_id"]), query=TIMELINE).json()

    timeline = body["data"]["person"]["timeline"]
    agencies = {e["agency"] for e in timeline["events"]}
    assert "council" in agencies and "benefits" not in agencies
    [gap] = timeline["gaps"]
    assert (gap["agency"], gap["code"]) == ("benefits", "UPSTREAM_UNAVAILABLE")
