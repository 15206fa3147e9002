"""Each adapter against its own running simulator: lookups, batched reads, reads on
lookup, and every way the upstream can misbehave becoming one clear SDK error."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.benefits import BenefitsAdapter
from adapters.housing import HousingAdapter
from adapters.nhs import NhsAdapter
from adapters.police import PoliceAdapter
from adapters.probation import ProbationAdapter
from adapters.schools import SchoolsAdapter
from adapters.sdk import (
    LABELS_KEY,
    SENSITIVITY_LABELS,
    Adapter,
    AdapterError,
    Identifier,
    Match,
    UpstreamBadReply,
    UpstreamUnavailable,
)
from adapters.sdk.conformance.calls import count_http_requests
from adapters.sdk.xml import parse_xml
from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths


@dataclass(frozen=True)
class Case:
    agency: str
    adapter: Callable[..., Adapter]
    scheme: str
    truth_key: str
    """Ground-truth field holding the identifier to look the person up by."""
    hostile: type[AdapterError]
    """What the simulator's protocol-specific hostile reply must become."""


CASES = [
    Case("benefits", BenefitsAdapter, "NI_NUMBER", "ni_number", UpstreamBadReply),
    Case("nhs", NhsAdapter, "NHS_NUMBER", "nhs_number", UpstreamBadReply),
    Case("schools", SchoolsAdapter, "NHS_NUMBER", "nhs_number", UpstreamBadReply),
    Case("police", PoliceAdapter, "PNC_ID", "pnc_id", UpstreamBadReply),
    Case("probation", ProbationAdapter, "NI_NUMBER", "ni_number", UpstreamBadReply),
    Case("housing", HousingAdapter, "NI_NUMBER", "ni_number", UpstreamBadReply),
]
IDS = [case.agency for case in CASES]
READ_ON_LOOKUP = [case for case in CASES if case.agency in ("nhs", "police", "probation")]


@pytest.fixture(scope="module")
def own_systems(world: WorldPaths) -> Iterator[dict[str, SimulatorProcess]]:
    """Private simulators these tests may break without disturbing other tests."""
    systems = {case.agency: SimulatorProcess.for_agency(case.agency, world) for case in CASES}
    try:
        for system in systems.values():
            system.start()
        yield systems
    finally:
        for system in systems.values():
            system.stop()


async def set_faults(system: SimulatorProcess, **faults: bool) -> None:
    async with httpx.AsyncClient() as client:
        (await client.put(system.url + "/_sim/faults", json=faults)).raise_for_status()


@pytest.fixture
async def connected(
    request: pytest.FixtureRequest, own_systems: dict[str, SimulatorProcess]
) -> Any:
    case: Case = request.param
    system = own_systems[case.agency]
    adapter = case.adapter(system.url, timeout_s=2.0)
    yield case, adapter, system
    await adapter.aclose()
    await set_faults(system, outage=False, malformed=False, wrong_content_type=False, hostile=False)


def all_labels(record: Any) -> list[str]:
    """Every label on a record and on the items of its lists."""
    found = list(record.get(LABELS_KEY, []))
    for value in record.values():
        if isinstance(value, list):
            found += [
                label for item in value if isinstance(item, dict) for label in all_labels(item)
            ]
    return found


@pytest.mark.parametrize("connected", CASES, ids=IDS, indirect=True)
async def test_lookup_then_batched_read_finds_the_person_known_to_all(
    connected: Any, person_in_all: dict[str, Any]
) -> None:
    case, adapter, _ = connected
    spec = adapter.discover()

    match = await adapter.lookup((Identifier(case.scheme, person_in_all[case.truth_key]),))

    assert match is not None
    assert match.local_id == person_in_all["records"][case.agency]
    assert (await adapter.check()).ok
    fields = frozenset(f.name for f in spec.fields)
    records = await adapter.read((match.local_id, "UNKNOWN-ID"), fields)
    assert set(records) == {match.local_id}, "unknown ids are left out, not errors"
    record = records[match.local_id]
    assert set(record) - {LABELS_KEY} == fields
    assert set(all_labels(record)) <= set(spec.labels) <= set(SENSITIVITY_LABELS)


@pytest.mark.parametrize("connected", CASES, ids=IDS, indirect=True)
async def test_unknown_identifier_is_no_match(connected: Any) -> None:
    case, adapter, _ = connected
    value = {"NI_NUMBER": "AB000000A", "NHS_NUMBER": "9434765919", "PNC_ID": "2001/0000001Z"}
    assert await adapter.lookup((Identifier(case.scheme, value[case.scheme]),)) is None


@pytest.mark.parametrize("connected", CASES, ids=IDS, indirect=True)
async def test_read_returns_only_the_fields_asked_for(
    connected: Any, person_in_all: dict[str, Any]
) -> None:
    case, adapter, _ = connected
    one_field = adapter.discover().fields[1].name
    local_id = person_in_all["records"][case.agency]

    records = await adapter.read((local_id,), frozenset({one_field}))

    assert set(records[local_id]) - {LABELS_KEY} == {one_field}


