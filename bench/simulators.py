"""CPU per call of each agency simulator on the calls a full-person view makes of it.

``python -m bench.simulators [--calls N] [--rounds R] [--only AGENCY] [--served]``: each
simulator's Starlette application is called in this process through ASGI directly (no
server, no HTTP client: only the simulator's own work is timed) with the calls the
gateway's adapter makes for one person known to all agencies: a batched identifier
lookup, a batched demographic search and a batched record read. ``time.process_time``
over ``N`` sequential calls, ``R`` rounds, medians in microseconds per call. The
probation simulator runs in its own virtualenv (graphene), so it is measured by this
module run there as a child process. ``--served`` instead runs each simulator as the
demo world does (its own process, uvicorn) and measures that process's CPU (psutil)
per call from one keep-alive client: what the simulator costs the benchmark machine,
HTTP server included.

The simulators share the benchmark machine's two cores with the gateway under test,
so their CPU per call is taken from the gateway's measured throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from simulators.launcher import (
    REPO_ROOT,
    SERVED_AGENCIES,
    SimulatorProcess,
    ensure_world,
    simulator_python,
)

WORLD_ROOT = REPO_ROOT / ".joinedup" / "bench" / "world-simulators"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
POLICE_NS = "urn:joinedup:police:nominals:v1"
IDENTITY_SELECTION = "crn pncId niNumber givenName familyName dateOfBirth"
JSON_HEADERS = ((b"content-type", b"application/json"),)

ASGIApp = Callable[..., Any]


@dataclass(frozen=True)
class Call:
    """One HTTP request to a simulator."""

    name: str
    method: str
    path: str
    query: str = ""
    body: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


async def asgi_call(app: ASGIApp, call: Call) -> Reply:
    """``call`` answered by the ASGI ``app``, as a server on 127.0.0.1:8000 would pass it."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": call.method,
        "scheme": "http",
        "path": call.path,
        "raw_path": call.path.encode(),
        "query_string": call.query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-length", str(len(call.body)).encode()),
            *call.headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0
    headers: tuple[tuple[bytes, bytes], ...] = ()
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # a disconnect never comes while answering
        sent = True
        return {"type": "http.request", "body": call.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = tuple((bytes(k), bytes(v)) for k, v in message.get("headers", ()))
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    await app(scope, receive, send)
    return Reply(status, headers, b"".join(chunks))


def _json_call(name: str, path: str, body: Any) -> Call:
    return Call(name, "POST", path, body=json.dumps(body).encode(), headers=JSON_HEADERS)


def _soap_call(name: str, operation: str, inner: str) -> Call:
    envelope = (
        f'<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body>'
        f'<p:{operation} xmlns:p="{POLICE_NS}">{inner}</p:{operation}>'
        "</soap:Body></soap:Envelope>"
    )
    return Call(
        name,
        "POST",
        "/NominalService",
        body=envelope.encode(),
        headers=(
            (b"content-type", b"text/xml; charset=utf-8"),
            (b"soapaction", f"{POLICE_NS}#{operation}".encode()),
        ),
    )


def typical_calls(agency: str, person: dict[str, Any], record: dict[str, Any]) -> list[Call]:
    """The calls a full-person view makes of ``agency`` for ``person`` (whose record there
    is ``record``), shaped as the gateway's adapter sends them."""
    given, family, dob = person["given_name"], person["family_name"], person["date_of_birth"]
    wanted = {"given_name": given, "family_name": family, "date_of_birth": dob}
    rest = {
        "benefits": ("claimants", {"ni_number": person["ni_number"]}),
        "schools": ("pupils", {"nhs_number": person["nhs_number"]}),
        "housing": ("tenants", {"ni_number": person["ni_number"]}),
    }
    if agency in rest:
        name, lookup = rest[agency]
        key = person["records"][agency]
        return [
            _json_call("lookup", f"/{name}/lookup", {"queries": [lookup]}),
            _json_call("search", f"/{name}/search/batch", {"queries": [wanted]}),
            _json_call("read", f"/{name}/batch", {"ids": [key]}),
        ]
    if agency == "nhs":
        system = "https://fhir.nhs.uk/Id/nhs-number"
        form = urlencode({"family": family, "given": given, "birthdate": dob})
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": f"Patient?{form}"}}],
        }
        includes = "&".join(
            f"_revinclude={kind}:patient" for kind in ("Encounter", "Flag", "Condition")
        )
        return [
            Call(
                "lookup",
                "GET",
                "/Patient",
                urlencode({"identifier": f"{system}|{person['nhs_number']}", "_count": "1"}),
            ),
            Call(
                "search",
                "POST",
                "/",
                body=json.dumps(bundle).encode(),
                headers=((b"content-type", b"application/fhir+json"),),
            ),
            Call("read", "GET", "/Patient", f"_id={record['id']}&{includes}&_count=100"),
        ]
    if agency == "police":
        return [
            _soap_call(
                "lookup",
                "FindNominalBatch",
                f"<p:FindNominal><p:niNumber>{person['ni_number']}</p:niNumber>"
                f"<p:pncId>{person['pnc_id']}</p:pncId></p:FindNominal>",
            ),
            _soap_call(
                "search",
                "SearchNominalsBatch",
                f"<p:SearchNominals><p:givenName>{given}</p:givenName><p:familyName>{family}"
                f"</p:familyName><p:dateOfBirth>{dob}</p:dateOfBirth></p:SearchNominals>",
            ),
            _soap_call("read", "GetNominals", f"<p:pncId>{person['pnc_id']}</p:pncId>"),
        ]
    if agency == "probation":
        find = (
            "query FindMany($crn0: String, $pncId0: String, $niNumber0: String) { "
            "p0: findOffenders(crn: $crn0, pncId: $pncId0, niNumber: $niNumber0) "
            f"{{ {IDENTITY_SELECTION} }} }}"
        )
        search = (
            "query SearchMany($familyName0: String!, $dateOfBirth0: String!, "
            "$givenName0: String) { s0: searchOffenders(familyName: $familyName0, "
            f"dateOfBirth: $dateOfBirth0, givenName: $givenName0) {{ {IDENTITY_SELECTION} }} }}"
        )
        read = (
            "query Read($crns: [String!]!) { offenders(crns: $crns) { crn givenName familyName "
            "dateOfBirth supervisionStatus practitioner { name team } licenceConditions "
            "riskLevel mappaLevel labels } }"
        )
        return [
            _json_call(
                "lookup",
                "/graphql",
                {
                    "query": find,
                    "variables": {
                        "crn0": person["case_reference"],
                        "pncId0": person["pnc_id"],
                        "niNumber0": person["ni_number"],
                    },
                },
            ),
            _json_call(
                "search",
                "/graphql",
                {
                    "query": search,
                    "variables": {"familyName0": family, "dateOfBirth0": dob, "givenName0": given},
                },
            ),
            _json_call("read", "/graphql", {"query": read, "variables": {"crns": [record["crn"]]}}),
        ]
    raise ValueError(f"no typical calls for {agency}")


