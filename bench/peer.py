"""The peer: GraphQL Mesh composes the REST/OpenAPI agency systems, Hive Gateway serves them.

Both come from the npm registry at the versions pinned in ``bench/peer/package.json``
(installed with ``npm ci`` by ``make bench``). The peer has no identity matching
and no policy: it is asked for each REST agency's record by that agency's own
identifier, which the harness takes from the world's ground truth.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.queries import INTROSPECT_TYPES, named_type, selection_of
from bench.stack import ServerProcess, simulators_of
from simulators.launcher import DemoWorld, free_port

PEER_DIR = Path(__file__).resolve().parent / "peer"


@dataclass(frozen=True)
class PeerAgency:
    """How the peer reaches one REST agency's record: its path parameter and ground-truth key."""

    id_argument: str
    ground_truth_key: str


# REST agencies the peer can be compared on. An agency is used when its simulator
# is running; its OpenAPI document is the simulator's own GET /openapi.json, or
# bench/peer/<agency>.openapi.json while the simulator does not serve one.
PEER_AGENCIES = {"benefits": PeerAgency("ni_number", "ni_number")}


@dataclass
class PeerGateway:
    server: ServerProcess
    agencies: dict[str, str]  # agency → where its OpenAPI document came from
    query_fields: dict[str, tuple[str, str]]  # agency → (Query field, selection)

    def operation(self, person: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The peer's full-record query for one person, None if an id is missing."""
        parts = []
        for agency, (field, selection) in self.query_fields.items():
            spec = PEER_AGENCIES[agency]
            identifier = person.get(spec.ground_truth_key)
            if not identifier:
                return None
            parts.append(f'{agency}: {field}({spec.id_argument}: "{identifier}") {{ {selection} }}')
        return [{"query": "{ " + " ".join(parts) + " }"}]


def _openapi_source(agency: str, url: str) -> tuple[str, str]:
    try:
        if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
            return f"{url}/openapi.json", "the simulator's GET /openapi.json"
    except httpx.TransportError:
        pass
    fallback = PEER_DIR / f"{agency}.openapi.json"
    if fallback.exists():
        return str(fallback), f"bench/peer/{fallback.name}"
    raise LookupError(f"no OpenAPI document for {agency}")


def start_peer(world: DemoWorld, scratch: Path, forks: int) -> PeerGateway:
    running = {s.name: s for s in simulators_of(world) if s.name in PEER_AGENCIES}
    if not running:
        raise LookupError("no REST agency the peer can compose is running")
    agencies, subgraphs = {}, []
    for name, simulator in running.items():
        source, origin = _openapi_source(name, simulator.url)
        agencies[name] = origin
        subgraphs.append({"name": name, "source": source, "endpoint": simulator.url})
    supergraph = scratch / "supergraph.graphql"
    bin_dir = PEER_DIR / "node_modules" / ".bin"
    subprocess.run(
        [str(bin_dir / "mesh-compose"), "-c", "compose.config.mjs", "-o", str(supergraph)],
        cwd=PEER_DIR,
        env={**os.environ, "PEER_AGENCIES": json.dumps(subgraphs)},
        check=True,
        capture_output=True,
    )
    port = free_port()
    log_path = scratch / "peer.log"
    process = subprocess.Popen(
        [
            str(bin_dir / "hive-gateway"),
            *("supergraph", str(supergraph), "--host", "127.0.0.1"),
            *("--port", str(port), "--fork", str(forks)),
        ],
        cwd=scratch,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "NODE_ENV": "production"},
    )
    server = ServerProcess(
        "peer (GraphQL Mesh + Hive Gateway)", f"http://127.0.0.1:{port}", process, log_path
    )
    server.wait_ready("/healthcheck")
    types_reply = httpx.post(
        server.url + "/graphql", json={"query": INTROSPECT_TYPES}, timeout=30
    ).json()
    types = {t["name"]: t for t in types_reply["data"]["__schema"]["types"]}
    query_fields = {}
    for name in running:
        id_argument = PEER_AGENCIES[name].id_argument
        for field in types["Query"]["fields"]:
            if [a["name"] for a in field.get("args", [])] == [id_argument]:
                _, type_name = named_type(field["type"])
                selection = " ".join(
                    f"{f} {{ {' '.join(subs)} }}" if subs else f
                    for f, subs in selection_of(types, type_name)
                )
                query_fields[name] = (field["name"], selection)
                break
        else:
            raise LookupError(f"the peer's schema has no record query for {name}")
    return PeerGateway(server, agencies, query_fields)
