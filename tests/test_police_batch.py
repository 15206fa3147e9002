"""The police's SOAP batch operations, and the adapter's batch lookup and search over them.

``FindNominalBatch`` and ``SearchNominalsBatch`` carry up to 100 ``FindNominal`` /
``SearchNominals`` requests in one envelope and answer one response per request, in
order; ``FindNominalBatch withRecords="true"`` adds the found nominals' full records
(the adapter's read on lookup). Checked on the real simulator: answers in order, people
it does not hold, the size cap and flags a batch does not take (a SOAP Client fault, as
the WSDL says). Checked on a stand-in service that serves the simulator's own replies
tampered with: a batch reply that does not answer each request exactly once, lacks the
record of a nominal found, or is not safe, well-formed XML, is a bad reply for every
person of the batch, and no data from it reaches the error.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from xml.etree.ElementTree import Element, tostring

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.police import PoliceAdapter
from adapters.police.adapter import SECTION
from adapters.sdk import (
    LABELS_KEY,
    Demographics,
    Identifier,
    UpstreamBadReply,
    UpstreamUnavailable,
)
from adapters.sdk.conformance.calls import count_http_requests
from adapters.sdk.xml import parse_xml
from resolvers.fanout import FanOut
from simulators.launcher import DemoWorld, free_port
from simulators.police.app import XML_BOMB
from simulators.world import WorldPaths
from tests.conftest import agency_records
from tests.test_adapters import local_ids, lookup_and_read_checked

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:joinedup:police:nominals:v1"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
PEOPLE = 12


def envelope(operation: str, requests: list[str], attributes: str = "") -> bytes:
    """A SOAP 1.1 envelope with one operation (with ``attributes``, e.g. ``withRecords="1"``)
    holding ``requests`` (XML fragments)."""
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_NS}" xmlns:p="{NS}"><soap:Body>'
        f"<p:{operation}{' ' + attributes if attributes else ''}>{''.join(requests)}"
        f"</p:{operation}></soap:Body></soap:Envelope>"
    ).encode()


def find(pnc: str) -> str:
    return f"<p:FindNominal><p:pncId>{pnc}</p:pncId></p:FindNominal>"


SEARCH = (
    "<p:SearchNominals><p:familyName>X</p:familyName>"
    "<p:dateOfBirth>2000-01-01</p:dateOfBirth></p:SearchNominals>"
)
SEARCH_WITHOUT_DATE_OF_BIRTH = "<p:SearchNominals><p:familyName>X</p:familyName></p:SearchNominals>"


async def post(url: str, operation: str, document: bytes) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            url + "/NominalService",
            content=document,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f"{NS}#{operation}"},
        )


def fault_code(reply: httpx.Response) -> str | None:
    return parse_xml("police", reply.content).findtext(
        f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault/faultcode"
    )


@pytest.fixture
async def police(demo_world: DemoWorld) -> Any:
    adapter = PoliceAdapter(demo_world.endpoints()["police"], timeout_s=10.0)
    yield adapter
    await adapter.aclose()


@pytest.fixture(scope="module")
def known(ground_truth: list[dict[str, Any]], world: WorldPaths) -> list[dict[str, Any]]:
    """People the police hold whose nominal record carries their NI number."""
    nominals = agency_records(world, "police", "nominals", "pnc_id")
    return [
        p
        for p in ground_truth
        if "police" in p["records"]
        and p["ni_number"]
        and nominals[p["records"]["police"]]["ni_number"] == p["ni_number"]
    ][:PEOPLE]


async def test_lookup_many_answers_each_person_in_order_including_unknown_ones(
    police: PoliceAdapter, known: list[dict[str, Any]]
) -> None:
    # (identifiers, the nominal they must find) by PNC id, by NI number, and nobody.
    asked: list[tuple[tuple[Identifier, ...], str | None]] = [
        ((Identifier("PNC_ID", p["records"]["police"]),), p["records"]["police"])
        for p in known[: PEOPLE // 2]
    ]
    asked += [
        ((Identifier("NI_NUMBER", p["ni_number"]),), p["records"]["police"])
        for p in known[PEOPLE // 2 :]
    ]
    asked.insert(3, ((Identifier("PNC_ID", "2001/0000001Z"),), None))
    asked.insert(5, ((Identifier("NHS_NUMBER", "9434765919"),), None))  # not a police scheme
    asked.insert(7, ((), None))
    sets = tuple(identifiers for identifiers, _ in asked)

    with count_http_requests() as calls:
        forwards = await police.lookup_many(sets)
    backwards = await police.lookup_many(tuple(reversed(sets)))

    assert calls.count == 1
    assert [m.local_id if m else None for m in forwards] == [nominal for _, nominal in asked]
    assert backwards == list(reversed(forwards))
    assert forwards == [await police.lookup(identifiers) for identifiers in sets]


async def test_a_batch_with_nothing_to_ask_is_not_sent(police: PoliceAdapter) -> None:
    with count_http_requests() as calls:
        found = await police.lookup_many(((), (Identifier("NHS_NUMBER", "9434765919"),)))
        searched = await police.search_many((Demographics("Only", "A Name"),))
    assert found == [None, None]
    assert searched == [[]]
    assert calls.count == 0


async def test_search_many_answers_each_search_in_order(
    police: PoliceAdapter, known: list[dict[str, Any]]
) -> None:
    # (details searched for, the nominal they must find): known people, nobody, too thin.
    searched: list[tuple[Demographics, str | None]] = [
        (
            Demographics(p["given_name"], p["family_name"], p["date_of_birth"]),
            p["records"]["police"],
        )
        for p in known
    ]
    searched.insert(2, (Demographics("Conformance", "Nobody", "1900-01-01"), None))
    searched.insert(4, (Demographics("Only", "A Name"), None))  # nobody is asked
    wanted = tuple(who for who, _ in searched)

    with count_http_requests() as calls:
        forwards = await police.search_many(wanted)
    backwards = await police.search_many(tuple(reversed(wanted)))

    assert calls.count == 1
    assert forwards[2] == [] and forwards[4] == []
    assert backwards == list(reversed(forwards))
    assert forwards == [await police.search(who) for who in wanted]
    found = sum(
        nominal in {c.local_id for c in candidates}
        for (_, nominal), candidates in zip(searched, forwards, strict=True)
        if nominal is not None
    )
    assert found >= PEOPLE // 2


async def test_lookup_and_read_many_answers_as_lookup_many_and_read_in_one_call(
    police: PoliceAdapter, known: list[dict[str, Any]], world: WorldPaths
) -> None:
    nominals = agency_records(world, "police", "nominals", "pnc_id")
    refuge = next(pnc for pnc, nominal in nominals.items() if nominal["labels"])
    sets: tuple[tuple[Identifier, ...], ...] = (
        (Identifier("PNC_ID", refuge),),
        *((Identifier("PNC_ID", p["records"]["police"]),) for p in known[:3]),
        (Identifier("PNC_ID", "2001/0000001Z"),),  # nobody
        *((Identifier("NI_NUMBER", p["ni_number"]),) for p in known[3:6]),
        (Identifier("NHS_NUMBER", "9434765919"),),  # not a police scheme
        (),
    )
    for fields in (frozenset(f.name for f in SECTION.fields), frozenset({"missingEpisodes"})):
        combined = await lookup_and_read_checked(police, sets, fields)

        assert local_ids(combined) == [
            refuge,
            *(p["records"]["police"] for p in known[:3]),
            None,
            *(p["records"]["police"] for p in known[3:6]),
            None,
            None,
        ]
        assert combined[0] is not None and combined[0][1][LABELS_KEY] == ["refuge_address"]


@pytest.mark.parametrize(
    ("operation", "request_xml", "flag"),
    [
        ("SearchNominalsBatch", SEARCH, 'withRecords="true"'),
        ("FindNominalBatch", find("2001/0000001Z"), 'withRecords="yes"'),
    ],
    ids=["records-of-a-search-batch", "not-an-xsd-boolean"],
)
async def test_the_service_refuses_a_with_records_flag_it_cannot_honour(
    demo_world: DemoWorld, operation: str, request_xml: str, flag: str
) -> None:
    url = demo_world.endpoints()["police"]
    refused = await post(url, operation, envelope(operation, [request_xml], flag))
    assert (refused.status_code, fault_code(refused)) == (500, "soap:Client")


async def test_the_service_refuses_a_batch_over_its_cap_with_a_client_fault(
    demo_world: DemoWorld, police: PoliceAdapter, known: list[dict[str, Any]]
) -> None:
    url = demo_world.endpoints()["police"]
    pnc = known[0]["records"]["police"]
    cap = police.discover().max_batch

    at_cap = await post(url, "FindNominalBatch", envelope("FindNominalBatch", [find(pnc)] * cap))
    over = await post(
        url, "FindNominalBatch", envelope("FindNominalBatch", [find(pnc)] * (cap + 1))
    )
    searches_over = await post(
        url, "SearchNominalsBatch", envelope("SearchNominalsBatch", [SEARCH] * (cap + 1))
    )

    assert at_cap.status_code == 200
    responses = parse_xml("police", at_cap.content).find(
        f"{{{SOAP_NS}}}Body/{{{NS}}}FindNominalBatchResponse"
    )
    assert responses is not None and len(responses) == cap
    assert (over.status_code, fault_code(over)) == (500, "soap:Client")
    assert (searches_over.status_code, fault_code(searches_over)) == (500, "soap:Client")
    with pytest.raises(UpstreamUnavailable) as raised:
        await police.lookup_many(((Identifier("PNC_ID", pnc),),) * (cap + 1))
    assert raised.value.detail.endswith("SOAP Fault soap:Client")


@pytest.mark.parametrize(
    ("operation", "valid", "invalid"),
    [
        ("FindNominalBatch", find("2001/0000001Z"), SEARCH),
        ("SearchNominalsBatch", SEARCH, find("2001/0000001Z")),
        ("SearchNominalsBatch", SEARCH, SEARCH_WITHOUT_DATE_OF_BIRTH),
    ],
    ids=["search-in-a-find-batch", "find-in-a-search-batch", "search-without-date-of-birth"],
)
async def test_the_service_refuses_a_batch_with_an_invalid_request(
    demo_world: DemoWorld, operation: str, valid: str, invalid: str
) -> None:
    url = demo_world.endpoints()["police"]
    accepted = await post(url, operation, envelope(operation, [valid, valid]))
    refused = await post(url, operation, envelope(operation, [valid, invalid]))
    assert accepted.status_code == 200
    assert (refused.status_code, fault_code(refused)) == (500, "soap:Client")


def test_the_wsdl_says_a_find_batch_may_ask_for_records(demo_world: DemoWorld) -> None:
    reply = httpx.get(demo_world.endpoints()["police"] + "/NominalService?wsdl")
    wsdl = parse_xml("police", reply.content)
    schema_elements = {e.get("name"): e for e in wsdl.iter(f"{{{XSD_NS}}}element")}

    flag = schema_elements["FindNominalBatch"].find(f".//{{{XSD_NS}}}attribute")
    assert flag is not None
    assert (flag.get("name"), flag.get("type"), flag.get("default")) == (
        "withRecords",
        "xsd:boolean",
        "false",
    )
    assert schema_elements["SearchNominalsBatch"].find(f".//{{{XSD_NS}}}attribute") is None
    assert schema_elements["record"].get("type") == "tns:Nominal"
    response = schema_elements["FindNominalResponse"]
    assert schema_elements["record"] in list(response.iter(f"{{{XSD_NS}}}element"))


def test_the_wsdl_caps_batches_at_the_adapters_max_batch(demo_world: DemoWorld) -> None:
    reply = httpx.get(demo_world.endpoints()["police"] + "/NominalService?wsdl")
    wsdl = parse_xml("police", reply.content)
    schema_elements = {e.get("name"): e for e in wsdl.iter(f"{{{XSD_NS}}}element")}
    cap = str(SECTION.max_batch)
    for batch, request in (
        ("FindNominalBatch", "tns:FindNominal"),
        ("SearchNominalsBatch", "tns:SearchNominals"),
    ):
        item = schema_elements[batch].find(f".//{{{XSD_NS}}}element")
        assert item is not None
        assert (item.get("ref"), item.get("maxOccurs")) == (request, cap)


class TamperedPolice:
    """A stand-in NominalService on loopback that answers every POST with ``reply``."""

    def __init__(self) -> None:
        self.reply = b""
        self.posts = 0
        self.port = free_port()
        app = Starlette(
            routes=[
                Route("/health", lambda _: JSONResponse({"status": "ok"})),
                Route("/NominalService", self._service, methods=["POST"]),
            ]
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _service(self, request: Request) -> Response:
        self.posts += 1
        return Response(self.reply, media_type="text/xml")

    def __enter__(self) -> TamperedPolice:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "stand-in police service did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def tampered() -> Iterator[TamperedPolice]:
    with TamperedPolice() as service:
        yield service


def _responses(document: Element) -> Element:
    found = document.find(f"{{{SOAP_NS}}}Body/{{{NS}}}FindNominalBatchResponse")
    assert found is not None
    return found


def drop_last(document: Element) -> None:
    responses = _responses(document)
    responses.remove(responses[-1])


def one_extra(document: Element) -> None:
    responses = _responses(document)
    responses.append(responses[0])


def wrong_kind(document: Element) -> None:
    _responses(document)[0].tag = f"{{{NS}}}SearchNominalsResponse"


def nominal_without_pnc(document: Element) -> None:
    nominal = _responses(document)[0][0]
    nominal.remove(nominal[0])


TAMPERS: dict[str, Callable[[Element], None] | bytes] = {
    "one-response-missing": drop_last,
    "one-response-too-many": one_extra,
    "a-response-of-another-kind": wrong_kind,
    "a-nominal-without-pnc-id": nominal_without_pnc,
    "xml-bomb": XML_BOMB.encode(),
    "not-well-formed": b'<soap:Envelope xmlns:soap="'
    + SOAP_NS.encode()
    + b'"><soap:Body><unclosed>',
}


@pytest.mark.parametrize("tamper", TAMPERS.values(), ids=TAMPERS.keys())
async def test_a_bad_batch_reply_is_a_bad_reply_for_everyone_without_its_data(
    demo_world: DemoWorld,
    known: list[dict[str, Any]],
    tampered: TamperedPolice,
    tamper: Callable[[Element], None] | bytes,
) -> None:
    people = known[:4]
    requests = [find(p["records"]["police"]) for p in people]
    real = await post(
        demo_world.endpoints()["police"], "FindNominalBatch", envelope("FindNominalBatch", requests)
    )
    if isinstance(tamper, bytes):
        tampered.reply = tamper
    else:
        document = parse_xml("police", real.content)
        tamper(document)
        tampered.reply = tostring(document)
    references = [Identifier("PNC_ID", p["records"]["police"]) for p in people]
    adapter = PoliceAdapter(tampered.url, timeout_s=5.0)
    try:
        with pytest.raises(UpstreamBadReply) as raised:
            await adapter.lookup_many(tuple((ref,) for ref in references))
        fanout = FanOut({"police": adapter})
        posts = tampered.posts
        found = await asyncio.gather(*(fanout.find(ref) for ref in references))
    finally:
        await adapter.aclose()

    assert tampered.posts == posts + 1, "the fan-out sent its people in one batch"
    assert all(set(person.lookup_errors) == {"police"} for person in found)
    assert all(not person.matches for person in found)
    errors = [raised.value, *(person.lookup_errors["police"] for person in found)]
    assert all(error.code == "UPSTREAM_BAD_REPLY" for error in errors)
    for person in people:
        for value in (person["records"]["police"], person["ni_number"], person["family_name"]):
            assert all(value not in str(error) for error in errors), "no reply data in errors"


def record_missing(responses: Element) -> None:
    first = responses[0]
    first.remove(first[-1])


def records_swapped(responses: Element) -> None:
    first, second = responses[0], responses[1]
    first_record, second_record = first[-1], second[-1]
    first.remove(first_record)
    second.remove(second_record)
    first.append(second_record)
    second.append(first_record)


@pytest.mark.parametrize(
    "tamper", [record_missing, records_swapped], ids=["a-record-missing", "records-swapped"]
)
async def test_a_lookup_without_the_record_of_its_nominal_is_a_bad_reply(
    demo_world: DemoWorld,
    known: list[dict[str, Any]],
    tampered: TamperedPolice,
    tamper: Callable[[Element], None],
) -> None:
    people = known[:2]
    real = await post(
        demo_world.endpoints()["police"],
        "FindNominalBatch",
        envelope(
            "FindNominalBatch", [find(p["records"]["police"]) for p in people], 'withRecords="true"'
        ),
    )
    document = parse_xml("police", real.content)
    assert all(r[-1].tag == f"{{{NS}}}record" for r in _responses(document))
    tamper(_responses(document))
    tampered.reply = tostring(document)
    adapter = PoliceAdapter(tampered.url, timeout_s=5.0)
    try:
        with pytest.raises(UpstreamBadReply) as raised:
            await adapter.lookup_and_read_many(
                tuple((Identifier("PNC_ID", p["records"]["police"]),) for p in people),
                frozenset(f.name for f in SECTION.fields),
            )
    finally:
        await adapter.aclose()

    assert "no record of its nominal" in raised.value.detail
    for person in people:
        for value in (person["records"]["police"], person["ni_number"], person["family_name"]):
            assert value not in str(raised.value), "no reply data in the error"
