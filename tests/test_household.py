"""Household and family links: each member found, shown and audited under their own policy.

Households are chosen from the ground truth; the gateway never reads it.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from gateway.auth import issue_dev_token, load_dev_key
from gateway.purposes import CONSENT_OVERRIDE_HEADER, PURPOSE_HEADER
from resolvers import household as household_module
from simulators.world import WorldPaths
from simulators.world.population import age
from tests.conftest import (
    CALLER_TEAM,
    GatewayFactory,
    GatewayProcess,
    agencies_read,
    ref,
    start_benefits,
)
from tests.inprocess import config_for, gateway_client
from tests.test_audit import audit_rows

POLICIES = Path(__file__).resolve().parent.parent / "policies"
OVERRIDE = {CONSENT_OVERRIDE_HEADER: "safeguarding concern for the family (test)"}

MEMBERS = """
query($refs: [PersonReference!]!) {
  people(references: $refs) {
    reference { scheme value }
    household { members { relationship source person { reference { scheme value } } } }
  }
}
"""

SECTIONS = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    council { councilId name address postcode }
    household {
      members {
        relationship source
        person { reference { scheme value } council { councilId name address postcode } }
      }
    }
  }
}
"""

TIMELINE = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    reference { scheme value }
    household {
      members { person { reference { scheme value } } }
      timeline { events { date agency kind summary subject } gaps { agency code } }
    }
  }
}
"""

OWN_TIMELINE = """
query($ref: PersonReference!) {
  person(reference: $ref) { timeline { events { date agency kind summary } } }
}
"""

_SCHEMES = {
    "COUNCIL_ID": "council_id",
    "NHS_NUMBER": "nhs_number",
    "NI_NUMBER": "ni_number",
    "HOUSING_REF": "housing_ref",
    "PNC_ID": "pnc_id",
    "CRN": "case_reference",
}


def households(ground_truth: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for person in ground_truth:
        grouped[person["household_id"]].append(person)
    return grouped


def who(ground_truth: list[dict[str, Any]], reference: dict[str, str]) -> str:
    """The ground-truth person id a reference names."""
    key = _SCHEMES[reference["scheme"]]
    [person] = [p for p in ground_truth if p[key] == reference["value"]]
    return str(person["person_id"])


def key(reference: dict[str, str]) -> str:
    return f"{reference['scheme']}:{reference['value']}"


def upstream(body: dict[str, Any], operation: str) -> list[str]:
    calls = body["extensions"]["joinedup"]["upstream"]
    return sorted(c["agency"] for c in calls if c["operation"] == operation)


def errors_at(body: dict[str, Any], *path: str | int) -> list[dict[str, Any]]:
    return [e for e in body.get("errors", []) if tuple(e["path"][: len(path)]) == path]


def test_members_found_are_the_true_household_in_one_call_per_agency(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]]
) -> None:
    grouped = households(ground_truth)
    by_council = [
        p for p in ground_truth if p["council_id"] and len(grouped[p["household_id"]]) >= 3
    ][:4]
    # Known to housing only: joint tenants by housing reference, children by name and birth date.
    by_housing = [
        p
        for p in ground_truth
        if p["housing_ref"]
        and not any(m["council_id"] for m in grouped[p["household_id"]])
        and any(age(m["date_of_birth"]) < 18 for m in grouped[p["household_id"]])
    ][:4]
    assert len(by_council) == 4 and len(by_housing) == 4, "precondition: households to ask about"
    refs = [{"scheme": "COUNCIL_ID", "value": p["council_id"]} for p in by_council] + [
        {"scheme": "HOUSING_REF", "value": p["housing_ref"]} for p in by_housing
    ]

    body = gateway.query({"refs": refs}, query=MEMBERS, headers=OVERRIDE).json()

    assert "errors" not in body, body.get("errors")
    demographic_found = 0
    for subject, answer in zip(by_council + by_housing, body["data"]["people"], strict=True):
        truth = {m["person_id"] for m in grouped[subject["household_id"]]} - {subject["person_id"]}
        members = answer["household"]["members"]
        found = [who(ground_truth, m["person"]["reference"]) for m in members if m["person"]]
        assert len(found) == len(set(found)), "each member once"
        assert set(found) <= truth, "never someone from another household"
        if subject in by_council:
            # The council records every member of a household it knows.
            assert set(found) == truth
            assert {m["source"] for m in members} == {"council"}
        else:
            tenants = {m["person_id"] for m in grouped[subject["household_id"]] if m["housing_ref"]}
            assert tenants - {subject["person_id"]} <= set(found), "joint tenants by reference"
            demographic_found += sum(
                m["person"] is not None and m["person"]["reference"]["scheme"] != "HOUSING_REF"
                for m in members
            )
        for member in members:
            assert member["relationship"] in {"parent", "child", "partner", "sibling"}
    assert demographic_found >= 3, "children listed by name and birth date are matched"
    assert upstream(body, "household") == ["council", "housing"]


def _gated_family(world: WorldPaths, unrestricted: frozenset[str]) -> tuple[str, str]:
    """A subject the early-help caller may see, with a member the caller has no case with."""
    db = sqlite3.connect(world.council_db)
    try:
        for subject, member in db.execute(
            "SELECT council_id, related_id FROM relationship ORDER BY council_id, related_id"
        ):
            if subject in unrestricted and member not in unrestricted:
                related = db.execute(
                    "SELECT 1 FROM person p WHERE council_id = ? AND team = ? AND EXISTS "
                    "(SELECT 1 FROM social_case c WHERE c.council_id = p.council_id "
                    "AND c.status = 'open')",
                    (member, CALLER_TEAM),
                ).fetchone()
                if related is None:
                    return subject, member
    finally:
        db.close()
    raise LookupError("no family with a member outside the caller's caseload")


def test_a_members_sections_are_under_the_members_own_gates(
    gateway: GatewayProcess, world: WorldPaths, unrestricted: frozenset[str]
) -> None:
    subject, outsider = _gated_family(world, unrestricted)

    response = gateway.query(
        ref("COUNCIL_ID", subject), role="keyworker", purpose="early_help", query=SECTIONS
    )
    body = response.json()

    person = body["data"]["person"]
    assert person["council"]["councilId"] == subject, "the subject shows"
    members = person["household"]["members"]
    [index] = [i for i, m in enumerate(members) if m["person"]["reference"]["value"] == outsider]
    assert members[index]["person"]["council"] is None
    [error] = errors_at(body, "person", "household", "members", index, "person", "council")
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "relationship" in error["extensions"]["reason"]
    assert members[index]["relationship"], "the link itself is shown"
    # Audited as each member's own disclosure: one council row per person disclosed.
    rows = [r for r in audit_rows(gateway, response.headers["x-request-id"])]
    council_rows = [r for r in rows if r["agency"] == "council"]
    shown = 1 + sum(m["person"]["council"] is not None for m in members)
    assert len({r["person_ref"] for r in council_rows if json.loads(r["disclosed"])}) == shown
    assert any("Person.council" in json.loads(r["withheld"]) for r in council_rows), (
        "the outsider's withheld section is audited as theirs"
    )


def test_a_role_without_an_agreement_sees_no_links_and_no_member(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]]
) -> None:
    grouped = households(ground_truth)
    subject = next(
        p
        for p in ground_truth
        if p["council_id"] and p["ni_number"] and len(grouped[p["household_id"]]) >= 2
    )

    body = gateway.query(
        ref("COUNCIL_ID", subject["council_id"]),
        role="benefits_officer",
        purpose="benefit_assessment",
        query=SECTIONS,
    ).json()

    assert body["data"]["person"]["household"] is None
    [error] = errors_at(body, "person", "household")
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["coordinate"].endswith("Household.relationship")
    assert "not shared with the caller's role" in error["extensions"]["reason"]
    withheld = {w["coordinate"] for w in body["extensions"]["joinedup"]["withheld"]}
    assert "CouncilHousehold.relationship" in withheld
    assert agencies_read(body) == [], "no member (nor the subject) was read"


def test_refuge_labels_withhold_members_locations(
    start_gateway: GatewayFactory,
    tmp_path: Path,
    world: WorldPaths,
    ground_truth: list[dict[str, Any]],
) -> None:
    """With refuge addresses visible to nobody, a refuge family's members show no location."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    data = json.loads((policies / "data.json").read_text())
    data["access"]["labels"]["refuge_address"]["visible_to"] = {}
    (policies / "data.json").write_text(json.dumps(data))
    db = sqlite3.connect(world.council_db)
    try:
        refuge = {
            r[0] for r in db.execute("SELECT council_id FROM person WHERE labels LIKE '%refuge%'")
        }
        linked = [
            r
            for r in db.execute("SELECT council_id, related_id FROM relationship")
            if r[0] in refuge and r[1] in refuge
        ]
    finally:
        db.close()
    assert linked, "precondition: a refuge family the council links"
    subject, member = linked[0]
    gateway = start_gateway(extra_args=("--policy-dir", str(policies)))

    body = gateway.query(ref("COUNCIL_ID", subject), query=SECTIONS, headers=OVERRIDE).json()

    members = body["data"]["person"]["household"]["members"]
    [index] = [i for i, m in enumerate(members) if m["person"]["reference"]["value"] == member]
    shown = members[index]["person"]["council"]
    assert shown["councilId"] == member and shown["name"], "the member's other fields show"
    assert shown["address"] is None and shown["postcode"] is None
    located = errors_at(body, "person", "household", "members", index, "person", "council")
    assert {e["path"][-1] for e in located} == {"address", "postcode"}
    assert all("label protects this person's location" in e["message"] for e in located)
    assert "ZZ99" not in json.dumps(body)