RECORD_LISTS = {
    "benefits": ("claimants", "ni_number"),
    "nhs": ("patients", "id"),
    "schools": ("pupils", "pupil_id"),
    "police": ("nominals", "pnc_id"),
    "probation": ("offenders", "crn"),
    "housing": ("tenants", "housing_ref"),
}


def world_sample(root: Path = WORLD_ROOT) -> tuple[Path, dict[str, Any]]:
    """The world's root and the first person known to all agencies."""
    paths = ensure_world(root)
    people = json.loads(paths.ground_truth.read_text())["people"]
    return root, next(p for p in people if p["known_to_all"])


def agency_app(agency: str, root: Path) -> ASGIApp:
    paths = ensure_world(root)
    module = importlib.import_module(f"simulators.{agency}.app")
    app: ASGIApp = module.create_app(paths.agency_json(agency))
    return app


def agency_record(agency: str, root: Path, person: dict[str, Any]) -> dict[str, Any]:
    listing, key = RECORD_LISTS[agency]
    records = json.loads(ensure_world(root).agency_json(agency).read_text())[listing]
    local_id = person["records"][agency]
    record: dict[str, Any] = next(r for r in records if r[key] == local_id)
    return record


def measure(agency: str, calls: int, rounds: int) -> dict[str, float]:
    """Median CPU microseconds per call of each typical call of ``agency``."""
    root, person = world_sample()
    app = agency_app(agency, root)
    typical = typical_calls(agency, person, agency_record(agency, root, person))

    async def run() -> dict[str, float]:
        for call in typical:
            reply = await asgi_call(app, call)
            if reply.status != 200:
                raise RuntimeError(f"{agency} {call.name}: {reply.status} {reply.body[:200]!r}")
            for _ in range(50):
                await asgi_call(app, call)
        samples: dict[str, list[float]] = {call.name: [] for call in typical}
        for _ in range(rounds):
            for call in typical:
                started = time.process_time()
                for _ in range(calls):
                    await asgi_call(app, call)
                samples[call.name].append((time.process_time() - started) / calls * 1e6)
        return {name: statistics.median(values) for name, values in samples.items()}

    return asyncio.run(run())


