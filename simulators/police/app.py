"""The police's legacy SOAP 1.1/XML nominal-record service, as its own Starlette application.

- ``GET /NominalService?wsdl``: the WSDL.
- ``POST /NominalService`` (``text/xml``, ``SOAPAction``) with one of:
  ``FindNominal`` (``niNumber`` and/or ``pncId``) → the matching nominals' identifiers
  and demographics; ``SearchNominals`` (``familyName``, ``dateOfBirth``, ``givenName``) →
  the same for nominals who could be that person (the gateway's blocking keys);
  ``GetNominals`` (repeated ``pncId``, at most 100) → full nominal records with
  domestic-abuse incidents, missing episodes and ``sensitivity`` labels;
  ``FindNominalBatch`` / ``SearchNominalsBatch`` (at most 100 ``FindNominal`` /
  ``SearchNominals`` requests) → one ``FindNominalResponse`` / ``SearchNominalsResponse``
  per request, in order, each what the request alone would answer; a
  ``FindNominalBatch withRecords="true"`` also answers, after each response's nominals,
  their full records (``record``, as ``GetNominals`` gives them), in the same order.
Faults answer SOAP Faults, broken XML, or an entity-expansion bomb; a batch over 100
requests, with a request that is not of its kind, or with a ``withRecords`` it does not
take, is a ``Client`` fault.
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.sdk.demographics import Demographics, block_keys
from simulators.faults import FaultReplies, Faults, faults_endpoint

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:joinedup:police:nominals:v1"
SOAP_XML = "text/xml"
MAX_BATCH = 100
XSD_BOOLEAN = {"true": True, "1": True, "false": False, "0": False}
"""The lexical forms of an ``xsd:boolean`` (a flag attribute's values) and what they mean."""

Answer = Callable[[Element], bytes | None]
"""How one request is answered: its response element (as written in the reply), or None if
the request is invalid."""


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _fault_envelope(code: str, message: str) -> str:
    return (
        f'<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body><soap:Fault>'
        f"<faultcode>soap:{code}</faultcode><faultstring>{message}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    )


XML_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + f']>\n<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body>&lol9;</soap:Body></soap:Envelope>'
)
"""Billion laughs: nine levels of ten-fold entity expansion (a gigabyte when expanded)."""

REPLIES = FaultReplies(
    media_type=SOAP_XML,
    malformed=f'<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body><unclosed>',
    hostile=XML_BOMB,
    error_body=_fault_envelope("Server", "service unavailable"),
    error_media_type=SOAP_XML,
)


def wsdl(location: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions name="NominalService" targetNamespace="{NS}" xmlns="http://schemas.xmlsoap.org/wsdl/"
  xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="{NS}"
  xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <types>
    <xsd:schema targetNamespace="{NS}" elementFormDefault="qualified">
      <xsd:element name="FindNominal"><xsd:complexType><xsd:sequence>
        <xsd:element name="niNumber" type="xsd:string" minOccurs="0"/>
        <xsd:element name="pncId" type="xsd:string" minOccurs="0"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="FindNominalResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="nominal" type="tns:NominalRef" minOccurs="0" maxOccurs="unbounded"/>
        <xsd:element name="record" type="tns:Nominal" minOccurs="0" maxOccurs="unbounded">
          <xsd:annotation><xsd:documentation>Only in a FindNominalBatch withRecords: the full
            record of each nominal, in the same order.</xsd:documentation></xsd:annotation>
        </xsd:element>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="GetNominals"><xsd:complexType><xsd:sequence>
        <xsd:element name="pncId" type="xsd:string" maxOccurs="{MAX_BATCH}"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="GetNominalsResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="nominal" type="tns:Nominal" minOccurs="0" maxOccurs="unbounded"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="SearchNominals"><xsd:complexType><xsd:sequence>
        <xsd:element name="givenName" type="xsd:string" minOccurs="0"/>
        <xsd:element name="familyName" type="xsd:string"/>
        <xsd:element name="dateOfBirth" type="xsd:date"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="SearchNominalsResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="nominal" type="tns:NominalRef" minOccurs="0" maxOccurs="unbounded"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="FindNominalBatch"><xsd:complexType><xsd:sequence>
        <xsd:element ref="tns:FindNominal" minOccurs="0" maxOccurs="{MAX_BATCH}"/>
      </xsd:sequence>
        <xsd:attribute name="withRecords" type="xsd:boolean" default="false"/>
      </xsd:complexType></xsd:element>
      <xsd:element name="FindNominalBatchResponse"><xsd:complexType><xsd:sequence>
        <xsd:element ref="tns:FindNominalResponse" minOccurs="0" maxOccurs="{MAX_BATCH}"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="SearchNominalsBatch"><xsd:complexType><xsd:sequence>
        <xsd:element ref="tns:SearchNominals" minOccurs="0" maxOccurs="{MAX_BATCH}"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="SearchNominalsBatchResponse"><xsd:complexType><xsd:sequence>
        <xsd:element ref="tns:SearchNominalsResponse" minOccurs="0" maxOccurs="{MAX_BATCH}"/>
      </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:complexType name="NominalRef"><xsd:sequence>
        <xsd:element name="pncId" type="xsd:string"/>
        <xsd:element name="niNumber" type="xsd:string" minOccurs="0"/>
        <xsd:element name="givenName" type="xsd:string" minOccurs="0"/>
        <xsd:element name="familyName" type="xsd:string" minOccurs="0"/>
        <xsd:element name="dateOfBirth" type="xsd:date" minOccurs="0"/>
        <xsd:element name="postcode" type="xsd:string" minOccurs="0"/>
      </xsd:sequence></xsd:complexType>
      <xsd:complexType name="Nominal"><xsd:sequence>
        <xsd:element name="pncId" type="xsd:string"/>
        <xsd:element name="niNumber" type="xsd:string" minOccurs="0"/>
        <xsd:element name="givenName" type="xsd:string"/>
        <xsd:element name="familyName" type="xsd:string"/>
        <xsd:element name="dateOfBirth" type="xsd:date"/>
        <xsd:element name="address" type="xsd:string"/>
        <xsd:element name="postcode" type="xsd:string"/>
        <xsd:element name="sensitivity" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>
        <xsd:element name="incident" type="tns:Incident" minOccurs="0" maxOccurs="unbounded"/>
        <xsd:element name="missingEpisode" type="tns:MissingEpisode" minOccurs="0"
          maxOccurs="unbounded"/>
      </xsd:sequence></xsd:complexType>
      <xsd:complexType name="Incident"><xsd:sequence>
        <xsd:element name="reference" type="xsd:string"/>
        <xsd:element name="date" type="xsd:date"/>
        <xsd:element name="role" type="xsd:string"/>
        <xsd:element name="risk" type="xsd:string"/>
      </xsd:sequence></xsd:complexType>
      <xsd:complexType name="MissingEpisode"><xsd:sequence>
        <xsd:element name="date" type="xsd:date"/>
        <xsd:element name="hours" type="xsd:int"/>
        <xsd:element name="found" type="xsd:string"/>
      </xsd:sequence></xsd:complexType>
    </xsd:schema>
  </types>
  <message name="FindNominalIn"><part name="parameters" element="tns:FindNominal"/></message>
  <message name="FindNominalOut">
    <part name="parameters" element="tns:FindNominalResponse"/>
  </message>
  <message name="GetNominalsIn"><part name="parameters" element="tns:GetNominals"/></message>
  <message name="GetNominalsOut">
    <part name="parameters" element="tns:GetNominalsResponse"/>
  </message>
  <message name="SearchNominalsIn"><part name="parameters" element="tns:SearchNominals"/></message>
  <message name="SearchNominalsOut">
    <part name="parameters" element="tns:SearchNominalsResponse"/>
  </message>
  <message name="FindNominalBatchIn">
    <part name="parameters" element="tns:FindNominalBatch"/>
  </message>
  <message name="FindNominalBatchOut">
    <part name="parameters" element="tns:FindNominalBatchResponse"/>
  </message>
  <message name="SearchNominalsBatchIn">
    <part name="parameters" element="tns:SearchNominalsBatch"/>
  </message>
  <message name="SearchNominalsBatchOut">
    <part name="parameters" element="tns:SearchNominalsBatchResponse"/>
  </message>
  <portType name="NominalPort">
    <operation name="FindNominal">
      <input message="tns:FindNominalIn"/><output message="tns:FindNominalOut"/>
    </operation>
    <operation name="GetNominals">
      <input message="tns:GetNominalsIn"/><output message="tns:GetNominalsOut"/>
    </operation>
    <operation name="SearchNominals">
      <input message="tns:SearchNominalsIn"/><output message="tns:SearchNominalsOut"/>
    </operation>
    <operation name="FindNominalBatch">
      <documentation>Up to {MAX_BATCH} FindNominal requests; one FindNominalResponse each, in
        order. withRecords="true": each response also holds its nominals' full records, as
        GetNominals gives them (a lookup and a read in one call).</documentation>
      <input message="tns:FindNominalBatchIn"/><output message="tns:FindNominalBatchOut"/>
    </operation>
    <operation name="SearchNominalsBatch">
      <documentation>Up to {MAX_BATCH} SearchNominals requests; one SearchNominalsResponse
        each, in order.</documentation>
      <input message="tns:SearchNominalsBatchIn"/><output message="tns:SearchNominalsBatchOut"/>
    </operation>
  </portType>
  <binding name="NominalBinding" type="tns:NominalPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="FindNominal">
      <soap:operation soapAction="{NS}#FindNominal"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
    <operation name="GetNominals">
      <soap:operation soapAction="{NS}#GetNominals"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
    <operation name="SearchNominals">
      <soap:operation soapAction="{NS}#SearchNominals"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
    <operation name="FindNominalBatch">
      <soap:operation soapAction="{NS}#FindNominalBatch"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
    <operation name="SearchNominalsBatch">
      <soap:operation soapAction="{NS}#SearchNominalsBatch"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="NominalService">
    <port name="NominalPort" binding="tns:NominalBinding">
      <soap:address location="{location}"/>
    </port>
  </service>
</definitions>
"""


def _text(parent: Element, name: str, value: Any) -> None:
    if value is not None:
        SubElement(parent, _q(name)).text = str(value)


def _envelope(body_child: Element) -> bytes:
    envelope = Element(f"{{{SOAP_NS}}}Envelope")
    SubElement(envelope, f"{{{SOAP_NS}}}Body").append(body_child)
    return b'<?xml version="1.0" encoding="UTF-8"?>' + tostring(envelope)


_HEAD, _TAIL = _envelope(Element(_q("_"))).split(b"<ns1:_ />")
"""A reply envelope as ElementTree writes it, before and after the operation's response."""


def _fragment(element: Element) -> bytes:
    """``element`` as ElementTree writes it inside a reply envelope.

    Nominals never change while the simulator runs, so each is written once at start-up
    and replies join the written parts: building and writing the same elements on every
    call was most of this simulator's CPU per call, taken on the benchmark machine from
    the gateway under test.
    """
    return _envelope(element).removeprefix(_HEAD).removesuffix(_TAIL)


def _response(tag: str, children: list[bytes]) -> bytes:
    """A response element in the service's namespace around written children, as
    ElementTree writes it (an empty element is self-closed)."""
    if not children:
        return b"<ns1:%s />" % tag.encode()
    return b"<ns1:%s>%s</ns1:%s>" % (tag.encode(), b"".join(children), tag.encode())


def _nominal(record: dict[str, Any], tag: str = "nominal") -> Element:
    """A full nominal record: a ``GetNominalsResponse`` ``nominal``, or the ``record`` a
    ``FindNominalBatch withRecords`` adds to each ``FindNominalResponse``."""
    nominal = Element(_q(tag))
    for name, key in [
        ("pncId", "pnc_id"),
        ("niNumber", "ni_number"),
        ("givenName", "given_name"),
        ("familyName", "family_name"),
        ("dateOfBirth", "date_of_birth"),
        ("address", "address"),
        ("postcode", "postcode"),
    ]:
        _text(nominal, name, record[key])
    for label in record["labels"]:
        _text(nominal, "sensitivity", label)
    for incident in record["incidents"]:
        element = SubElement(nominal, _q("incident"))
        for name in ("reference", "date", "role", "risk"):
            _text(element, name, incident[name])
    for episode in record["missing_episodes"]:
        element = SubElement(nominal, _q("missingEpisode"))
        for name in ("date", "hours", "found"):
            _text(element, name, episode[name])
    return nominal


def _nominal_ref(record: dict[str, Any]) -> Element:
    """Identifiers and demographics only: what lookups and searches return."""
    ref = Element(_q("nominal"))
    for name, key in [
        ("pncId", "pnc_id"),
        ("niNumber", "ni_number"),
        ("givenName", "given_name"),
        ("familyName", "family_name"),
        ("dateOfBirth", "date_of_birth"),
        ("postcode", "postcode"),
    ]:
        _text(ref, name, record[key])
    return ref


def create_app(data_file: Path, faults: Faults | None = None, seed: int = 0) -> Starlette:
    nominals = {n["pnc_id"]: n for n in json.loads(data_file.read_text())["nominals"]}
    by_ni = {n["ni_number"]: n for n in nominals.values() if n["ni_number"]}
    blocks: dict[str, list[str]] = {}
    for n in nominals.values():
        held = Demographics(n["given_name"], n["family_name"], n["date_of_birth"], n["postcode"])
        for block in block_keys(held):
            blocks.setdefault(block, []).append(n["pnc_id"])
    written = {pnc: _fragment(_nominal(n)) for pnc, n in nominals.items()}
    written_refs = {pnc: _fragment(_nominal_ref(n)) for pnc, n in nominals.items()}
    written_records = {pnc: _fragment(_nominal(n, "record")) for pnc, n in nominals.items()}
    rng = random.Random(seed)
    active_faults = faults or Faults()
    active_faults.replies = REPLIES

    def find_nominal(request: Element, with_records: bool = False) -> bytes:
        """A ``FindNominalResponse``: the nominals with the request's pncId or niNumber,
        followed by their full records if asked ``with_records``."""
        found: dict[str, dict[str, Any]] = {}
        pnc = request.findtext(_q("pncId"))
        ni = request.findtext(_q("niNumber"))
        if pnc and pnc.strip().upper() in nominals:
            found[pnc.strip().upper()] = nominals[pnc.strip().upper()]
        if ni and ni.replace(" ", "").upper() in by_ni:
            record = by_ni[ni.replace(" ", "").upper()]
            found[record["pnc_id"]] = record
        records = [written_records[pnc] for pnc in found] if with_records else []
        return _response("FindNominalResponse", [written_refs[pnc] for pnc in found] + records)

    def search_nominals(request: Element) -> bytes | None:
        """A ``SearchNominalsResponse``: nominals who could be the person described by the
        request; None when it lacks the familyName and dateOfBirth a search blocks on."""
        described = Demographics(
            request.findtext(_q("givenName")),
            request.findtext(_q("familyName")),
            request.findtext(_q("dateOfBirth")),
        )
        if not described.family_name or not described.date_of_birth:
            return None
        hits = dict.fromkeys(p for b in block_keys(described) for p in blocks.get(b, ()))
        return _response(
            "SearchNominalsResponse", [written_refs[p] for p in list(hits)[:MAX_BATCH]]
        )

    batches: dict[str, tuple[str, Answer, Answer | None]] = {
        # Each batch operation: the request it repeats, how one such request is answered,
        # and how it is answered withRecords (None: the operation does not take the flag).
        _q("FindNominalBatch"): (
            "FindNominal",
            find_nominal,
            functools.partial(find_nominal, with_records=True),
        ),
        _q("SearchNominalsBatch"): ("SearchNominals", search_nominals, None),
    }

    def batch(operation: Element) -> Response:
        """Every request of a batch answered in order, or a Client fault for the whole batch
        if it is too large, asks withRecords where it cannot, or any request is not of its
        kind or cannot be answered."""
        name, answer, answer_with_records = batches[operation.tag]
        with_records = XSD_BOOLEAN.get(operation.get("withRecords", "false").strip())
        if with_records is None:
            return client_fault("withRecords must be an xsd:boolean")
        if with_records:
            if answer_with_records is None:
                return client_fault(f"{name}Batch does not take withRecords")
            answer = answer_with_records
        requests = list(operation)
        if len(requests) > MAX_BATCH:
            return client_fault(f"at most {MAX_BATCH} {name} requests per batch")
        answers: list[bytes] = []
        for request in requests:
            answered = answer(request) if request.tag == _q(name) else None
            if answered is None:
                return client_fault(f"every request of a batch must be a valid {name}")
            answers.append(answered)
        return soap(_reply(_response(f"{name}BatchResponse", answers)))

    def _reply(response: bytes) -> bytes:
        return _HEAD + response + _TAIL

    def soap(body: bytes, status: int = 200) -> Response:
        return Response(body, status, media_type=SOAP_XML)

    def client_fault(message: str) -> Response:
        return soap(_fault_envelope("Client", message).encode(), 500)

    async def health(request: Request) -> Response:
        if failure := active_faults.health_failure():
            return failure
        return JSONResponse({"status": "ok", "nominals": len(nominals)})

    async def service(request: Request) -> Response:
        if request.method == "GET":
            if "wsdl" not in request.query_params:
                return client_fault("POST a SOAP envelope, or GET ?wsdl")
            if failure := active_faults.health_failure():
                return failure
            location = str(request.url.replace(query=""))
            return Response(wsdl(location), media_type=SOAP_XML)
        if failure := await active_faults.apply(rng):
            return failure
        try:
            envelope = fromstring(await request.body(), forbid_dtd=True)
        except (ParseError, DefusedXmlException):
            return client_fault("request is not a well-formed, safe XML document")
        body = envelope.find(f"{{{SOAP_NS}}}Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is not None and operation.tag == _q("FindNominal"):
            return soap(_reply(find_nominal(operation)))
        if operation is not None and operation.tag == _q("SearchNominals"):
            found = search_nominals(operation)
            if found is None:
                return client_fault("SearchNominals needs familyName and dateOfBirth")
            return soap(_reply(found))
        if operation is not None and operation.tag in batches:
            return batch(operation)
        if operation is not None and operation.tag == _q("GetNominals"):
            wanted = [e.text or "" for e in operation.findall(_q("pncId"))]
            if len(wanted) > MAX_BATCH:
                return client_fault(f"at most {MAX_BATCH} pncId per call")
            nominals = [written[p] for p in (pnc.strip().upper() for pnc in wanted) if p in written]
            return soap(_reply(_response("GetNominalsResponse", nominals)))
        return client_fault("unknown operation")

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/NominalService", service, methods=["GET", "POST"]),
            Route("/_sim/faults", faults_endpoint, methods=["GET", "PUT"]),
        ]
    )
    app.state.faults = active_faults
    return app
