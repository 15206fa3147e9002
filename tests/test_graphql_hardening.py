"""GraphQL hardening at the edge: limits, media types, production mode, persisted
queries, rate limiting. Each rejection names what was wrong."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import AuthSettings, RequestLimits
from gateway.persisted import sha256_hex
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths
from tests.conftest import PERSON_QUERY, ref
from tests.inprocess import config_for, gateway_client
from tests.jwks_server import AUDIENCE, ISSUER, JwksServer, SigningKey

LIMITS = RequestLimits(
    max_body_bytes=20_000, max_tokens=400, max_depth=6, max_aliases=5, max_cost=150
)
PURPOSES = "{ purposes { id } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
async def demo(
    tmp_path_factory: pytest.TempPathFactory, world: WorldPaths, benefits: SimulatorProcess
) -> AsyncIterator[httpx.AsyncClient]:
    state = tmp_path_factory.mktemp("hardening")
    manifest = state / "persisted.json"
    manifest.write_text(json.dumps({sha256_hex(PURPOSES): PURPOSES}))
    config = config_for(state, world, benefits.url, limits=LIMITS, persisted_queries=manifest)
    token = issue_dev_token(load_dev_key(state), "hardening.user", "social_worker", "o", "t")
    async with gateway_client(config) as client:
        client.headers.update(
            {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"}
        )
        yield client


async def post(client: httpx.AsyncClient, body: Any, accept: str | None = None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return await client.post("/graphql", json=body, headers=headers)


def only_error(response: httpx.Response) -> dict[str, Any]:
    [error] = response.json()["errors"]
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        (
            # Fragments that each spread the next one twice: tiny text, 2^n fields.
            "query { ...F0 } "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(12))
            + " fragment F12 on Query { purposes { id title } }",
            "max_cost",
        ),
        (" ".join(["{"] + [f"a{i}: purposes {{ id }}" for i in range(6)] + ["}"]), "max_aliases"),
        ("{ purposes { " + "id " * 500 + "} }", "max_tokens"),
        (
            "query { ...A } fragment A on Query { people(references: []) { council { cases "
            "{ caseId } } benefits { claims { type } } ...B } } "
            "fragment B on Person { matches { agency } }",
            None,
        ),
    ],
    ids=["cost-fragment-bomb", "aliases", "tokens", "within-limits"],
)
async def test_query_limits_name_the_limit(
    demo: httpx.AsyncClient, query: str, limit: str | None
) -> None:
    response = await post(demo, {"query": query})

    if limit is None:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"]["code"] in ("QUERY_TOO_COMPLEX", "GRAPHQL_PARSE_FAILED")
    assert f"({limit})" in error["message"]


async def test_depth_limit_counts_through_fragments(demo: httpx.AsyncClient) -> None:
    # person > council > cases > caseId is 4 deep; spread inside a 3-deep path → 7 > 6.
    query = (
        "{ people(references: []) { council { cases { ...Deep } } } } "
        "fragment Deep on CouncilCase { caseId } "
    )
    assert (await post(demo, {"query": query})).status_code == 200
    deep = (
        '{ p: person(reference: {scheme: NI_NUMBER, value: "X"}) { ...P } } '
        "fragment P on Person { council { cases { caseId } } matches { agency } "
        "benefits { claims { type } } } "
    )
    assert (await post(demo, {"query": deep})).status_code == 200

    too_deep = (
        "{ __schema { ...T } } "
        "fragment T on __Schema { types { fields { type { ofType { ofType { name } } } } } }"
    )
    response = await post(demo, {"query": too_deep})

    assert response.status_code == 400
    assert "(max_depth)" in only_error(response)["message"]


async def test_body_size_is_capped_while_reading_without_content_length(
    demo: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "'
        for _ in range(1_000):
            yield b" " * 1_000
        yield b'{ purposes { id } }"}'

    response = await demo.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 413
    assert "(max_body_bytes)" in only_error(response)["message"]


async def test_graphql_response_media_type_gets_4xx_for_request_errors(
    demo: httpx.AsyncClient,
) -> None:
    response = await post(demo, {"query": "{ nosuchfield }"}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert only_error(response)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_legacy_json_clients_get_200_for_graphql_request_errors(
    demo: httpx.AsyncClient,
) -> None:
    response = await post(demo, {"query": "{ nosuchfield }"}, accept="application/json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "data" not in response.json()
    assert only_error(response)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_http_level_errors_keep_their_status_for_legacy_clients(
    demo: httpx.AsyncClient,
) -> None:
    response = await demo.post(
        "/graphql",
        content=b"{not json",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert response.status_code == 400

    response = await demo.post("/graphql", content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("", "application/json"),
        ("*/*", GRAPHQL_RESPONSE),
        ("application/json", "application/json"),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, application/json", "application/json"),
    ],
)
async def test_successful_responses_use_the_negotiated_media_type(
    demo: httpx.AsyncClient, accept: str, media_type: str
) -> None:
    response = await demo.post(
        "/graphql",
        content=json.dumps({"query": PURPOSES}),
        headers={"Accept": accept, "Content-Type": "application/json"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type


async def test_unacceptable_accept_header_is_406(demo: httpx.AsyncClient) -> None:
    response = await post(demo, {"query": PURPOSES}, accept="text/csv")

    assert response.status_code == 406


async def test_mutations_over_get_are_405_with_allow(demo: httpx.AsyncClient) -> None:
    response = await demo.get("/graphql", params={"query": "mutation { purposes { id } }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_persisted_query_by_hash_in_demo_mode(demo: httpx.AsyncClient) -> None:
    by_hash = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(PURPOSES)}}}
    assert (await post(demo, by_hash)).json()["data"]["purposes"]

    unknown = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}}
    response = await post(demo, unknown)
    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    mismatch = {"query": "{ purposes { title } }", **by_hash}
    response = await post(demo, mismatch)
    assert only_error(response)["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"

    # Demo mode still runs queries that are not in the manifest.
    assert (await post(demo, {"query": "{ purposes { title } }"})).status_code == 200


async def test_rate_limit_is_per_caller_with_retry_after(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess
) -> None:
    config = config_for(tmp_path, world, benefits.url, limits=RequestLimits(rate_limit="3/minute"))
    key = load_dev_key(tmp_path)

    def auth(user: str) -> dict[str, str]:
        token = issue_dev_token(key, user, "keyworker", "o", None)
        return {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "early_help"}

    async with gateway_client(config) as client:
        statuses = [
            (
                await client.post("/graphql", json={"query": PURPOSES}, headers=auth("amy"))
            ).status_code
            for _ in range(3)
        ]
        limited = await client.post("/graphql", json={"query": PURPOSES}, headers=auth("amy"))
        other = await client.post("/graphql", json={"query": PURPOSES}, headers=auth("bob"))

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert only_error(limited)["extensions"]["code"] == "RATE_LIMITED"
    assert "3/minute" in only_error(limited)["message"]
    assert other.status_code == 200


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[JwksServer, SigningKey]]:
    key = SigningKey.ec()
    server = JwksServer([key]).start()
    yield server, key
    server.stop()


@pytest.fixture(scope="module")
async def production(
    tmp_path_factory: pytest.TempPathFactory,
    world: WorldPaths,
    benefits: SimulatorProcess,
    idp: tuple[JwksServer, SigningKey],
) -> AsyncIterator[httpx.AsyncClient]:
    server, key = idp
    state = tmp_path_factory.mktemp("production-hardening")
    manifest = state / "persisted.json"
    manifest.write_text(json.dumps({sha256_hex(q): q for q in (PURPOSES, PERSON_QUERY)}))
    config = config_for(
        state,
        world,
        benefits.url,
        mode="production",
        auth=AuthSettings(jwks_url=server.url, issuer=ISSUER, audience=AUDIENCE),
        persisted_queries=manifest,
    )
    async with gateway_client(config) as client:
        client.headers.update(
            {"Authorization": f"Bearer {key.sign()}", PURPOSE_HEADER: "safeguarding_children"}
        )
        yield client


async def test_production_serves_no_demo_sign_in(production: httpx.AsyncClient) -> None:
    users = await production.get("/demo/users")
    token = await production.post("/demo/token", json={"user": "amy.keyworker"})

    assert (users.status_code, token.status_code) == (404, 404)
    assert (await production.get("/")).status_code == 200, "the page itself is still served"


async def test_production_serves_no_graphiql(production: httpx.AsyncClient) -> None:
    response = await production.get("/graphql", headers={"Accept": "text/html"})

    assert "graphiql" not in response.text.lower()
    assert response.status_code == 406


async def test_production_runs_only_persisted_queries(
    production: httpx.AsyncClient, person_in_both: dict[str, Any]
) -> None:
    by_hash = {
        "variables": ref("NI_NUMBER", person_in_both["ni_number"]),
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(PERSON_QUERY)}},
    }
    response = await post(production, by_hash)
    assert response.status_code == 200
    assert response.json()["data"]["person"]["benefits"]["niNumber"] == person_in_both["ni_number"]

    assert (await post(production, {"query": PURPOSES})).status_code == 200, (
        "text of a listed query"
    )

    response = await post(production, {"query": "{ purposes { title } }"})
    assert response.status_code == 400
    assert only_error(response)["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"


async def test_production_refuses_introspection(
    tmp_path: Path,
    world: WorldPaths,
    benefits: SimulatorProcess,
    idp: tuple[JwksServer, SigningKey],
) -> None:
    server, key = idp
    config = config_for(
        tmp_path,
        world,
        benefits.url,
        mode="production",
        auth=AuthSettings(jwks_url=server.url, issuer=ISSUER, audience=AUDIENCE),
    )
    async with gateway_client(config) as client:
        response = await client.post(
            "/graphql",
            json={"query": "{ __schema { types { name } } }"},
            headers={"Authorization": f"Bearer {key.sign()}", PURPOSE_HEADER: "early_help"},
        )

    assert response.status_code == 400
    assert "introspection" in only_error(response)["message"]
