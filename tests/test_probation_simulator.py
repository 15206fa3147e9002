"""The probation simulator's GraphQL endpoint: checked documents are reused, never mixed up.

The service parses and validates each distinct query text once (it runs in its own
virtualenv, so it is exercised here as the running process the world starts). The
adapter's read on lookup is checked against it too: one document that finds people
and selects their records answers as a lookup and a read do.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from adapters.probation import ProbationAdapter
from adapters.sdk import LABELS_KEY, Identifier
from simulators.launcher import DemoWorld
from tests.test_adapters import local_ids, lookup_and_read_checked

READ = "query Read($crns: [String!]!) { offenders(crns: $crns) { crn familyName riskLevel } }"


def _post(demo_world: DemoWorld, query: Any, variables: dict[str, Any] | None = None) -> Any:
    url = demo_world.endpoints()["probation"] + "/graphql"
    return httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=10)


def _offenders(demo_world: DemoWorld) -> list[dict[str, Any]]:
    offenders: list[dict[str, Any]] = json.loads(
        demo_world.paths.agency_json("probation").read_text()
    )["offenders"]
    return offenders


def test_one_document_answers_each_request_with_its_own_variables(demo_world: DemoWorld) -> None:
    offenders = _offenders(demo_world)[:3]
    for offender in offenders * 2:
        reply = _post(demo_world, READ, {"crns": [offender["crn"]]})
        assert reply.status_code == 200
        assert reply.json() == {
            "data": {
                "offenders": [
                    {
                        "crn": offender["crn"],
                        "familyName": offender["family_name"],
                        "riskLevel": offender["risk_level"],
                    }
                ]
            }
        }


def test_invalid_documents_get_graphql_errors_every_time(demo_world: DemoWorld) -> None:
    for _ in range(2):  # the second answer comes from the checked-document cache
        syntax = _post(demo_world, "query { offenders(crns: [) }")
        unknown = _post(demo_world, "query { offenders(crns: []) { favouriteColour } }")
        for reply in (syntax, unknown):
            assert reply.status_code == 200
            body = reply.json()
            assert body["data"] is None and body["errors"][0]["message"]
        assert "favouriteColour" in unknown.json()["errors"][0]["message"]


def test_a_query_that_is_not_text_is_refused(demo_world: DemoWorld) -> None:
    reply = _post(demo_world, {"not": "a string"})
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["message"] == "query must be a string"


def test_bad_variables_get_errors_not_a_crash(demo_world: DemoWorld) -> None:
    reply = _post(demo_world, READ, {"crns": [5]})  # a list of String, not of numbers
    assert reply.status_code == 200
    body = reply.json()
    assert body["data"] is None and body["errors"]


async def test_lookup_and_read_many_answers_as_lookup_many_and_read_in_one_query(
    demo_world: DemoWorld,
) -> None:
    offenders = _offenders(demo_world)
    labelled = [o for o in offenders if o["labels"]][:2]
    plain = [o for o in offenders if not o["labels"] and o["ni_number"]][:2]
    assert labelled and plain, "the test world has offenders with and without MAPPA labels"
    sets: tuple[tuple[Identifier, ...], ...] = (
        *((Identifier("CASE_REFERENCE", o["crn"]),) for o in labelled),
        (Identifier("CASE_REFERENCE", "X000000"),),  # nobody
        *((Identifier("NI_NUMBER", o["ni_number"]),) for o in plain),
        (Identifier("PNC_ID", plain[0]["pnc_id"]),),
        (Identifier("NHS_NUMBER", "9434765919"),),  # not a scheme probation keys by
        (),
    )
    adapter = ProbationAdapter(demo_world.endpoints()["probation"], timeout_s=10.0)
    try:
        everything = frozenset(f.name for f in adapter.discover().fields)
        for fields in (everything, frozenset({"riskOfSeriousHarm"})):
            combined = await lookup_and_read_checked(adapter, sets, fields)

            assert local_ids(combined) == [
                *(o["crn"] for o in labelled),
                None,
                *(o["crn"] for o in plain),
                plain[0]["crn"],
                None,
                None,
            ]
            for answer in combined[: len(labelled)]:
                assert answer is not None and answer[1][LABELS_KEY], "labels come along"
    finally:
        await adapter.aclose()
