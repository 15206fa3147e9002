"""Shared fixtures: the demo world's agency systems and the gateway, as real processes.

Nothing in the request path is mocked: the six agency simulators and the
gateway run as their own processes on loopback, and the council is a real
SQLite file (or a real PostgreSQL database in its own tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import AgencySettings, agencies_toml, agency_settings
from gateway.policy.opa_server import OpaServerProcess
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import DemoWorld, SimulatorProcess, free_port, running_world
from simulators.world import WorldPaths
from tests.event_loop_support import functions_sent_to_threads
from tests.operations_support import Launch, OtlpCollector, launcher
from tests.postgres import PostgresServer

POLICIES = Path(__file__).resolve().parent.parent / "policies"

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
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWorld]:
    """The test world (600 people) with all six simulators running for the session."""
    with running_world(tmp_path_factory.mktemp("world"), people=600, seed=11) as running:
        yield running


@pytest.fixture(scope="session")
def world(demo_world: DemoWorld) -> WorldPaths:
    return demo_world.paths


@pytest.fixture(scope="session")
def ground_truth(world: WorldPaths) -> list[dict[str, Any]]:
    people: list[dict[str, Any]] = json.loads(world.ground_truth.read_text())["people"]
    return people


def agency_records(world: WorldPaths, agency: str, collection: str, key: str) -> dict[str, Any]:
    """One simulator's records by key, read from its data file (what the agency holds)."""
    records = json.loads(world.agency_json(agency).read_text())[collection]
    return {record[key]: record for record in records}


CALLER_TEAM = "early-help"


@pytest.fixture(scope="session")
def unrestricted(world: WorldPaths) -> frozenset[str]:
    """Council ids the default test caller may see in full: the caller's team holds an open
    case, consent to early help is given and never refused, and no council record carries
    a sensitivity label."""
    import sqlite3

    db = sqlite3.connect(world.council_db)
    try:
        rows = db.execute(
            """
            SELECT p.council_id FROM person p
            WHERE p.team = ? AND p.labels = ''
              AND EXISTS (SELECT 1 FROM social_case c
                          WHERE c.council_id = p.council_id AND c.status = 'open')
              AND EXISTS (SELECT 1 FROM consent k WHERE k.council_id = p.council_id
                          AND k.purpose = 'early_help')
              AND NOT EXISTS (SELECT 1 FROM consent k WHERE k.council_id = p.council_id
                              AND k.given = 0)
              AND NOT EXISTS (SELECT 1 FROM social_case c
                              WHERE c.council_id = p.council_id AND c.labels != '')
            """,
            (CALLER_TEAM,),
        ).fetchall()
    finally:
        db.close()
    return frozenset(row[0] for row in rows)


@pytest.fixture(scope="session")
def person_in_both(
    ground_truth: list[dict[str, Any]], world: WorldPaths, unrestricted: frozenset[str]
) -> dict[str, Any]:
    """Someone council and benefits both know, both recording their true name, date of
    birth, postcode and NI number (so tests can compare answers to the ground truth), whom
    the default test caller may see in full."""
    import sqlite3

    claimants = agency_records(world, "benefits", "claimants", "ni_number")
    db = sqlite3.connect(world.council_db)
    try:
        for person in ground_truth:
            if person["council_id"] not in unrestricted or "benefits" not in person["records"]:
                continue
            row = db.execute(
                "SELECT given_name, family_name, date_of_birth, postcode, ni_number, labels "
                "FROM person WHERE council_id = ?",
                (person["council_id"],),
            ).fetchone()
            truth = (
                person["given_name"],
                person["family_name"],
                person["date_of_birth"],
                person["postcode"],
                person["ni_number"],
                "",
            )
            claimant = claimants[person["ni_number"]]
            if row == truth and claimant["postcode"] == person["postcode"]:
                return person
    finally:
        db.close()
    raise LookupError("no suitable person in the test world")


@pytest.fixture(scope="session")
def person_in_all(ground_truth: list[dict[str, Any]]) -> dict[str, Any]:
    """Someone known to all seven agencies (the generator keeps a handful)."""
    person = next(p for p in ground_truth if p["known_to_all"])
    assert len(person["records"]) == 7
    return person


