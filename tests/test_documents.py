"""The gateway's cache of parsed, validated documents (gateway/documents.py).

The cache exists for speed (bench/README.md); these tests pin down that it never
changes an answer: bad queries are still refused every time, and it stays bounded.
"""

from __future__ import annotations

import pytest

from adapters.benefits import BenefitsAdapter
from adapters.council import CouncilAdapter
from gateway.config import REPO_ROOT
from gateway.documents import MAX_CACHED_QUERY_CHARS, DocumentCache, InvalidDocument
from gateway.purposes import load_purposes
from resolvers.schema import GatewaySchema, build_schema
from simulators.world import WorldPaths

QUERY = "query($ref: PersonReference!) { person(reference: $ref) { council { name } } }"


@pytest.fixture(scope="module")
def schema(world: WorldPaths) -> GatewaySchema:
    adapters = {
        "council": CouncilAdapter(world.council_db),
        "benefits": BenefitsAdapter("http://127.0.0.1:9"),  # never called: schema only
    }
    return build_schema(adapters, load_purposes(REPO_ROOT / "policies"))


def test_a_repeated_query_is_prepared_once(schema: GatewaySchema) -> None:
    cache = DocumentCache(schema)
    first = cache.prepare(QUERY)
    assert cache.prepare(QUERY) is first
    assert [f.coordinate for f in first.requested] == [
        "CouncilSection.name",
        "Person.council",
    ]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ person(", "GRAPHQL_PARSE_FAILED"),
        ("{ nosuchfield }", "GRAPHQL_VALIDATION_FAILED"),
    ],
)
def test_bad_queries_are_refused_every_time(schema: GatewaySchema, query: str, code: str) -> None:
    cache = DocumentCache(schema)
    for _ in range(2):
        with pytest.raises(InvalidDocument) as refused:
            cache.prepare(query)
        assert refused.value.code == code


def test_the_cache_is_bounded(schema: GatewaySchema) -> None:
    cache = DocumentCache(schema, size=2)
    queries = [f"query Q{i} {{ purposes {{ id }} }}" for i in range(3)]
    prepared = [cache.prepare(q) for q in queries]
    assert cache.prepare(queries[2]) is prepared[2]
    assert cache.prepare(queries[0]) is not prepared[0]  # evicted, prepared again
    long_query = "query {" + " " * MAX_CACHED_QUERY_CHARS + "purposes { id } }"
    assert cache.prepare(long_query) is not cache.prepare(long_query)
