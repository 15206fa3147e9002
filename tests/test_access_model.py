"""The full access model end to end, on both engines: person gates, labels, break-glass.

Each test runs against the gateway with the embedded engine and against one
using a real OPA server (``joinedup serve --policy-engine opa``).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from gateway.policy.opa_server import OpaServerProcess
from gateway.purposes import BREAK_GLASS_HEADER, CONSENT_OVERRIDE_HEADER
from simulators.launcher import SimulatorProcess, free_port
from simulators.world import WorldPaths
from tests.conftest import POLICIES, GatewayFactory, GatewayProcess, ref
from tests.test_audit import audit_rows

REFUGE_QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    council { councilId name address postcode team }
    benefits { name postcode }
  }
}
"""


@pytest.fixture(scope="session")
def opa_gateway(
    start_gateway: GatewayFactory, benefits: SimulatorProcess, opa_server: OpaServerProcess
) -> GatewayProcess:
    return start_gateway(extra_args=("--policy-engine", "opa", "--opa-url", opa_server.url))


@pytest.fixture(scope="session", params=["embedded", "opa"])
def any_gateway(
    request: pytest.FixtureRequest, gateway: GatewayProcess, opa_gateway: GatewayProcess
) -> GatewayProcess:
    return gateway if request.param == "embedded" else opa_gateway


