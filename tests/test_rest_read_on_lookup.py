"""Read on lookup over REST: ``POST /{collection}/lookup`` with ``"records": true`` answers
each query's whole records beside its summaries, and the SDK helper refuses replies whose
records do not line up with the results.

The simulators run in process (their ASGI apps over the session world's data): these tests
are about the bytes of one endpoint, not about processes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse

from adapters.benefits import BenefitsAdapter
from adapters.housing import HousingAdapter
from adapters.schools import SchoolsAdapter
from adapters.sdk import HttpAdapter, Identifier, Match, UpstreamBadReply
from adapters.sdk.http_adapter import RestLookups
from simulators.benefits.app import CLAIMANTS
from simulators.benefits.app import create_app as benefits_app
from simulators.housing.app import TENANTS
from simulators.housing.app import create_app as housing_app
from simulators.rest import Collection, demographics_of
from simulators.schools.app import PUPILS
from simulators.schools.app import create_app as schools_app
from simulators.world import WorldPaths

REST_SYSTEMS: dict[str, tuple[Callable[[Path], Starlette], Collection]] = {
    "benefits": (benefits_app, CLAIMANTS),
    "schools": (schools_app, PUPILS),
    "housing": (housing_app, TENANTS),
}


def _send(app: Starlette, url: str, body: Any) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.post(url, json=body)

    return asyncio.run(call())


def _system(
    world: WorldPaths, agency: str
) -> tuple[Starlette, Collection, list[dict[str, Any]], list[dict[str, str]]]:
    """The agency's app, its collection, its records, and queries: one each for a few
    records (by a value only that record holds) and one for nobody."""
    create_app, collection = REST_SYSTEMS[agency]
    records: list[dict[str, Any]] = json.loads(world.agency_json(agency).read_text())[
        collection.name
    ]
    param = collection.search_params[0]
    holders: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get(param):
            holders.setdefault(record[param], []).append(record)
    unique = [found[0] for found in holders.values() if len(found) == 1][:5]
    queries = [{param: r[param]} for r in unique[:3]] + [{param: "NOBODY-0"}]
    queries += [{param: r[param]} for r in unique[3:]]
    return create_app(world.agency_json(agency)), collection, records, queries


def _summary(collection: Collection, record: Mapping[str, Any]) -> dict[str, Any]:
    """What a lookup answers about a record: its identifiers (and demographics)."""
    found = {f: record.get(f) for f in collection.search_fields}
    if collection.demographic_search:
        found |= demographics_of(record)
    return found


@pytest.mark.parametrize("agency", REST_SYSTEMS)
def test_without_records_the_lookup_reply_is_the_summaries_as_before(
    world: WorldPaths, agency: str
) -> None:
    app, collection, records, queries = _system(world, agency)
    param = collection.search_params[0]
    by_value = {r[param]: r for r in records if r.get(param)}
    expected = JSONResponse(
        {
            "results": [
                [_summary(collection, by_value[q[param]])] if q[param] in by_value else []
                for q in queries
            ]
        }
    ).body

    plain = _send(app, f"/{collection.name}/lookup", {"queries": queries})
    asked_not = _send(app, f"/{collection.name}/lookup", {"queries": queries, "records": False})

    assert plain.status_code == asked_not.status_code == 200
    assert plain.content == asked_not.content == expected


@pytest.mark.parametrize("agency", REST_SYSTEMS)
def test_records_true_answers_each_query_s_whole_records_parallel_to_its_summaries(
    world: WorldPaths, agency: str
) -> None:
    app, collection, _, queries = _system(world, agency)
    plain = _send(app, f"/{collection.name}/lookup", {"queries": queries}).json()

    reply = _send(app, f"/{collection.name}/lookup", {"queries": queries, "records": True})

    assert reply.status_code == 200
    body = reply.json()
    assert list(body) == ["results", "records"]
    assert body["results"] == plain["results"]
    assert len(body["records"]) == len(queries)
    for summaries, whole in zip(body["results"], body["records"], strict=True):
        keys = [s[collection.key] for s in summaries]
        batch = _send(app, f"/{collection.name}/batch", {"ids": keys}).json()
        assert whole == batch[collection.name]  # the same records, in the summaries' order
    assert [len(r) for r in body["records"]] == [1, 1, 1, 0, 1, 1]
    assert reply.content == JSONResponse(body).body


@pytest.mark.parametrize("records", ["yes", 1, None, [True], {"all": True}])
def test_a_records_flag_that_is_not_a_boolean_is_a_bad_request(
    world: WorldPaths, records: Any
) -> None:
    app, collection, _, queries = _system(world, "benefits")

    reply = _send(app, f"/{collection.name}/lookup", {"queries": queries, "records": records})

    assert reply.status_code == 400
    assert "records" in reply.json()["error"]


def test_the_openapi_document_describes_records_on_lookup(world: WorldPaths) -> None:
    app, collection, _, _ = _system(world, "housing")

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.get("/openapi.json")

    lookup = asyncio.run(get()).json()["paths"][f"/{collection.name}/lookup"]["post"]
    asked = lookup["requestBody"]["content"]["application/json"]["schema"]["properties"]
    answered = lookup["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert asked["records"]["type"] == "boolean"
    assert answered["records"]["items"]["items"] == {"$ref": "#/components/schemas/Record"}


# --- the SDK helper: RestLookups.lookup_and_read_many ----------------------------------------

PEOPLE = ((Identifier("NI_NUMBER", "AA1"),), (Identifier("NI_NUMBER", "BB2"),))


class CannedUpstream:
    """Answers every ``json`` call with one reply, remembering what was sent."""

    def __init__(self, reply: Any) -> None:
        self.reply, self.sent = reply, []

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        self.sent.append((method, url, kwargs["json"]))
        return self.reply


async def _helper(reply: Any) -> tuple[list[tuple[Match, Mapping[str, Any]] | None], Any]:
    """The helper over a canned reply: its answer, and the request it sent."""

    def match(query: Mapping[str, str], summaries: Any) -> Match | None:
        return Match("test", summaries[0]["id"]) if summaries else None

    def sections(reply: Any, fields: frozenset[str]) -> Mapping[str, Mapping[str, Any]]:
        return {r["id"]: {f: r[f] for f in fields} for r in reply["people"]}

    upstream = CannedUpstream(reply)
    lookups = RestLookups("test", "people", {"NI_NUMBER": "ni"}, match, sections)
    found = await lookups.lookup_and_read_many(
        upstream,  # type: ignore[arg-type]
        PEOPLE,
        frozenset({"name"}),
    )
    return found, upstream.sent[0]


async def test_the_helper_asks_for_records_and_pairs_each_match_with_its_record() -> None:
    reply = {
        "results": [[{"id": "1"}], []],
        "records": [[{"id": "1", "name": "Ann"}], []],
    }

    found, sent = await _helper(reply)

    assert sent == (
        "POST",
        "/people/lookup",
        {"queries": [{"ni": "AA1"}, {"ni": "BB2"}], "records": True},
    )
    assert found == [(Match("test", "1"), {"name": "Ann"}), None]


@pytest.mark.parametrize(
    "reply",
    [
        {"results": [[{"id": "1"}], []]},  # no records
        {"results": [[{"id": "1"}], []], "records": {"1": []}},  # not a list
        {"results": [[{"id": "1"}], []], "records": [[{"id": "1", "name": "Ann"}]]},  # too few
        {"results": [[{"id": "1"}], []], "records": [[], []]},  # not parallel to the summaries
        {"results": [[{"id": "1"}], []], "records": [[{"id": "2", "name": "Bo"}], []]},  # other
    ],
    ids=["missing", "not-a-list", "too-few", "not-parallel", "not-the-matched-record"],
)
async def test_the_helper_refuses_records_that_do_not_line_up_with_the_results(
    reply: Any,
) -> None:
    with pytest.raises(UpstreamBadReply):
        await _helper(reply)


# --- the REST adapters: a malformed record found on lookup is a bad reply, as in read() ----

HELD = {"ni_number": "QQ123456C", "nhs_number": "9434765919", "pupil_id": "P1", "housing_ref": "H1"}
"""A summary every REST adapter can match (each takes the keys it knows)."""


@pytest.mark.parametrize("adapter", [BenefitsAdapter, SchoolsAdapter, HousingAdapter])
async def test_a_malformed_record_found_on_lookup_is_a_bad_reply(
    adapter: type[HttpAdapter], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def post(method: str, url: str, **kwargs: Any) -> Any:
        asked = len(kwargs["json"]["queries"])
        return {"results": [[HELD]] * asked, "records": [[dict(HELD)]] * asked}  # no fields

    built = adapter("http://127.0.0.1:9", timeout_s=1.0)  # never called: the reply is canned
    monkeypatch.setattr(built._upstream, "json", post)
    scheme = built.discover().lookup_schemes[0]
    try:
        with pytest.raises(UpstreamBadReply, match=r"(claimant|pupil|tenant) reply"):
            await built.lookup_and_read_many(((Identifier(scheme, "X1"),),), frozenset({"name"}))
    finally:
        await built.aclose()