def measure_served(agency: str, calls: int, rounds: int) -> dict[str, float]:
    """Median CPU microseconds per call of the simulator's own process, HTTP included."""
    import httpx
    import psutil

    root, person = world_sample()
    typical = typical_calls(agency, person, agency_record(agency, root, person))
    system = SimulatorProcess.for_agency(agency, ensure_world(root))
    system.start()
    try:
        assert system.process is not None
        server = psutil.Process(system.process.pid)
        with httpx.Client(base_url=system.url) as client:

            def send(call: Call) -> None:
                url = f"{call.path}?{call.query}" if call.query else call.path
                headers = [(k.decode(), v.decode()) for k, v in call.headers]
                reply = client.request(call.method, url, content=call.body, headers=headers)
                if reply.status_code != 200:
                    raise RuntimeError(f"{agency} {call.name}: {reply.status_code}")

            def cpu() -> float:
                times = server.cpu_times()
                return float(times.user + times.system)

            for call in typical:
                for _ in range(50):
                    send(call)
            samples: dict[str, list[float]] = {call.name: [] for call in typical}
            for _ in range(rounds):
                for call in typical:
                    started = cpu()
                    for _ in range(calls):
                        send(call)
                    samples[call.name].append((cpu() - started) / calls * 1e6)
    finally:
        system.stop()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--calls", type=int, help="calls per round (500; 3000 with --served: CPU clock ticks)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=SERVED_AGENCIES, action="append")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--served", action="store_true", help="simulator processes, HTTP")
    args = parser.parse_args()
    args.calls = args.calls or (3000 if args.served else 500)
    figures: dict[str, dict[str, float]] = {}
    for agency in args.only or SERVED_AGENCIES:
        if args.served:
            figures[agency] = measure_served(agency, args.calls, args.rounds)
            continue
        python = simulator_python(agency)
        if python == sys.executable or args.only:
            figures[agency] = measure(agency, args.calls, args.rounds)
            continue
        options = ["--only", agency, "--json", "--calls", str(args.calls)]
        child = subprocess.run(
            [python, "-m", "bench.simulators", *options, "--rounds", str(args.rounds)],
            capture_output=True,
            check=True,
            cwd=REPO_ROOT,
            text=True,
        )
        figures[agency] = json.loads(child.stdout)[agency]
    if args.json:
        print(json.dumps(figures))
        return
    print(f"{'simulator':<10} {'lookup':>8} {'search':>8} {'read':>8} {'sum':>8}  (CPU µs/call)")
    for agency, per_call in figures.items():
        row = " ".join(f"{per_call[name]:>8.0f}" for name in ("lookup", "search", "read"))
        print(f"{agency:<10} {row} {sum(per_call.values()):>8.0f}")


if __name__ == "__main__":
    main()