@pytest.mark.parametrize(
    ("fault", "error", "detail"),
    [
        ("malformed", UpstreamBadReply, "not"),
        ("wrong_content_type", UpstreamBadReply, "content type 'text/html'"),
        ("outage", UpstreamUnavailable, "HTTP 503"),
    ],
)
@pytest.mark.parametrize("connected", CASES, ids=IDS, indirect=True)
async def test_broken_upstream_replies_become_sdk_errors(
    connected: Any,
    person_in_all: dict[str, Any],
    fault: str,
    error: type[AdapterError],
    detail: str,
) -> None:
    case, adapter, system = connected
    await set_faults(system, **{fault: True})

    with pytest.raises(error) as raised:
        await adapter.read((person_in_all["records"][case.agency],), frozenset({"name"}))

    assert raised.value.agency == case.agency
    assert detail in raised.value.detail


@pytest.mark.parametrize("connected", CASES, ids=IDS, indirect=True)
async def test_hostile_upstream_reply_becomes_bad_reply_without_its_text(
    connected: Any, person_in_all: dict[str, Any]
) -> None:
    """XML bomb (police), OperationOutcome (NHS), GraphQL errors (probation), odd JSON."""
    case, adapter, system = connected
    await set_faults(system, hostile=True)

    with pytest.raises(case.hostile) as raised:
        await adapter.read((person_in_all["records"][case.agency],), frozenset({"name"}))

    message = str(raised.value)
    assert "9434765919" not in message and "X123456" not in message, "no upstream text leaks"
    expected = {
        "police": "unsafe XML",
        "nhs": "OperationOutcome error/processing",
        "probation": "GraphQL reply has 1 error(s)",
    }.get(case.agency, "unexpected shape")
    assert expected in message


@pytest.mark.parametrize("fault", ["malformed", "hostile"])
@pytest.mark.parametrize(
    "connected", READ_ON_LOOKUP, ids=[case.agency for case in READ_ON_LOOKUP], indirect=True
)
async def test_a_broken_reply_to_a_read_on_lookup_is_a_bad_reply(
    connected: Any, person_in_all: dict[str, Any], fault: str
) -> None:
    case, adapter, system = connected
    assert adapter.discover().read_on_lookup
    await set_faults(system, **{fault: True})

    with pytest.raises(UpstreamBadReply) as raised:
        await adapter.lookup_and_read_many(
            ((Identifier(case.scheme, person_in_all[case.truth_key]),),), frozenset({"name"})
        )

    assert raised.value.agency == case.agency
    assert "9434765919" not in str(raised.value) and "X123456" not in str(raised.value)


async def lookup_and_read_checked(
    adapter: Adapter, sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
) -> list[tuple[Match, Mapping[str, Any]] | None]:
    """``adapter.lookup_and_read_many(sets, fields)``, checked to be one upstream call that
    answers what ``lookup_many(sets)`` and a ``read`` of the records found answer, and no
    call at all for people holding no identifier the agency keys by."""
    with count_http_requests() as calls:
        combined = await adapter.lookup_and_read_many(sets, fields)
    matches = await adapter.lookup_many(sets)
    records = await adapter.read(tuple(m.local_id for m in matches if m), fields)
    assert calls.count == 1
    assert combined == [(m, records[m.local_id]) if m else None for m in matches]

    keyed_by = set(adapter.discover().lookup_schemes)
    unaskable = tuple(ids for ids in sets if not keyed_by & {i.scheme for i in ids})
    with count_http_requests() as calls:
        nobody = await adapter.lookup_and_read_many(unaskable, fields)
    assert nobody == [None] * len(unaskable)
    assert calls.count == 0, "people with no identifier the agency keys by are not asked"
    return combined


def local_ids(answers: list[tuple[Match, Mapping[str, Any]] | None]) -> list[str | None]:
    return [answer[0].local_id if answer else None for answer in answers]


async def test_nhs_lookup_and_read_many_is_lookup_many_and_read_in_one_search(
    own_systems: dict[str, SimulatorProcess], world: WorldPaths
) -> None:
    """The Patient search by NHS numbers carries read's ``_revinclude``s: the matches are
    lookup_many's, the records read's, labels included, for whichever fields are asked."""
    data = json.loads(world.agency_json("nhs").read_text())
    flagged = {f["patient"] for f in data["flags"] if f["labels"]}
    numbered = [p for p in data["patients"] if p["nhs_number"]]
    labelled = [p for p in numbered if p["id"] in flagged][:2]
    plain = [p for p in numbered if p["id"] not in flagged][:2]
    sets: tuple[tuple[Identifier, ...], ...] = (
        (Identifier("NHS_NUMBER", labelled[0]["nhs_number"]),),
        (Identifier("NHS_NUMBER", "9434765919"),),  # nobody
        (Identifier("NI_NUMBER", "AB000000A"), Identifier("NHS_NUMBER", labelled[1]["nhs_number"])),
        (Identifier("NI_NUMBER", "AB000000A"),),  # not a scheme the NHS keys by
        (),
        *((Identifier("NHS_NUMBER", p["nhs_number"]),) for p in plain),
    )
    adapter = NhsAdapter(own_systems["nhs"].url, timeout_s=10.0)
    try:
        everything = frozenset(f.name for f in adapter.discover().fields)
        for fields in (everything, frozenset({"flags"}), frozenset({"name"})):
            combined = await lookup_and_read_checked(adapter, sets, fields)

            assert local_ids(combined) == [
                labelled[0]["id"],
                None,
                labelled[1]["id"],
                None,
                None,
                *(p["id"] for p in plain),
            ]
            if "flags" in fields:
                for answer in (combined[0], combined[2]):
                    assert answer is not None
                    assert "safeguarding_flag" in all_labels(answer[1])
    finally:
        await adapter.aclose()


