"""Policy in the request path: roles and purposes see different answers, with reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.benefits import BenefitsAdapter
from adapters.council import CouncilAdapter
from adapters.sdk import LABELS_KEY
from gateway.app import create_app
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import GatewayConfig, agency_settings
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths
from tests.conftest import PERSON_QUERY, GatewayFactory, GatewayProcess, agencies_read, ref


def errors_by_path(body: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(e["path"]): e for e in body.get("errors", [])}


def test_benefits_officer_sees_benefits_but_council_is_forbidden_with_reason(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    body = gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]),
        role="benefits_officer",
        purpose="benefit_assessment",
    ).json()

    person = body["data"]["person"]
    assert person["benefits"]["niNumber"] == person_in_both["ni_number"]
    assert person["council"] is None
    error = errors_by_path(body)[("person", "council")]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "no data-sharing agreement" in error["extensions"]["reason"]
    summary = body["extensions"]["joinedup"]["withheld"]
    assert {"coordinate": "Person.council", "reason": error["extensions"]["reason"]} in summary


def test_keyworker_gets_masked_dates_and_postcodes_and_no_address(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    body = gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]), role="keyworker", purpose="early_help"
    ).json()

    council = body["data"]["person"]["council"]
    assert council["dateOfBirth"] == person_in_both["date_of_birth"][:4]
    assert council["postcode"] == person_in_both["postcode"].split()[0]
    assert council["address"] is None
    assert council["team"]
    assert errors_by_path(body)[("person", "council", "address")]["extensions"]["code"] == (
        "FORBIDDEN"
    )


def test_same_query_different_purpose_gives_different_answer(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    variables = ref("NI_NUMBER", person_in_both["ni_number"])
    safeguarding = gateway.query(variables, purpose="safeguarding_children").json()
    early_help = gateway.query(variables, purpose="early_help").json()

    assert safeguarding["data"]["person"]["benefits"]["postcode"] == person_in_both["postcode"]
    assert (
        early_help["data"]["person"]["benefits"]["postcode"]
        == (person_in_both["postcode"].split()[0])
    )
    assert early_help["data"]["person"]["benefits"]["dateOfBirth"] is None


def test_role_with_no_grant_for_purpose_sees_nothing_of_either_agency(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    body = gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]), role="gp", purpose="direct_care"
    ).json()

    assert body["data"]["person"] is None or all(
        body["data"]["person"].get(agency) is None for agency in ("council", "benefits")
    )
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"FORBIDDEN"}


def test_withheld_values_appear_nowhere_in_response_audit_or_log(
    start_gateway: GatewayFactory, person_in_both: dict[str, Any]
) -> None:
    # A gateway of its own: the shared one's audit holds other tests' disclosures, which
    # may rightly name the person (a council id the catalogue keeps in clear).
    gateway = start_gateway()
    response = gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]),
        role="benefits_officer",
        purpose="benefit_assessment",
    )
    assert response.status_code == 200

    withheld_values = [person_in_both["council_id"], person_in_both["address"]]
    audit_bytes = (gateway.state_dir / "audit.sqlite").read_bytes()
    wal = gateway.state_dir / "audit.sqlite-wal"
    audit_bytes += wal.read_bytes() if wal.exists() else b""
    for value in withheld_values:
        assert value not in response.text
        assert value.encode() not in audit_bytes
        assert value not in gateway.log()


@pytest.mark.parametrize(
    ("purpose", "code"),
    [(None, "PURPOSE_REQUIRED"), ("", "PURPOSE_REQUIRED"), ("curiosity", "UNKNOWN_PURPOSE")],
)
def test_missing_or_unknown_purpose_is_a_400(
    gateway: GatewayProcess, purpose: str | None, code: str
) -> None:
    headers = {"Authorization": f"Bearer {gateway.token('social_worker')}"}
    if purpose is not None:
        headers[PURPOSE_HEADER] = purpose
    response = httpx.post(
        gateway.url + "/graphql", json={"query": "{ purposes { id } }"}, headers=headers
    )

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code
    assert "safeguarding_children" in error["message"], "the error lists the known purposes"


async def test_broken_policy_fails_closed(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess, person_in_both: dict[str, Any]
) -> None:
    """A policy whose decision is undefined denies every field; it never allows."""
    policy_dir = tmp_path / "policies"
    (policy_dir / "joinedup").mkdir(parents=True)
    source = Path(__file__).resolve().parent.parent / "policies" / "data.json"
    (policy_dir / "data.json").write_text(source.read_text())
    (policy_dir / "joinedup" / "other.rego").write_text("package joinedup.other\n\nx := 1\n")
    config = GatewayConfig(
        state_dir=tmp_path / "state",
        policy_dir=policy_dir,
        agencies={
            "council": agency_settings("council", str(world.council_db)),
            "benefits": agency_settings("benefits", benefits.url),
        },
    )
    app = create_app(config)
    token = issue_dev_token(load_dev_key(config.state_dir), "u", "social_worker", "o", None)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            response = await client.post(
                "/graphql",
                json={
                    "query": PERSON_QUERY,
                    "variables": ref("NI_NUMBER", person_in_both["ni_number"]),
                },
                headers={
                    "Authorization": f"Bearer {token}",
                    PURPOSE_HEADER: "safeguarding_children",
                },
            )

    body = response.json()
    assert body["data"]["person"] is None or (
        body["data"]["person"]["council"] is None and body["data"]["person"]["benefits"] is None
    )
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert "policy engine unavailable" in body["errors"][0]["extensions"]["reason"]
    assert person_in_both["family_name"] not in response.text


def test_denied_agency_is_never_asked_for_data(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    body = gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]),
        role="benefits_officer",
        purpose="benefit_assessment",
    ).json()

    reads = agencies_read(body)
    assert reads == ["benefits"]


def test_adapters_return_only_the_fields_asked_for(
    world: WorldPaths, benefits: SimulatorProcess, person_in_both: dict[str, Any]
) -> None:
    import asyncio

    async def read() -> tuple[Any, Any]:
        council = CouncilAdapter(world.council_db)
        benefits_adapter = BenefitsAdapter(benefits.url)
        try:
            return (
                await council.read((person_in_both["council_id"],), frozenset({"team"})),
                await benefits_adapter.read((person_in_both["ni_number"],), frozenset({"claims"})),
            )
        finally:
            await benefits_adapter.aclose()

    council_record, benefits_record = asyncio.run(read())
    assert set(council_record[person_in_both["council_id"]]) - {LABELS_KEY} == {"team"}
    assert set(benefits_record[person_in_both["ni_number"]]) - {LABELS_KEY} == {"claims"}
