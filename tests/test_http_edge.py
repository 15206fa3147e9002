"""GraphQL over HTTP at the edge: GET and POST, GraphiQL, health, bad requests."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.purposes import PURPOSE_HEADER
from tests.browser import rendered_dom
from tests.conftest import PERSON_QUERY, GatewayProcess, ref


def headers(gateway: GatewayProcess) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {gateway.token('social_worker')}",
        PURPOSE_HEADER: "safeguarding_children",
    }


def test_healthz(gateway: GatewayProcess) -> None:
    assert httpx.get(gateway.url + "/healthz").json() == {"status": "ok"}


def test_graphiql_is_served_to_browsers(gateway: GatewayProcess) -> None:
    response = httpx.get(gateway.url + "/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_query_over_get(gateway: GatewayProcess, person_in_both: dict[str, Any]) -> None:
    response = httpx.get(
        gateway.url + "/graphql",
        params={
            "query": PERSON_QUERY,
            "variables": json.dumps(ref("NI_NUMBER", person_in_both["ni_number"])),
        },
        headers=headers(gateway),
    )

    assert response.status_code == 200
    assert (
        response.json()["data"]["person"]["council"]["councilId"] == (person_in_both["council_id"])
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "BAD_REQUEST"),
        (b"[]", 400, "BAD_REQUEST"),
        (b'{"variables": {}}', 400, "BAD_REQUEST"),
        (b'{"query": "{ person( }"}', 400, "GRAPHQL_PARSE_FAILED"),
        (b'{"query": "{ nosuchfield }"}', 400, "GRAPHQL_VALIDATION_FAILED"),
        (b'{"query": "{ purposes { id } }", "variables": [1]}', 400, "BAD_REQUEST"),
        (
            b'{"query": "query A { purposes { id } } query B { purposes { id } }"}',
            400,
            "BAD_REQUEST",
        ),
    ],
    ids=[
        "bad-json",
        "not-object",
        "no-query",
        "parse",
        "validation",
        "bad-variables",
        "ambiguous-operation",
    ],
)
def test_malformed_requests_get_clear_errors(
    gateway: GatewayProcess, body: bytes, status: int, code: str
) -> None:
    response = httpx.post(
        gateway.url + "/graphql",
        content=body,
        headers={**headers(gateway), "Content-Type": "application/json"},
    )

    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code


def test_oversized_body_is_refused(gateway: GatewayProcess) -> None:
    query = "{ purposes { id } }" + " " * 1_100_000
    response = httpx.post(gateway.url + "/graphql", json={"query": query}, headers=headers(gateway))

    assert response.status_code == 413


def test_invalid_identifier_scheme_is_a_validation_error(gateway: GatewayProcess) -> None:
    response = gateway.query(ref("PASSPORT", "123"))

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "IdentifierScheme" in error["message"]


def test_graphiql_renders_in_a_real_browser_without_internet(gateway: GatewayProcess) -> None:
    dom = rendered_dom(gateway.url + "/graphql")

    assert "graphiql-container" in dom, "GraphiQL did not render from the vendored assets"
    assert "X-Purpose-Of-Use" in dom, "the headers editor starts with the purpose header"
