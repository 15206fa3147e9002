"""The NHS's FHIR R4 REST API, as its own Starlette application.

Speaks ``application/fhir+json``:
- ``GET /metadata``: the CapabilityStatement.
- ``GET /Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|NNNNNNNNNN``: searchset Bundle
  (several comma-separated values find any of them, as FHIR token searches do).
- ``GET /Patient?_id=a,b&_revinclude=Encounter:patient&_revinclude=Flag:patient
  &_revinclude=Condition:patient&_count=N``: the patients with their encounters, flags
  and conditions, paged (``link`` relation ``next``). ``_revinclude`` and ``_count`` work
  the same with a search by ``identifier``.
- ``POST /Patient/_search`` with form fields ``family``, ``given``, ``birthdate``: the
  patients who could be that person (same birth date or day and month swapped, or same
  family initial and birth year), as a searchset Bundle; a body keeps names out of URLs.
- ``POST /`` with a ``batch`` Bundle whose entries are ``GET Patient?family=&given=&birthdate=``
  searches: a ``batch-response`` Bundle, one searchset per entry, in order (many searches
  in one call; the names travel in the body, not the URL).
Errors are OperationOutcome resources. Sensitivity labels travel as
``meta.security`` codings, as FHIR security labels do.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.sdk.demographics import Demographics, block_keys
from simulators.encoded import array, encode, json_reply, members
from simulators.faults import FaultReplies, Faults, faults_endpoint

FHIR_JSON = "application/fhir+json"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
SECURITY_SYSTEM = "https://joinedup.example/fhir/CodeSystem/sensitivity"
MAX_COUNT = 100
_REVINCLUDES = {"Encounter:patient", "Flag:patient", "Condition:patient"}


def outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


REPLIES = FaultReplies(
    media_type=FHIR_JSON,
    malformed='{"resourceType": "Bundle", "entry": [',
    hostile=json.dumps(outcome("processing", "Patient 9434765919 could not be read")),
    hostile_status=400,
    error_body=json.dumps(outcome("transient", "service unavailable")),
    error_media_type=FHIR_JSON,
)


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def fhir_reply(body: bytes, status: int = 200) -> Response:
    """An encoded FHIR resource sent as it is."""
    return json_reply(body, status, FHIR_JSON)


MATCH = encode({"mode": "match"})
INCLUDE = encode({"mode": "include"})
SEARCHSET = {"resourceType": encode("Bundle"), "type": encode("searchset")}


def _meta(labels: list[str]) -> dict[str, Any]:
    return {"security": [{"system": SECURITY_SYSTEM, "code": label} for label in labels]}


def _patient(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": p["id"],
        "meta": _meta(p["labels"]),
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": p["nhs_number"]}],
        "name": [{"use": "official", "family": p["family"], "given": [p["given"]]}],
        "gender": p["gender"],
        "birthDate": p["birth_date"],
        "address": [{"line": [p["address"]], "postalCode": p["postcode"]}],
        "generalPractitioner": [
            {"reference": f"Organization/{p['practice_ods']}", "display": p["practice"]},
            {"reference": f"Practitioner/{p['practice_ods']}-gp", "display": p["gp"]},
        ],
    }


def _encounter(index: int, e: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": f"enc-{index}",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": e["class"]},
        "type": [{"text": e["type"]}],
        "reasonCode": [{"text": e["reason"]}],
        "subject": {"reference": f"Patient/{e['patient']}"},
        "period": {"start": e["date"]},
    }


def _flag(index: int, f: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "id": f"flag-{index}",
        "meta": _meta(f["labels"]),
        "status": "active",
        "category": [{"text": f["category"]}],
        "code": {"text": f["text"]},
        "subject": {"reference": f"Patient/{f['patient']}"},
        "period": {"start": f["start"]},
    }


def _condition(index: int, c: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"cond-{index}",
        "meta": _meta(c["labels"]),
        "category": [{"text": c["category"]}],
        "code": {"text": c["text"]},
        "subject": {"reference": f"Patient/{c['patient']}"},
        "recordedDate": c["recorded"],
    }


def create_app(data_file: Path, faults: Faults | None = None, seed: int = 0) -> Starlette:
    data = json.loads(data_file.read_text())
    # Bundle entries are encoded once (simulators/encoded.py): a Bundle joins them.
    patients = {
        p["id"]: members(resource=encode(_patient(p)), search=MATCH) for p in data["patients"]
    }
    by_nhs_number = {p["nhs_number"]: p["id"] for p in data["patients"]}
    related: dict[str, dict[str, list[bytes]]] = defaultdict(lambda: defaultdict(list))
    for kind, listing, resource_of in (
        ("Encounter", "encounters", _encounter),
        ("Flag", "flags", _flag),
        ("Condition", "conditions", _condition),
    ):
        for i, held in enumerate(data[listing]):
            entry = members(resource=encode(resource_of(i, held)), search=INCLUDE)
            related[held["patient"]][kind].append(entry)
    rng = random.Random(seed)
    active_faults = faults or Faults()
    active_faults.replies = REPLIES

    async def health(request: Request) -> Response:
        if failure := active_faults.health_failure():
            return failure
        return JSONResponse({"status": "ok", "patients": len(patients)})

    async def metadata(request: Request) -> Response:
        if failure := active_faults.health_failure():
            return failure
        return FhirResponse(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "fhirVersion": "4.0.1",
                "format": ["json"],
                "rest": [
                    {
                        "mode": "server",
                        "interaction": [{"code": "batch"}],
                        "resource": [
                            {
                                "type": "Patient",
                                "searchParam": [
                                    {"name": "identifier", "type": "token"},
                                    {"name": "_id", "type": "token"},
                                ],
                                "searchRevInclude": sorted(_REVINCLUDES),
                            }
                        ],
                    }
                ],
            }
        )

    def page_link(request: Request, page: int) -> str:
        return str(request.url.include_query_params(_page=str(page)))

    async def patient_search(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        params = request.query_params
        try:
            count = min(int(params.get("_count", "50")), MAX_COUNT)
            page = int(params.get("_page", "1"))
        except ValueError:
            return FhirResponse(outcome("invalid", "_count and _page are integers"), 400)
        unsupported = set(params.getlist("_revinclude")) - _REVINCLUDES
        if unsupported or count < 1 or page < 1:
            return FhirResponse(outcome("not-supported", "unsupported search"), 400)
        if "identifier" in params:
            # A token search takes several values, comma-separated: any of them matches.
            tokens = [token.partition("|") for token in params["identifier"].split(",")]
            if any(system != NHS_NUMBER_SYSTEM for system, _, _ in tokens):
                return FhirResponse(outcome("not-supported", "unknown identifier system"), 400)
            found = list(
                dict.fromkeys(by_nhs_number[v] for _, _, v in tokens if v in by_nhs_number)
            )
        elif "_id" in params:
            found = [i for i in params["_id"].split(",") if i in patients]
        else:
            return FhirResponse(outcome("required", "search by identifier or _id"), 400)
        includes = [include.split(":")[0] for include in params.getlist("_revinclude")]
        entries: list[bytes] = []
        for patient_id in found:
            entries.append(patients[patient_id])
            for include in includes:
                entries += related[patient_id][include]
        start = (page - 1) * count
        links = [{"relation": "self", "url": str(request.url)}]
        if start + count < len(entries):
            links.append({"relation": "next", "url": page_link(request, page + 1)})
        return fhir_reply(
            members(
                **SEARCHSET,
                total=encode(len(found)),
                link=encode(links),
                entry=array(entries[start : start + count]),
            )
        )

    blocks: dict[str, list[str]] = defaultdict(list)
    for p in data["patients"]:
        held = Demographics(p["given"], p["family"], p["birth_date"], p["postcode"])
        for block in block_keys(held):
            blocks[block].append(p["id"])

    def searchset(form: dict[str, str]) -> tuple[bytes, int]:
        """The patients who could be the person described (an encoded searchset Bundle),
        or why not."""
        if not form.get("family") or not form.get("birthdate"):
            return encode(outcome("required", "search by family and birthdate")), 400
        wanted = Demographics(form.get("given"), form["family"], form["birthdate"])
        found = list(dict.fromkeys(i for b in block_keys(wanted) for i in blocks.get(b, ())))
        found = found[:MAX_COUNT]
        return members(
            **SEARCHSET, total=encode(len(found)), entry=array(patients[i] for i in found)
        ), 200

    async def demographic_search(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        return fhir_reply(*searchset(form))

    async def batch(request: Request) -> Response:
        """A FHIR batch Bundle of ``GET Patient?family=&given=&birthdate=`` searches: one
        batch-response entry per request entry, in order, each with its own status."""
        if failure := await active_faults.apply(rng):
            return failure
        try:
            bundle = json.loads(await request.body())
            entries = bundle["entry"] if bundle["type"] == "batch" else None
        except (ValueError, KeyError, TypeError):
            entries = None
        if not isinstance(entries, list) or len(entries) > MAX_COUNT:
            return FhirResponse(
                outcome("invalid", f"send a batch Bundle of at most {MAX_COUNT} entries"), 400
            )
        replies: list[bytes] = []
        for entry in entries:
            request_of = entry.get("request") if isinstance(entry, dict) else None
            url = request_of.get("url") if isinstance(request_of, dict) else None
            if request_of is None or request_of.get("method") != "GET" or not isinstance(url, str):
                refused = outcome("not-supported", "only GET entries are supported")
                resource, status = encode(refused), 400
            elif not url.startswith("Patient?"):
                resource, status = encode(outcome("not-supported", "only Patient searches")), 400
            else:
                form = {k: v[0] for k, v in parse_qs(url.partition("?")[2]).items()}
                resource, status = searchset(form)
            replies.append(members(resource=resource, response=encode({"status": str(status)})))
        return fhir_reply(
            members(
                resourceType=encode("Bundle"), type=encode("batch-response"), entry=array(replies)
            )
        )

    app = Starlette(
        routes=[
            Route("/", batch, methods=["POST"]),
            Route("/health", health),
            Route("/metadata", metadata),
            Route("/Patient", patient_search),
            Route("/Patient/_search", demographic_search, methods=["POST"]),
            Route("/_sim/faults", faults_endpoint, methods=["GET", "PUT"]),
        ]
    )
    app.state.faults = active_faults
    return app
