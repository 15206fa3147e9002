"""Hostile callers: generated malformed documents, variables, bodies and headers.

Property: every request gets a clear 4xx or a well-formed GraphQL response,
never a 5xx, never a stack trace or an internal address. Bounded example counts
keep the suite fast; the gateway is a real process on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess
from tests.conftest import PERSON_QUERY, GatewayFactory, GatewayProcess

EXAMPLES = 120
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TOKENS = [
    "{", "}", "(", ")", "[", "]", ":", "$ref", "!", "...", "@include(if: true)", "@skip",
    "query", "mutation", "subscription", "fragment", "on", "Person", "Query", "person",
    "people", "purposes", "id", "council", "benefits", "cases", "caseId", "name",
    "matches", "agency", "reference:", "references:", "scheme:", "value:", "NI_NUMBER",
    "COUNCIL_ID", "PASSPORT", '"QQ123456C"', '"\\u0000"', '"""block"""', "1e999", "-0",
    "null", "true", "a:", "__schema", "__typename", "__type(name: \"Person\")", "#", ",",
    "= 1", "$ref: PersonReference!", "\\", "\u0000", "é", "\U0001f600",
]  # fmt: skip

documents = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join),
    st.text(max_size=300),
    st.tuples(
        st.integers(0, len(PERSON_QUERY)), st.integers(0, len(PERSON_QUERY)), st.text(max_size=20)
    ).map(lambda cut: PERSON_QUERY[: cut[0]] + cut[2] + PERSON_QUERY[cut[1] :]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=25,
)
# Printable ASCII without surrounding blanks: what an HTTP client can send at all.
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(
    str.strip
)


@pytest.fixture(scope="module")
def gateway(start_gateway: GatewayFactory, benefits: SimulatorProcess) -> GatewayProcess:
    return start_gateway(extra_args=("--rate-limit", "100000/minute"))


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def auth(gateway: GatewayProcess) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {gateway.token('social_worker')}",
        PURPOSE_HEADER: "safeguarding_children",
    }


def assert_clear_answer(response: httpx.Response, gateway: GatewayProcess) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    assert "127.0.0.1" not in response.text
    if response.status_code == 406:
        return
    body = response.json()
    assert isinstance(body, dict)
    assert "data" in body or body.get("errors")
    for error in body.get("errors", []):
        assert isinstance(error["message"], str) and error["message"]
        assert isinstance(error["extensions"]["code"], str)


@SETTINGS
@given(query=documents, operation=st.none() | st.text(max_size=10))
def test_malformed_documents(
    gateway: GatewayProcess, client: httpx.Client, query: str, operation: str | None
) -> None:
    response = client.post(
        gateway.url + "/graphql",
        json={"query": query, "operationName": operation},
        headers=auth(gateway),
    )
    assert_clear_answer(response, gateway)


@SETTINGS
@given(variables=json_values)
def test_malformed_variables(gateway: GatewayProcess, client: httpx.Client, variables: Any) -> None:
    response = client.post(
        gateway.url + "/graphql",
        content=json.dumps({"query": PERSON_QUERY, "variables": variables}),
        headers={**auth(gateway), "Content-Type": "application/json"},
    )
    assert_clear_answer(response, gateway)


@SETTINGS
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_malformed_bodies(gateway: GatewayProcess, client: httpx.Client, body: bytes) -> None:
    response = client.post(
        gateway.url + "/graphql",
        content=body,
        headers={**auth(gateway), "Content-Type": "application/json"},
    )
    assert_clear_answer(response, gateway)


@SETTINGS
@given(
    headers=st.fixed_dictionaries(
        {},
        optional={
            "Authorization": header_text | header_text.map(lambda t: f"Bearer {t}".strip()),
            "Accept": header_text,
            "Content-Type": header_text,
            PURPOSE_HEADER: header_text,
            "X-Request-Id": header_text,
        },
    ),
    method=st.sampled_from(["GET", "POST"]),
)
def test_malformed_headers(
    gateway: GatewayProcess, client: httpx.Client, headers: dict[str, str], method: str
) -> None:
    response = client.request(
        method,
        gateway.url + "/graphql",
        params={"query": "{ purposes { id } }"} if method == "GET" else None,
        content=json.dumps({"query": "{ purposes { id } }"}) if method == "POST" else None,
        headers=headers,
    )
    assert_clear_answer(response, gateway)
    request_id = response.headers["x-request-id"]
    assert request_id.isprintable() and len(request_id) <= 64
