"""Adapter for the police's SOAP 1.1 nominal-record service.

Requests are document/literal envelopes built with ElementTree; replies are
parsed with the SDK's safe XML parser, so an entity bomb or external entity
in a reply becomes UPSTREAM_BAD_REPLY instead of exhausting memory or
reaching out. ``GetNominals`` reads a batch of PNC ids in one call;
``FindNominalBatch`` and ``SearchNominalsBatch`` carry a batch of lookups or
searches in one envelope, each answered as it would be on its own. A
``FindNominalBatch withRecords="true"`` also answers each lookup with the full
records of the nominals found, as ``GetNominals`` would: a lookup and a read in one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import httpx

from adapters.sdk import (
    LABELS_KEY,
    SENSITIVITY_LABELS,
    Candidate,
    Demographics,
    EventSpec,
    FieldSpec,
    HttpAdapter,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    requested_only,
)
from adapters.sdk.demographics import demographics_from, searchable
from adapters.sdk.xml import parse_xml

AGENCY = "police"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:joinedup:police:nominals:v1"
SERVICE_PATH = "/NominalService"
SOAP_CONTENT_TYPES = ("text/xml",)
_ELEMENT_OF_SCHEME = {"PNC_ID": "pncId", "NI_NUMBER": "niNumber"}

_INCIDENT_FIELDS = (
    FieldSpec("reference", "string", "Police incident reference."),
    FieldSpec("date", "date", "Date of the incident."),
    FieldSpec("role", "string", "The person's role: victim, perpetrator or witness."),
    FieldSpec("riskLevel", "string", "DASH risk assessment: standard, medium or high."),
)
_MISSING_FIELDS = (
    FieldSpec("date", "date", "Date reported missing."),
    FieldSpec("hoursMissing", "int", "How long the person was missing, hours."),
    FieldSpec("foundAt", "string", "Where the person was found."),
)

SECTION = SectionSpec(
    agency=AGENCY,
    title="Police: domestic-abuse incidents and missing-person episodes.",
    lookup_schemes=("PNC_ID", "NI_NUMBER"),
    demographic_search=True,
    batch_lookup=True,
    batch_search=True,
    search_by_block_keys=True,
    read_on_lookup=True,
    max_batch=100,  # the WSDL's maxOccurs for pncId and for the requests of a batch
    fields=(
        FieldSpec("pncId", "string", "Police National Computer id."),
        FieldSpec("name", "string", "Name on the police record."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec("address", "address", "Last known address."),
        FieldSpec("postcode", "string", "Postcode of the last known address."),
        FieldSpec(
            "domesticAbuseIncidents",
            "list",
            "Domestic-abuse incidents the person was involved in.",
            item_fields=_INCIDENT_FIELDS,
        ),
        FieldSpec(
            "missingEpisodes", "list", "Missing-person episodes.", item_fields=_MISSING_FIELDS
        ),
    ),
    labels=("refuge_address",),
    events=(
        EventSpec(
            "domesticAbuseIncidents", "date", "domestic-abuse incident", ("role", "riskLevel")
        ),
        EventSpec("missingEpisodes", "date", "reported missing", ("foundAt",)),
    ),
)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _request(operation: str, values: list[tuple[str, str]]) -> Element:
    """One operation's request element, e.g. ``<FindNominal><pncId>...</pncId></FindNominal>``."""
    request = Element(_q(operation))
    for name, value in values:
        SubElement(request, _q(name)).text = value
    return request


def _find_request(identifiers: tuple[Identifier, ...]) -> Element | None:
    """The ``FindNominal`` for a person's identifiers; None if it holds none the police key by."""
    values = [
        (_ELEMENT_OF_SCHEME[i.scheme], i.value)
        for i in identifiers
        if i.scheme in _ELEMENT_OF_SCHEME
    ]
    return _request("FindNominal", values) if values else None