def council_people(world: WorldPaths, where: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(world.council_db)
    db.row_factory = sqlite3.Row
    try:
        return [
            dict(row)
            for row in db.execute(
                "SELECT p.*, "
                "(SELECT CASE WHEN k.given = 1 THEN 'given' ELSE 'refused' END FROM consent k "
                " WHERE k.council_id = p.council_id AND k.purpose = 'early_help') "
                " AS early_help_consent, "
                "(SELECT CASE WHEN k.given = 1 THEN 'given' ELSE 'refused' END FROM consent k "
                " WHERE k.council_id = p.council_id AND k.purpose = 'safeguarding_children') "
                " AS safeguarding_consent, "
                "EXISTS (SELECT 1 FROM social_case c WHERE c.council_id = p.council_id "
                " AND c.status = 'open') AS open_case, "
                "p.labels != '' AS labelled "
                f"FROM person p WHERE {where} ORDER BY p.council_id"
            )
        ]
    finally:
        db.close()


@pytest.fixture(scope="session")
def refuge_person(world: WorldPaths) -> dict[str, Any]:
    """Someone at a refuge whom a social worker may otherwise see for early help."""
    return council_people(
        world,
        "p.labels LIKE '%refuge_address%' AND EXISTS (SELECT 1 FROM social_case c "
        "WHERE c.council_id = p.council_id AND c.status = 'open') AND EXISTS (SELECT 1 "
        "FROM consent k WHERE k.council_id = p.council_id AND k.purpose = 'early_help' "
        "AND k.given = 1) AND NOT EXISTS (SELECT 1 FROM consent k WHERE "
        "k.council_id = p.council_id AND k.purpose = 'safeguarding_children' "
        "AND k.given = 0)",
    )[0]


def forbidden(body: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    return {
        tuple(e["path"]): e["extensions"]["reason"]
        for e in body.get("errors", [])
        if e["extensions"]["code"] == "FORBIDDEN"
    }


def test_refuge_address_is_never_disclosed_to_a_role_that_may_not_see_it(
    any_gateway: GatewayProcess, refuge_person: dict[str, Any]
) -> None:
    response = any_gateway.query(
        ref("COUNCIL_ID", refuge_person["council_id"]),
        role="social_worker",
        purpose="early_help",
        team=refuge_person["team"],
        query=REFUGE_QUERY,
    )
    body = response.json()

    council = body["data"]["person"]["council"]
    assert council["name"] and council["team"] == refuge_person["team"]
    assert council["address"] is None and council["postcode"] is None
    denied = forbidden(body)
    assert "sensitivity label" in denied[("person", "council", "address")]
    assert refuge_person["address"] not in response.text
    assert refuge_person["postcode"] not in response.text
    assert refuge_person["postcode"].split()[0] not in response.text
    assert "@labels" not in response.text and "refuge_address" not in response.text


def test_refuge_address_is_shown_to_a_social_worker_safeguarding(
    any_gateway: GatewayProcess, refuge_person: dict[str, Any]
) -> None:
    body = any_gateway.query(
        ref("COUNCIL_ID", refuge_person["council_id"]),
        role="social_worker",
        purpose="safeguarding_children",
        query=REFUGE_QUERY,
    ).json()

    assert body["data"]["person"]["council"]["address"] == refuge_person["address"]


def test_masked_postcode_of_a_refuge_person_is_withheld_too(
    any_gateway: GatewayProcess, refuge_person: dict[str, Any]
) -> None:
    response = any_gateway.query(
        ref("COUNCIL_ID", refuge_person["council_id"]),
        role="keyworker",
        purpose="early_help",
        team=refuge_person["team"],
        query=REFUGE_QUERY,
    )

    assert response.json()["data"]["person"]["council"]["postcode"] is None
    assert refuge_person["postcode"].split()[0] not in response.text


def test_no_relationship_means_no_early_help_data(
    any_gateway: GatewayProcess, refuge_person: dict[str, Any]
) -> None:
    body = any_gateway.query(
        ref("COUNCIL_ID", refuge_person["council_id"]),
        role="keyworker",
        purpose="early_help",
        team="some-other-team",
        query=REFUGE_QUERY,
    ).json()

    assert body["data"]["person"]["council"] is None
    assert "legitimate relationship" in forbidden(body)[("person", "council")]


def test_refused_consent_blocks_safeguarding_until_overridden_with_a_reason(
    any_gateway: GatewayProcess, world: WorldPaths
) -> None:
    person = council_people(
        world,
        "EXISTS (SELECT 1 FROM consent k WHERE k.council_id = p.council_id "
        "AND k.purpose = 'safeguarding_children' AND k.given = 0) "
        "AND p.labels = ''",
    )[0]
    variables = ref("COUNCIL_ID", person["council_id"])

    refused = any_gateway.query(variables, query=REFUGE_QUERY).json()
    overridden = any_gateway.query(
        variables, query=REFUGE_QUERY, headers={CONSENT_OVERRIDE_HEADER: "s47 enquiry opened"}
    ).json()

    assert "consent" in forbidden(refused)[("person", "council")]
    assert overridden["data"]["person"]["council"]["councilId"] == person["council_id"]
    assert overridden["extensions"]["joinedup"]["obligations"]["review"] is True


def test_break_glass_outside_its_purposes_is_refused_but_still_reviewed(
    any_gateway: GatewayProcess, world: WorldPaths
) -> None:
    person = council_people(
        world,
        "NOT EXISTS (SELECT 1 FROM social_case c WHERE c.council_id = p.council_id "
        "AND c.status = 'open') AND p.labels = ''",
    )[0]

    response = any_gateway.query(
        ref("COUNCIL_ID", person["council_id"]),
        role="social_worker",
        purpose="early_help",
        headers={BREAK_GLASS_HEADER: "want to check"},
    )

    body = response.json()
    assert body["data"]["person"]["council"] is None
    assert "legitimate relationship" in forbidden(body)[("person", "council")]
    assert body["extensions"]["joinedup"]["obligations"] == {
        "audit_level": "high",
        "alert": False,
        "review": True,
        "break_glass": "refused",
    }


def test_break_glass_for_safeguarding_waives_relationship_and_is_in_the_audit_row(
    any_gateway: GatewayProcess, world: WorldPaths
) -> None:
    person = council_people(
        world,
        "EXISTS (SELECT 1 FROM consent k WHERE k.council_id = p.council_id "
        "AND k.purpose = 'early_help' AND k.given = 0) "
        "AND p.labels = ''",
    )[0]
    response = any_gateway.query(
        ref("COUNCIL_ID", person["council_id"]),
        role="keyworker",
        purpose="early_help",
        team="some-other-team",
        headers={BREAK_GLASS_HEADER: "emergency"},
    )
    assert response.json()["data"]["person"]["council"] is None  # keyworkers may not break glass

    granted = any_gateway.query(
        ref("COUNCIL_ID", person["council_id"]),
        role="social_worker",
        purpose="safeguarding_children",
        team="some-other-team",
        headers={BREAK_GLASS_HEADER: "child at immediate risk"},
    )
    body = granted.json()
    assert body["data"]["person"]["council"]["councilId"] == person["council_id"]
    assert body["extensions"]["joinedup"]["obligations"]["alert"] is True
    [row] = audit_rows(any_gateway, granted.headers["x-request-id"])
    assert row["break_glass_reason"] == "child at immediate risk"
    assert json.loads(row["obligations"])["audit_level"] == "high"
    assert f"ALERT request {granted.headers['x-request-id']}: break-glass" in any_gateway.log()


def test_blank_break_glass_reason_is_refused(any_gateway: GatewayProcess) -> None:
    response = any_gateway.query(ref("COUNCIL_ID", "C0000000"), headers={BREAK_GLASS_HEADER: ""})

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "REASON_REQUIRED"


def test_opa_engine_records_decision_id_in_the_audit(
    opa_gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    response = opa_gateway.query(ref("NI_NUMBER", person_in_both["ni_number"]))

    rows = audit_rows(opa_gateway, response.headers["x-request-id"])
    assert rows and all(r["decision_id"] for r in rows)


def test_killing_the_opa_server_yields_denials_not_data(
    start_gateway: GatewayFactory, benefits: SimulatorProcess, person_in_both: dict[str, Any]
) -> None:
    server = OpaServerProcess(POLICIES, free_port())
    server.wait_ready()
    gateway = start_gateway(extra_args=("--policy-engine", "opa", "--opa-url", server.url))
    variables = ref("NI_NUMBER", person_in_both["ni_number"])
    assert gateway.query(variables).json()["data"]["person"]["council"]["name"]

    server.process.kill()
    server.process.wait()
    response = gateway.query(variables)

    body = response.json()
    assert body["data"]["person"] is None or body["data"]["person"]["council"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert person_in_both["family_name"] not in response.text
    assert "policy engine unavailable" in body["errors"][0]["extensions"]["reason"]


def test_more_people_than_allowed_are_not_all_looked_up_first(gateway: GatewayProcess) -> None:
    references = [{"scheme": "COUNCIL_ID", "value": f"C9{n:06d}"} for n in range(501)]
    body = gateway.query(
        {"refs": references},
        query="query($refs: [PersonReference!]!) "
        "{ people(references: $refs) { reference { value } } }",
    ).json()

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    lookups = [c for c in body["extensions"]["joinedup"]["upstream"] if c["operation"] == "lookup"]
    assert len(lookups) <= 500
