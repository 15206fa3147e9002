"""Shared fixtures: the demo world's agency systems and the gateway, as real processes.

Nothing in the request path is mocked: the benefits simulator and the gateway
run as their own processes on loopback, and the council is a real SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.auth import issue_dev_token, load_dev_key
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess, ensure_world, free_port
from simulators.world import WorldPaths
from tests.postgres import PostgresServer

PERSON_QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    matches { agency status }
    council { councilId name dateOfBirth address postcode team cases { caseId status } }
    benefits { niNumber name dateOfBirth postcode workCoach claims { type status } }
  }
}
"""


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldPaths:
    return ensure_world(tmp_path_factory.mktemp("world"), people=600, seed=11)


@pytest.fixture(scope="session")
def ground_truth(world: WorldPaths) -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = json.loads(world.ground_truth.read_text())["people"]
    return people


@pytest.fixture(scope="session")
def person_in_both(ground_truth: list[dict[str, Any]], world: WorldPaths) -> dict[str, Any]:
    """Someone the council and benefits both know, with the council holding their NI number."""
    import sqlite3

    db = sqlite3.connect(world.council_db)
    try:
        for person in ground_truth:
            if person["council_id"] and person["in_benefits"]:
                row = db.execute(
                    "SELECT ni_number FROM person WHERE council_id = ?", (person["council_id"],)
                ).fetchone()
                if row and row[0] == person["ni_number"]:
                    return person
    finally:
        db.close()
    raise LookupError("no suitable person in the test world")


def start_benefits(world: WorldPaths) -> SimulatorProcess:
    simulator = SimulatorProcess(
        "benefits", "simulators.benefits", world.benefits_json, free_port()
    )
    simulator.start()
    return simulator


@pytest.fixture(scope="session")
def benefits(world: WorldPaths) -> Iterator[SimulatorProcess]:
    simulator = start_benefits(world)
    yield simulator
    simulator.stop()


@dataclass
class GatewayProcess:
    url: str
    state_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def token(self, role: str, user: str = "test.user", team: str | None = "children-east") -> str:
        return issue_dev_token(load_dev_key(self.state_dir), user, role, "test-council", team)

    def query(
        self,
        variables: dict[str, Any],
        role: str = "social_worker",
        purpose: str = "safeguarding_children",
        query: str = PERSON_QUERY,
    ) -> httpx.Response:
        return httpx.post(
            self.url + "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token(role)}", PURPOSE_HEADER: purpose},
            timeout=30,
        )

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


GatewayFactory = Callable[..., GatewayProcess]


@pytest.fixture(scope="session")
def start_gateway(
    tmp_path_factory: pytest.TempPathFactory, world: WorldPaths
) -> Iterator[GatewayFactory]:
    """Start `joinedup serve` as a process against the given agency systems."""
    started: list[GatewayProcess] = []

    def start(
        benefits_url: str, agency_timeout: float = 2.0, extra_args: tuple[str, ...] = ()
    ) -> GatewayProcess:
        state_dir = tmp_path_factory.mktemp("gateway-state")
        port = free_port()
        log_path = state_dir / "gateway.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--state-dir",
                str(state_dir),
                "--port",
                str(port),
                "--council-db",
                str(world.council_db),
                "--benefits-url",
                benefits_url,
                "--agency-timeout",
                str(agency_timeout),
                *extra_args,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        gateway = GatewayProcess(f"http://127.0.0.1:{port}", state_dir, log_path, process)
        started.append(gateway)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{gateway.log()}")
            try:
                if httpx.get(gateway.url + "/healthz", timeout=0.5).status_code == 200:
                    return gateway
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"gateway did not become ready:\n{gateway.log()}")

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture(scope="session")
def gateway(start_gateway: GatewayFactory, benefits: SimulatorProcess) -> GatewayProcess:
    return start_gateway(benefits.url)


def ref(scheme: str, value: str) -> dict[str, Any]:
    return {"ref": {"scheme": scheme, "value": value}}


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; each test creates its own database."""
    server = PostgresServer.start()
    yield server
    server.stop()
