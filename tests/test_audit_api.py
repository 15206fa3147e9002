"""The data-protection officer's GraphQL API, and the OPA-format decision log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess
from tests.audit_support import disclosure, open_test_store, raw
from tests.conftest import GatewayFactory, GatewayProcess, ref

DPO = "data_protection_officer"

PERSON_ACCESS = """
query($ref: AuditPersonReference!) {
  auditLog { personAccess(reference: $ref) {
    event requestId user roles purpose lawfulBasis agency disclosed masked
    withheld { coordinate reason } policyRevision decisionId
  } }
}
"""
QUEUE = "{ auditLog { breakGlassQueue { requestId user reason agencies people } } }"
REVIEW = """
mutation($id: String!, $outcome: ReviewOutcome!) {
  auditReview { recordBreakGlassReview(requestId: $id, outcome: $outcome, note: "seen") {
    requestId outcome note
  } }
}
"""


@pytest.fixture(scope="module")
def logged_gateway(
    start_gateway: GatewayFactory,
    benefits: SimulatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    state_dir = tmp_path_factory.mktemp("dpo-state")
    gateway = start_gateway(
        state_dir=state_dir,
        extra_args=("--decision-log", str(state_dir / "decisions.jsonl")),
    )
    yield gateway
    gateway.stop()


def ask(
    gateway: GatewayProcess,
    query: str,
    variables: dict[str, Any] | None = None,
    role: str = DPO,
    purpose: str = "audit_review",
    method: str = "POST",
) -> httpx.Response:
    headers = {
        "Authorization": f"Bearer {gateway.token(role, user='dee.dpo')}",
        PURPOSE_HEADER: purpose,
    }
    if method == "GET":
        params = {"query": query, "variables": json.dumps(variables or {})}
        return httpx.get(gateway.url + "/graphql", params=params, headers=headers)
    return httpx.post(
        gateway.url + "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


def audit_dsn_of(gateway: GatewayProcess) -> str:
    return "sqlite:///" + str(gateway.state_dir / "audit.sqlite")


def test_dpo_sees_who_accessed_a_person_and_the_look_up_is_audited(
    logged_gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    ni = {"scheme": "NI_NUMBER", "value": person_in_both["ni_number"]}
    keyworker = logged_gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]), role="keyworker", purpose="early_help"
    )
    keyworker_request = keyworker.headers["x-request-id"]

    first = ask(logged_gateway, PERSON_ACCESS, {"ref": ni})
    second = ask(logged_gateway, PERSON_ACCESS, {"ref": ni})

    assert first.status_code == 200 and "errors" not in first.json(), first.text
    entries = first.json()["data"]["auditLog"]["personAccess"]
    seen = {(e["requestId"], e["agency"]): e for e in entries}
    council = seen[(keyworker_request, "council")]
    assert (council["user"], council["purpose"], council["event"]) == (
        "test.user",
        "early_help",
        "disclosure",
    )
    assert "CouncilSection.dateOfBirth" in council["masked"]
    assert "CouncilSection.address" in {w["coordinate"] for w in council["withheld"]}
    assert (keyworker_request, "benefits") in seen
    later = second.json()["data"]["auditLog"]["personAccess"]
    reads = [e for e in later if e["event"] == "audit_read"]
    assert [(e["user"], e["purpose"], e["requestId"]) for e in reads] == [
        ("dee.dpo", "audit_review", first.headers["x-request-id"])
    ]
    assert person_in_both["date_of_birth"] not in first.text
    # Looked up by NI number, found by council id: the person's resolved identifiers count.
    by_council_id = ask(
        logged_gateway,
        PERSON_ACCESS,
        {"ref": {"scheme": "COUNCIL_ID", "value": person_in_both["council_id"]}},
    )
    assert keyworker_request in {
        e["requestId"] for e in by_council_id.json()["data"]["auditLog"]["personAccess"]
    }


def test_other_roles_may_not_read_the_audit_and_the_dpo_may_not_read_people(
    logged_gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    ni = {"scheme": "NI_NUMBER", "value": person_in_both["ni_number"]}

    social_worker = ask(
        logged_gateway,
        PERSON_ACCESS,
        {"ref": ni},
        role="social_worker",
        purpose="safeguarding_children",
    )
    dpo_reading_people = logged_gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]), role=DPO, purpose="audit_review"
    )

    assert social_worker.json()["data"]["auditLog"]["personAccess"] is None
    [error] = social_worker.json()["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["coordinate"] == "AuditLog.personAccess"
    body = dpo_reading_people.json()
    assert body["data"]["person"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
    assert body["errors"][0]["message"].endswith("purpose 'audit_review'")
    assert person_in_both["family_name"] not in dpo_reading_people.text


def test_break_glass_review_queue_and_recording_an_outcome(
    logged_gateway: GatewayProcess,
) -> None:
    # A break-glass disclosure, as the request path records one (issue 4 supplies the reason).
    store = open_test_store(audit_dsn_of(logged_gateway), logged_gateway.state_dir)
    store.append(
        [
            disclosure(900, agency="council", break_glass_reason="child missing overnight"),
            disclosure(900, agency="benefits", break_glass_reason="child missing overnight"),
        ]
    )
    store.close()

    queue = ask(logged_gateway, QUEUE).json()["data"]["auditLog"]["breakGlassQueue"]
    by_get = ask(logged_gateway, REVIEW, {"id": "req-900", "outcome": "JUSTIFIED"}, method="GET")
    unknown = ask(logged_gateway, REVIEW, {"id": "req-nope", "outcome": "JUSTIFIED"})
    reviewed = ask(logged_gateway, REVIEW, {"id": "req-900", "outcome": "JUSTIFIED"})
    after = ask(logged_gateway, QUEUE).json()["data"]["auditLog"]["breakGlassQueue"]

    assert {
        "requestId": "req-900",
        "user": "amy",
        "reason": "child missing overnight",
        "agencies": ["benefits", "council"],
        "people": 1,
    } in queue
    assert by_get.status_code == 405
    assert unknown.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert reviewed.json()["data"]["auditReview"]["recordBreakGlassReview"] == {
        "requestId": "req-900",
        "outcome": "JUSTIFIED",
        "note": "seen",
    }
    assert "req-900" not in {item["requestId"] for item in after}
    reviews = raw(
        audit_dsn_of(logged_gateway),
        "SELECT user_id, request_id, subject_request_id, review_outcome, review_note"
        " FROM audit_record WHERE event = 'review'",
    )
    assert reviews == [
        ("dee.dpo", reviewed.headers["x-request-id"], "req-900", "justified", "seen")
    ]


def test_decision_log_lines_follow_opas_format_and_join_the_audit(
    logged_gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    response = logged_gateway.query(
        ref("NI_NUMBER", person_in_both["ni_number"]), role="keyworker", purpose="early_help"
    )
    request_id = response.headers["x-request-id"]

    lines = (logged_gateway.state_dir / "decisions.jsonl").read_text().splitlines()
    events = [e for e in map(json.loads, lines) if e.get("request_id") == request_id]
    # One decision governs the response; any other only let agencies be read sooner.
    [event] = [e for e in events if e["governs"] == "disclosure"]
    assert all(e["governs"] == "reads" for e in events if e is not event)

    assert {"decision_id", "path", "input", "result", "timestamp", "labels"} <= set(event)
    assert event["path"] == "joinedup/decision"
    assert event["timestamp"].endswith("Z")
    assert event["labels"]["id"] and event["labels"]["version"]
    assert event["input"]["caller"]["roles"] == ["keyworker"]
    assert event["input"]["purpose"] == "early_help"
    assert event["result"]["fields"]["CouncilSection.dateOfBirth"] == {
        "effect": "mask",
        "mask": "year",
    }
    audited = raw(
        audit_dsn_of(logged_gateway),
        "SELECT DISTINCT decision_id FROM audit_record WHERE request_id = ?",
        (request_id,),
    )
    assert audited == [(event["decision_id"],)]
    assert person_in_both["ni_number"] not in "\n".join(lines)


def test_decision_log_erases_sensitive_input() -> None:
    from gateway.audit.decision_log import ERASED_POINTERS, erase

    document = {
        "input": {
            "caller": {"user": "amy"},
            "person": {"scheme": "NI_NUMBER", "value": "QQ123456C"},
            "break_glass": {"reason": "her name is Jane", "requested": True},
        }
    }

    erased_document, erased = erase(document, ERASED_POINTERS)

    assert erased == ["/input/person", "/input/break_glass/reason"]
    assert erased_document == {
        "input": {"caller": {"user": "amy"}, "break_glass": {"requested": True}}
    }
    assert document["input"]["person"]  # the original is untouched