def _search_request(demographics: Demographics) -> Element | None:
    """The ``SearchNominals`` for a person's details; None without the details a search
    blocks on (nobody is asked: a search by less finds nobody surely)."""
    if not searchable(demographics):
        return None
    wanted = [
        ("givenName", demographics.given_name),
        ("familyName", demographics.family_name),
        ("dateOfBirth", demographics.date_of_birth),
    ]
    return _request("SearchNominals", [(k, v) for k, v in wanted if v])


def _nominal_ref(nominal: Element) -> Candidate:
    """A FindNominal/SearchNominals reply entry: identifiers and demographics only."""
    pnc, ni = nominal.findtext(_q("pncId")), nominal.findtext(_q("niNumber"))
    if not pnc:
        raise UpstreamBadReply(AGENCY, "reply has a nominal without pncId")
    held = (Identifier("PNC_ID", pnc),) + ((Identifier("NI_NUMBER", ni),) if ni else ())
    demographics = demographics_from(
        {
            name: nominal.findtext(_q(element))
            for name, element in (
                ("given_name", "givenName"),
                ("family_name", "familyName"),
                ("date_of_birth", "dateOfBirth"),
                ("postcode", "postcode"),
            )
        }
    )
    return Candidate(pnc, demographics, held)


def _first_match(response: Element) -> Match | None:
    """What a ``FindNominalResponse`` says of the person: its first nominal, if any."""
    nominal = response.find(_q("nominal"))
    if nominal is None:
        return None
    found = _nominal_ref(nominal)
    return Match(AGENCY, found.local_id, found.identifiers, demographics=found.demographics)


def _candidates(response: Element) -> list[Candidate]:
    """The nominals of a ``SearchNominalsResponse``."""
    return [_nominal_ref(nominal) for nominal in response.findall(_q("nominal"))]


def _envelope(request: Element) -> bytes:
    envelope = Element(f"{{{SOAP_NS}}}Envelope")
    SubElement(envelope, f"{{{SOAP_NS}}}Body").append(request)
    document: bytes = tostring(envelope, encoding="utf-8", xml_declaration=True)
    return document


