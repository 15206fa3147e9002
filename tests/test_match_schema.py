"""The schema shows per agency how the person was found and how surely, end to end."""

from __future__ import annotations

import json
from typing import Any

from simulators.world import WorldPaths
from tests.conftest import GatewayProcess, ref

MATCHES_QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    matches { agency status method confidence possibleMatches { probability } }
  }
}"""


def test_matches_say_how_and_how_surely(
    gateway: GatewayProcess, world: WorldPaths, ground_truth: list[dict[str, Any]]
) -> None:
    tenants = json.loads(world.agency_json("housing").read_text())["tenants"]
    unlinked = {t["housing_ref"] for t in tenants if not t["ni_number"]}
    person = next(
        p
        for p in ground_truth
        if "council" in p["records"] and p["records"].get("housing") in unlinked
    )
    response = gateway.query(ref("COUNCIL_ID", person["records"]["council"]), query=MATCHES_QUERY)
    assert response.status_code == 200, response.text
    matches = {m["agency"]: m for m in response.json()["data"]["person"]["matches"]}

    assert matches["council"]["method"] == "IDENTIFIER"
    assert matches["council"]["confidence"] == 1.0
    housing = matches["housing"]
    assert housing["status"] == "MATCHED"
    assert housing["method"] == "DEMOGRAPHICS"
    assert 0.9 <= housing["confidence"] < 1.0
    for agency, match in matches.items():
        if match["status"] != "MATCHED":
            assert match["method"] is None and match["confidence"] is None, agency
        else:
            assert match["possibleMatches"] == [], agency