def start_benefits(world: WorldPaths) -> SimulatorProcess:
    """A private benefits simulator that a test may break or stop."""
    simulator = SimulatorProcess.for_agency("benefits", world)
    simulator.start()
    return simulator


@pytest.fixture(scope="session")
def benefits(demo_world: DemoWorld) -> SimulatorProcess:
    return demo_world.systems["benefits"]


@dataclass
class GatewayProcess:
    url: str
    state_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def token(self, role: str, user: str = "test.user", team: str | None = CALLER_TEAM) -> str:
        return issue_dev_token(load_dev_key(self.state_dir), user, role, "test-council", team)

    def query(
        self,
        variables: dict[str, Any],
        role: str = "social_worker",
        purpose: str = "safeguarding_children",
        query: str = PERSON_QUERY,
        team: str | None = CALLER_TEAM,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return httpx.post(
            self.url + "/graphql",
            json={"query": query, "variables": variables},
            headers={
                "Authorization": f"Bearer {self.token(role, team=team)}",
                PURPOSE_HEADER: purpose,
                **(headers or {}),
            },
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
    tmp_path_factory: pytest.TempPathFactory, demo_world: DemoWorld
) -> Iterator[GatewayFactory]:
    """Start `joinedup serve --config` as a process against the demo world's systems."""
    started: list[GatewayProcess] = []

    def start(
        endpoints: Mapping[str, str] | None = None,
        agency_timeout: float = 2.0,
        state_dir: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> GatewayProcess:
        """``endpoints`` replace the session's systems for the agencies they name."""
        state_dir = state_dir or tmp_path_factory.mktemp("gateway-state")
        state_dir.mkdir(parents=True, exist_ok=True)
        agencies: dict[str, AgencySettings] = {
            name: agency_settings(name, endpoint)
            for name, endpoint in {**demo_world.endpoints(), **(endpoints or {})}.items()
        }
        config_file = state_dir / "agencies.toml"
        config_file.write_text(agencies_toml(agencies))
        port = free_port()
        log_path = state_dir / f"gateway-{port}.log"
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
                "--config",
                str(config_file),
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
def gateway(start_gateway: GatewayFactory) -> GatewayProcess:
    """The gateway on all seven agency systems, shared by tests that do not break them."""
    return start_gateway()


def ref(scheme: str, value: str) -> dict[str, Any]:
    return {"ref": {"scheme": scheme, "value": value}}


def agencies_read(body: dict[str, Any]) -> list[str]:
    """The agencies a reply's request read records from, once per call: a read, or a
    lookup that read (``SectionSpec.read_on_lookup``)."""
    calls = body["extensions"]["joinedup"]["upstream"]
    return [c["agency"] for c in calls if c["operation"] in ("read", "lookup_read")]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; each test creates its own database."""
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def audit_dsn(
    request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """An empty audit store's DSN on each backend: every audit test runs on both."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "audit.sqlite")
    server: PostgresServer = request.getfixturevalue("postgres")
    name = "audit_" + tmp_path_factory.mktemp("db").name.replace("-", "_").lower()
    return server.create_database(name)


@pytest.fixture(scope="session")
def opa_server() -> Iterator[OpaServerProcess]:
    """The project's OPA (``.tools/bin/opa``) serving ``policies/`` on loopback."""
    server = OpaServerProcess(POLICIES, free_port())
    server.wait_ready()
    yield server
    server.stop()


@pytest.fixture
def launch(tmp_path: Path, demo_world: DemoWorld) -> Iterator[Launch]:
    """Start `joinedup serve` processes configured as an operator would (see
    tests/operations_support.py); they are stopped after the test."""
    with launcher(tmp_path, demo_world) as start:
        yield start


@pytest.fixture
def collector() -> Iterator[OtlpCollector]:
    """An OTLP/HTTP traces endpoint on loopback that keeps what it is sent."""
    found = OtlpCollector()
    yield found
    found.close()


@pytest.fixture
def threads_used() -> Iterator[list[str]]:
    """The names of the functions the test's code hands to ``asyncio.to_thread``."""
    with functions_sent_to_threads() as used:
        yield used
