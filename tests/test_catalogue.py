"""Query.agencies: schema metadata a front end draws panels from, without introspection."""

from __future__ import annotations

from typing import Any

from gateway.config import DEMO_AGENCIES
from tests.conftest import GatewayProcess, ref

CATALOGUE = """
{ agencies { name title sectionType lookupSchemes
             fields { name coordinate kind itemFields { name coordinate kind } }
             events { kind listField } } }
"""


def test_each_agency_is_described_by_its_section_fields_and_coordinates(
    gateway: GatewayProcess,
) -> None:
    body = gateway.query({}, query=CATALOGUE).json()

    agencies = {a["name"]: a for a in body["data"]["agencies"]}
    assert set(agencies) == set(DEMO_AGENCIES)
    council = agencies["council"]
    assert council["sectionType"] == "CouncilSection"
    assert "NI_NUMBER" in council["lookupSchemes"]
    fields = {f["name"]: f for f in council["fields"]}
    assert fields["address"]["coordinate"] == "CouncilSection.address"
    assert fields["cases"]["kind"] == "list"
    assert {f["coordinate"] for f in fields["cases"]["itemFields"]} >= {
        "CouncilCase.caseId",
        "CouncilCase.openedOn",
    }
    assert council["events"] == [
        {"kind": "social-care case opened", "listField": "cases"},
        {"kind": "referral received", "listField": "referrals"},
    ]


def test_catalogue_coordinates_are_the_ones_policy_errors_name(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    """A page marks a field withheld by matching FORBIDDEN errors to these coordinates."""
    catalogue = gateway.query({}, query=CATALOGUE).json()["data"]["agencies"]
    coordinates = {f["coordinate"] for a in catalogue for f in a["fields"]} | {
        i["coordinate"] for a in catalogue for f in a["fields"] for i in f["itemFields"]
    }

    body = gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]), role="keyworker", purpose="early_help"
    ).json()

    named = {e["extensions"]["coordinate"] for e in body["errors"]}
    assert named and named <= coordinates


def test_catalogue_carries_no_person_data_and_needs_no_grant(gateway: GatewayProcess) -> None:
    """A role with no grants at all still gets the metadata; it names no person."""
    body = gateway.query({}, role="gp", purpose="direct_care", query=CATALOGUE).json()

    assert "errors" not in body
    assert len(body["data"]["agencies"]) == len(DEMO_AGENCIES)


def test_masked_fields_are_listed_in_the_response_extensions(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    body = gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]), role="keyworker", purpose="early_help"
    ).json()

    masked = body["extensions"]["joinedup"]["masked"]
    assert {"coordinate": "CouncilSection.dateOfBirth", "mask": "year"} in masked
    assert {"coordinate": "CouncilSection.postcode", "mask": "postcode_district"} in masked
    assert "CouncilSection.name" not in {m["coordinate"] for m in masked}
