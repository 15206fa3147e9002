"""Simulators answer from parts encoded once at start-up: the bytes are still exactly what
encoding the whole reply (``JSONResponse``, ElementTree) on each call would send."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from xml.etree.ElementTree import Element

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse

from simulators.benefits.app import create_app as benefits_app
from simulators.nhs.app import _encounter, _flag, _patient
from simulators.nhs.app import create_app as nhs_app
from simulators.police.app import NS, SOAP_NS, _envelope, _nominal, _q
from simulators.police.app import create_app as police_app
from simulators.world import WorldPaths


def _send(app: Starlette, method: str, url: str, **options: Any) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            return await client.request(method, url, **options)

    return asyncio.run(call())


def _records(world: WorldPaths, agency: str, listing: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(world.agency_json(agency).read_text())[listing]
    return records


def test_rest_batch_reads_are_the_records_as_jsonresponse_encodes_them(world: WorldPaths) -> None:
    app = benefits_app(world.agency_json("benefits"))
    claimants = _records(world, "benefits", "claimants")
    for start in range(0, len(claimants), 100):
        chunk = claimants[start : start + 100]
        reply = _send(
            app, "POST", "/claimants/batch", json={"ids": [c["ni_number"] for c in chunk]}
        )
        assert reply.status_code == 200
        assert reply.content == JSONResponse({"claimants": chunk}).body


def test_fhir_bundles_are_the_resources_as_jsonresponse_encodes_them(world: WorldPaths) -> None:
    """Entries in the order asked for: each patient, then its flags, then its encounters."""
    app = nhs_app(world.agency_json("nhs"))
    data = json.loads(world.agency_json("nhs").read_text())
    patients = data["patients"][:10]
    related: list[dict[str, Any]] = []
    for patient in patients:
        related.append({"resource": _patient(patient), "search": {"mode": "match"}})
        for listing, resource_of in (("flags", _flag), ("encounters", _encounter)):
            related += [
                {"resource": resource_of(i, held), "search": {"mode": "include"}}
                for i, held in enumerate(data[listing])
                if held["patient"] == patient["id"]
            ]
    assert len(related) <= 100  # one page
    url = (
        "/Patient?_id="
        + ",".join(p["id"] for p in patients)
        + "&_revinclude=Flag:patient&_revinclude=Encounter:patient&_count=100"
    )
    reply = _send(app, "GET", url)
    expected = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(patients),
        "link": [{"relation": "self", "url": str(reply.request.url)}],
        "entry": related,
    }
    assert reply.content == JSONResponse(expected).body


def test_soap_replies_are_what_elementtree_writes(world: WorldPaths) -> None:
    app = police_app(world.agency_json("police"))
    nominals = _records(world, "police", "nominals")
    for start in range(0, len(nominals), 100):
        chunk = nominals[start : start + 100]
        ids = "".join(f"<p:pncId>{n['pnc_id']}</p:pncId>" for n in chunk)
        request = (
            f'<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body>'
            f'<p:GetNominals xmlns:p="{NS}">{ids}</p:GetNominals></soap:Body></soap:Envelope>'
        )
        reply = _send(app, "POST", "/NominalService", content=request.encode())
        response = Element(_q("GetNominalsResponse"))
        response.extend(_nominal(n) for n in chunk)
        assert reply.status_code == 200
        assert reply.content == _envelope(response)
    empty = _send(app, "POST", "/NominalService", content=request.replace(ids, "").encode())
    assert empty.content == _envelope(Element(_q("GetNominalsResponse")))
