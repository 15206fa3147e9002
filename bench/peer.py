"""The peer: GraphQL Mesh composes the REST/OpenAPI agency systems, Hive Gateway serves them.

Both come from the npm registry at the versions pinned in ``bench/peer/package.json``
(installed with ``npm ci`` by ``make bench``). Mesh composes each REST simulator from
its own ``GET /openapi.json``; the record read, ``POST /<collection>/batch``, is exposed
as a query field (``compose.config.mjs``). The peer has no identity matching and no
policy: it is asked for each REST agency's record by that agency's own key, which the
harness takes from the world's ground truth (``records[agency]``).
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


# REST agencies the peer is compared on → the collection their simulator serves
# (``POST /<collection>/batch`` reads records by the agency's own key).
PEER_AGENCIES = {"benefits": "claimants", "schools": "pupils", "housing": "tenants"}


@dataclass
class PeerGateway:
    server: ServerProcess
    agencies: dict[str, str]  # agency → where its OpenAPI document came from
    query_fields: dict[str, tuple[str, str]]  # agency → (Query field, selection)

    def operation(self, person: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The peer's full-record query for one person, None if an agency lacks them."""
        parts = []
        for agency, (field, selection) in self.query_fields.items():
            key = person["records"].get(agency)
            if not key:
                return None
            parts.append(f'{agency}: {field}(input: {{ids: ["{key}"]}}) {{ {selection} }}')
        return [{"query": "{ " + " ".join(parts) + " }"}]


def start_peer(world: DemoWorld, scratch: Path, forks: int) -> PeerGateway:
    running = {s.name: s for s in simulators_of(world) if s.name in PEER_AGENCIES}
    if not running:
        raise LookupError("no REST agency the peer can compose is running")
    agencies, subgraphs = {}, []
    for name, simulator in running.items():
        agencies[name] = f"{simulator.url}/openapi.json"
        subgraphs.append(
            {
                "name": name,
                "source": f"{simulator.url}/openapi.json",
                "endpoint": simulator.url,
                "batch_field": _batch_field(PEER_AGENCIES[name]),
            }
        )
    supergraph = scratch / "supergraph.graphql"
    bin_dir = PEER_DIR / "node_modules" / ".bin"
    composed = subprocess.run(
        [str(bin_dir / "mesh-compose"), "-c", "compose.config.mjs", "-o", str(supergraph)],
        cwd=PEER_DIR,
        env={**os.environ, "PEER_AGENCIES": json.dumps(subgraphs)},
        capture_output=True,
        text=True,
    )
    if composed.returncode:
        raise RuntimeError(f"mesh-compose failed:\n{composed.stdout}\n{composed.stderr}")
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
        collection, field_name = PEER_AGENCIES[name], _batch_field(PEER_AGENCIES[name])
        field = next((f for f in types["Query"]["fields"] if f["name"] == field_name), None)
        if field is None:
            raise LookupError(f"the peer's schema has no query {field_name} for {name}")
        _, reply_type = named_type(field["type"])
        listing = next(f for f in types[reply_type]["fields"] if f["name"] == collection)
        _, record_type = named_type(listing["type"])
        selection = " ".join(
            f"{f} {{ {' '.join(subs)} }}" if subs else f
            for f, subs in selection_of(types, record_type)
        )
        query_fields[name] = (field_name, f"{collection} {{ {selection} }}")
    return PeerGateway(server, agencies, query_fields)


def _batch_field(collection: str) -> str:
    """Mesh's name for ``POST /<collection>/batch`` (no operationId: method + path)."""
    return f"post_{collection}_batch"