async def test_nhs_read_follows_bundle_pages(
    own_systems: dict[str, SimulatorProcess], ground_truth: list[dict[str, Any]]
) -> None:
    """100 patients with their encounters, flags and conditions span several Bundle pages."""
    patients = [p["records"]["nhs"] for p in ground_truth if "nhs" in p["records"]][:100]
    adapter = NhsAdapter(own_systems["nhs"].url)
    try:
        records = await adapter.read(tuple(patients), frozenset({"nhsNumber", "flags"}))
        everything = await adapter.read(
            tuple(patients[:1]),
            frozenset({"aAndEAttendances", "mentalHealthContacts", "flags", "conditions"}),
        )
    finally:
        await adapter.aclose()
    assert set(records) == set(patients)
    flagged = [r for r in records.values() if r["flags"]]
    assert flagged, "the test world has safeguarding flags"
    assert all(f[LABELS_KEY] == ["safeguarding_flag"] for r in flagged for f in r["flags"])
    assert set(everything[patients[0]]) >= {"aAndEAttendances", "flags"}


async def test_schools_never_hands_out_the_upn(
    own_systems: dict[str, SimulatorProcess], person_in_all: dict[str, Any]
) -> None:
    adapter = SchoolsAdapter(own_systems["schools"].url)
    try:
        match = await adapter.lookup((Identifier("NHS_NUMBER", person_in_all["nhs_number"]),))
        assert match is not None
        spec = adapter.discover()
        records = await adapter.read((match.local_id,), frozenset(f.name for f in spec.fields))
    finally:
        await adapter.aclose()
    assert person_in_all["upn"]
    assert [i.scheme for i in match.identifiers] == ["NHS_NUMBER"]
    assert person_in_all["upn"] not in repr(records)
    assert "UPN" not in spec.lookup_schemes


async def test_probation_mappa_level_is_a_sensitivity_label(
    own_systems: dict[str, SimulatorProcess], person_in_all: dict[str, Any]
) -> None:
    adapter = ProbationAdapter(own_systems["probation"].url)
    try:
        crn = person_in_all["records"]["probation"]
        record = (await adapter.read((crn,), frozenset({"mappaLevel"})))[crn]
    finally:
        await adapter.aclose()
    assert record[LABELS_KEY] == [f"mappa_level_{record['mappaLevel']}"]


async def test_stopped_upstream_is_unavailable(world: WorldPaths) -> None:
    system = SimulatorProcess.for_agency("police", world)
    system.start()
    adapter = PoliceAdapter(system.url)
    try:
        assert (await adapter.check()).ok
        system.stop()
        with pytest.raises(UpstreamUnavailable):
            await adapter.lookup((Identifier("PNC_ID", "2001/0000001Z"),))
    finally:
        system.stop()
        await adapter.aclose()


@pytest.mark.parametrize(
    ("agency", "paths"),
    [
        ("benefits", {"/claimants", "/claimants/batch", "/claimants/lookup", "/claimants/search"}),
        ("schools", {"/pupils", "/pupils/batch", "/pupils/lookup", "/pupils/search"}),
        ("housing", {"/tenants", "/tenants/batch", "/tenants/lookup", "/tenants/search"}),
    ],
)
def test_rest_systems_publish_an_openapi_document_for_what_adapters_call(
    own_systems: dict[str, SimulatorProcess], agency: str, paths: set[str]
) -> None:
    document = httpx.get(own_systems[agency].url + "/openapi.json").json()

    assert document["openapi"].startswith("3.")
    assert paths <= set(document["paths"])
    searchable = {p["name"] for p in document["paths"][min(paths)]["get"]["parameters"]}
    assert "upn" not in searchable


def test_police_publishes_a_wsdl_naming_its_operations(
    own_systems: dict[str, SimulatorProcess],
) -> None:
    reply = httpx.get(own_systems["police"].url + "/NominalService?wsdl")
    wsdl = parse_xml("police", reply.content)

    operations = {op.get("name") for op in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert operations == {
        "FindNominal",
        "FindNominalBatch",
        "GetNominals",
        "SearchNominals",
        "SearchNominalsBatch",
    }
    address = next(wsdl.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address"))
    assert address.get("location") == own_systems["police"].url + "/NominalService"