def test_household_timeline_is_ordered_and_attributed(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]]
) -> None:
    grouped = households(ground_truth)
    subject = next(
        p
        for p in ground_truth
        if p["council_id"]
        and p["known_to_all"]
        and sum(bool(m["council_id"]) for m in grouped[p["household_id"]]) >= 3
    )

    body = gateway.query(
        ref("COUNCIL_ID", subject["council_id"]), query=TIMELINE, headers=OVERRIDE
    ).json()

    person = body["data"]["person"]
    timeline = person["household"]["timeline"]
    events = timeline["events"]
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)
    people = [person["reference"]] + [
        m["person"]["reference"] for m in person["household"]["members"]
    ]
    assert {e["subject"] for e in events} <= {key(r) for r in people}
    assert len({e["subject"] for e in events}) >= 2, "events of more than one person"
    for reference in people:
        own = gateway.query({"ref": reference}, query=OWN_TIMELINE, headers=OVERRIDE).json()[
            "data"
        ]["person"]["timeline"]["events"]
        theirs = [
            {k: e[k] for k in ("date", "agency", "kind", "summary")}
            for e in events
            if e["subject"] == key(reference)
        ]
        assert sorted(theirs, key=json.dumps) == sorted(own, key=json.dumps), reference


async def test_a_household_beyond_the_bound_is_refused_clearly(
    tmp_path: Path,
    world: WorldPaths,
    ground_truth: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    grouped = households(ground_truth)
    subject = next(
        p
        for p in ground_truth
        if p["council_id"] and sum(bool(m["council_id"]) for m in grouped[p["household_id"]]) >= 3
    )
    monkeypatch.setattr(household_module, "MAX_HOUSEHOLD_MEMBERS", 1)
    benefits = start_benefits(world)
    try:
        async with gateway_client(config_for(tmp_path, world, benefits.url)) as client:
            token = issue_dev_token(
                load_dev_key(tmp_path), "t", "social_worker", "test-council", CALLER_TEAM
            )
            response = await client.post(
                "/graphql",
                json={"query": SECTIONS, "variables": ref("COUNCIL_ID", subject["council_id"])},
                headers={
                    "Authorization": f"Bearer {token}",
                    PURPOSE_HEADER: "safeguarding_children",
                },
            )
    finally:
        benefits.stop()
    body = response.json()

    assert body["data"]["person"]["household"] is None
    [error] = errors_at(body, "person", "household")
    assert error["extensions"]["code"] == "HOUSEHOLD_TOO_LARGE"
    assert "more than 1 links" in error["message"]
    assert upstream(body, "lookup").count("council") == 1, "no member was looked up"
