"""The gateway's cache of checked documents (gateway/documents.py).

The cache exists for speed (bench/README.md); these tests pin down that it never
changes an answer: bad queries are refused every time, and it stays bounded.
"""

from __future__ import annotations

import httpx
import pytest
from graphql import parse

from gateway.documents import MAX_CACHED_QUERY_CHARS, DocumentCache
from gateway.policy import RequestedField
from gateway.purposes import PURPOSE_HEADER
from resolvers.schema import QueryPlan
from tests.conftest import GatewayProcess


def test_a_kept_document_is_returned_and_the_cache_is_bounded() -> None:
    cache = DocumentCache(size=2)
    documents = {f"{{ q{i} }}": parse(f"{{ q{i} }}") for i in range(3)}
    for query, document in documents.items():
        cache.put(query, document)

    assert cache.get("{ q0 }") is None, "the least recently used entry went first"
    assert cache.get("{ q2 }") is documents["{ q2 }"]


def test_a_plan_is_worked_out_once_per_kept_document() -> None:
    cache = DocumentCache()
    query = "{ q }"
    document = parse(query)
    cache.put(query, document)
    computed: list[object] = []

    def compute(doc: object) -> QueryPlan:
        computed.append(doc)
        return QueryPlan((RequestedField("Person.name", None),), frozenset())

    first = cache.plan(query, document, compute)
    again = cache.plan(query, document, compute)
    other = parse(query)  # the same text, another document (e.g. refused a kept one)
    cache.plan(query, other, compute)

    assert first == again == QueryPlan((RequestedField("Person.name", None),), frozenset())
    assert computed == [document, other]


def test_very_long_queries_are_not_kept() -> None:
    cache = DocumentCache()
    query = "{ purposes { id } }" + " " * MAX_CACHED_QUERY_CHARS
    cache.put(query, parse(query))

    assert cache.get(query) is None


@pytest.mark.parametrize(
    ("query", "code"),
    [("{ person( }", "GRAPHQL_PARSE_FAILED"), ("{ nosuchfield }", "GRAPHQL_VALIDATION_FAILED")],
)
def test_bad_queries_are_refused_every_time(gateway: GatewayProcess, query: str, code: str) -> None:
    headers = {
        "Authorization": f"Bearer {gateway.token('social_worker')}",
        PURPOSE_HEADER: "safeguarding_children",
    }
    for _ in range(2):
        response = httpx.post(gateway.url + "/graphql", json={"query": query}, headers=headers)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == code


def test_a_mutation_over_get_is_refused_even_once_its_document_is_kept(
    gateway: GatewayProcess,
) -> None:
    mutation = (
        'mutation { auditReview { recordBreakGlassReview(requestId: "x", outcome: JUSTIFIED,'
        ' note: "n") { requestId } } }'
    )
    headers = {
        "Authorization": f"Bearer {gateway.token('social_worker')}",
        PURPOSE_HEADER: "safeguarding_children",
    }
    httpx.post(gateway.url + "/graphql", json={"query": mutation}, headers=headers)

    response = httpx.get(gateway.url + "/graphql", params={"query": mutation}, headers=headers)

    assert response.status_code == 405