def soap_fault_detail(response: httpx.Response) -> str | None:
    """The faultcode of a SOAP Fault (never its faultstring, which may quote data)."""
    try:
        root = parse_xml(AGENCY, response.content)
    except UpstreamBadReply:
        return None
    code = root.findtext(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault/faultcode")
    return f"SOAP Fault {code.strip()}" if code else None


def _int(text: str | None) -> int | None:
    return int(text) if text is not None else None


def _nominal(element: Element) -> dict[str, Any]:
    """A full nominal record (``GetNominals``' ``nominal``, or a ``FindNominalBatch
    withRecords``' ``record``) as the section's record."""

    def text(name: str, parent: Element = element) -> str | None:
        return parent.findtext(_q(name))

    return {
        "pncId": text("pncId"),
        "name": f"{text('givenName') or ''} {text('familyName') or ''}".strip(),
        "dateOfBirth": text("dateOfBirth"),
        "address": text("address"),
        "postcode": text("postcode"),
        "domesticAbuseIncidents": [
            {
                "reference": text("reference", e),
                "date": text("date", e),
                "role": text("role", e),
                "riskLevel": text("risk", e),
            }
            for e in element.findall(_q("incident"))
        ],
        "missingEpisodes": [
            {
                "date": text("date", e),
                "hoursMissing": _int(text("hours", e)),
                "foundAt": text("found", e),
            }
            for e in element.findall(_q("missingEpisode"))
        ],
        LABELS_KEY: [
            label
            for e in element.findall(_q("sensitivity"))
            if (label := (e.text or "").strip()) in SENSITIVITY_LABELS
        ],
    }


def _records(elements: list[Element]) -> dict[str, dict[str, Any]]:
    """Full nominal records as section records by PNC id (a record without one is
    left out); a record that is not well-typed is a bad reply."""
    try:
        records = [_nominal(e) for e in elements]
    except ValueError as exc:
        raise UpstreamBadReply(AGENCY, "nominal has an unexpected shape") from exc
    return {str(record["pncId"]): record for record in records if record["pncId"]}


def _match_and_record(
    response: Element, fields: frozenset[str]
) -> tuple[Match, Mapping[str, Any]] | None:
    """What a ``FindNominalResponse`` withRecords says of the person: its first nominal,
    as :func:`_first_match` has it, and that nominal's record cut to ``fields``."""
    match = _first_match(response)
    if match is None:
        return None
    records = requested_only(_records(response.findall(_q("record"))), fields)
    if match.local_id not in records:
        raise UpstreamBadReply(AGENCY, "FindNominalResponse has no record of its nominal")
    return match, records[match.local_id]


@dataclass
class PoliceAdapter(HttpAdapter):
    def upstream_error_detail(self, response: httpx.Response) -> str | None:
        return soap_fault_detail(response)

    def discover(self) -> SectionSpec:
        return SECTION

    async def _call(self, request: Element) -> Element:
        """Send one operation's request; its response element."""
        operation = request.tag.removeprefix(_q(""))
        response = await self._upstream.request(
            "POST",
            SERVICE_PATH,
            content_types=SOAP_CONTENT_TYPES,
            content=_envelope(request),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f"{NS}#{operation}"},
        )
        assert response is not None  # not_found_is_none is off
        root = parse_xml(AGENCY, response.content)
        reply = root.find(f"{{{SOAP_NS}}}Body/{_q(operation + 'Response')}")
        if reply is None:
            raise UpstreamBadReply(AGENCY, f"reply has no {operation}Response")
        return reply

    async def _batch(
        self,
        operation: str,
        requests: list[Element | None],
        attributes: Mapping[str, str] | None = None,
    ) -> list[Element | None]:
        """The requests (None: nothing to ask) in one batch ``operation`` (with the
        operation's ``attributes``, its flags); the response to each, in order (None where
        nothing was asked).

        The reply must answer every request sent exactly once, with the response of its
        kind: anything else could pair a person with another's record, so the whole batch
        is a bad reply.
        """
        asked = [request for request in requests if request is not None]
        if not asked:
            return [None] * len(requests)
        batch = Element(_q(operation), dict(attributes or {}))
        batch.extend(asked)
        responses = list(await self._call(batch))
        kind = asked[0].tag + "Response"
        if len(responses) != len(asked) or any(r.tag != kind for r in responses):
            raise UpstreamBadReply(AGENCY, f"{operation} reply does not answer each request once")
        answers = iter(responses)
        return [next(answers) if request is not None else None for request in requests]

    async def probe(self) -> str | None:
        response = await self._upstream.request(
            "GET", SERVICE_PATH, content_types=SOAP_CONTENT_TYPES, params={"wsdl": ""}
        )
        if response is None:
            return "the WSDL is missing"
        parse_xml(AGENCY, response.content)
        return None

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        request = _find_request(identifiers)
        return _first_match(await self._call(request)) if request is not None else None

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """Every person's ``FindNominal`` in one ``FindNominalBatch``."""
        responses = await self._batch(
            "FindNominalBatch", [_find_request(ids) for ids in identifier_sets]
        )
        return [_first_match(r) if r is not None else None for r in responses]

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        """:meth:`lookup_many`'s ``FindNominalBatch``, ``withRecords``: each response then
        carries the records ``GetNominals`` would give of its nominals."""
        responses = await self._batch(
            "FindNominalBatch",
            [_find_request(ids) for ids in identifier_sets],
            {"withRecords": "true"},
        )
        return [_match_and_record(r, fields) if r is not None else None for r in responses]

    async def search(self, demographics: Demographics) -> list[Candidate]:
        request = _search_request(demographics)
        return _candidates(await self._call(request)) if request is not None else []

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        """Every person's ``SearchNominals`` in one ``SearchNominalsBatch``."""
        responses = await self._batch(
            "SearchNominalsBatch", [_search_request(who) for who in demographics_list]
        )
        return [_candidates(r) if r is not None else [] for r in responses]

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        reply = await self._call(_request("GetNominals", [("pncId", pnc) for pnc in local_ids]))
        return requested_only(_records(reply.findall(_q("nominal"))), fields)
