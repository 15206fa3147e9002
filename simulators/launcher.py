"""Start the demo world: generate it if needed, run each agency system as a process.

Used by ``joinedup serve`` in demo mode and by the test suite, so both run
exactly the same agency systems.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from simulators.world import WorldPaths, generate_world

DEFAULT_PEOPLE = 2000
DEFAULT_SEED = 7
REPO_ROOT = Path(__file__).resolve().parent.parent
SERVED_AGENCIES = ("benefits", "nhs", "schools", "police", "probation", "housing")
"""Agencies run as simulator processes (the council is a database file)."""


def simulator_python(agency: str) -> str:
    """The interpreter a simulator runs on: probation has its own virtualenv (graphene)."""
    if agency == "probation":
        return os.environ.get(
            "JOINEDUP_PROBATION_PYTHON", str(REPO_ROOT / ".venv-probation" / "bin" / "python")
        )
    return sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SimulatorProcess:
    """One agency simulator running as its own process on a loopback port."""

    name: str
    module: str
    data: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    latency_ms: float = 0.0
    python: str = field(default=sys.executable)

    @classmethod
    def for_agency(cls, agency: str, paths: WorldPaths) -> SimulatorProcess:
        return cls(
            agency,
            f"simulators.{agency}",
            paths.agency_json(agency),
            free_port(),
            python=simulator_python(agency),
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout_s: float = 20.0) -> None:
        if not Path(self.python).exists():
            raise RuntimeError(
                f"{self.name} simulator's Python {self.python} is missing: "
                "`make install-test` (or `make run`) builds it"
            )
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [
                self.python,
                "-m",
                self.module,
                "--data",
                str(self.data),
                "--port",
                str(self.port),
                "--latency-ms",
                str(self.latency_ms),
            ],
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            cwd=REPO_ROOT,
        )
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} simulator exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} simulator did not become ready on {self.url}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@dataclass
class DemoWorld:
    """The demo world's data files and its running agency systems."""

    paths: WorldPaths
    systems: dict[str, SimulatorProcess]

    def endpoints(self) -> dict[str, str]:
        """Where each agency system answers: a URL, or the council's database file."""
        found = {"council": str(self.paths.council_db)}
        found.update({agency: sim.url for agency, sim in self.systems.items()})
        return found


def ensure_world(root: Path, people: int = DEFAULT_PEOPLE, seed: int = DEFAULT_SEED) -> WorldPaths:
    paths = WorldPaths(root)
    if not paths.ground_truth.exists():
        generate_world(root, people=people, seed=seed)
    return paths


@contextmanager
def running_world(
    root: Path, people: int = DEFAULT_PEOPLE, seed: int = DEFAULT_SEED
) -> Iterator[DemoWorld]:
    """Generate the world if needed and run every agency simulator until the block ends."""
    paths = ensure_world(root, people, seed)
    systems = {agency: SimulatorProcess.for_agency(agency, paths) for agency in SERVED_AGENCIES}
    with ExitStack() as stack:
        for system in systems.values():
            stack.callback(system.stop)
            system.start()
        yield DemoWorld(paths, systems)


def example_reference(paths: WorldPaths) -> tuple[str, str]:
    """A (scheme, value) for someone known to all seven agencies, for demos."""
    people = json.loads(paths.ground_truth.read_text())["people"]
    for person in people:
        if person["known_to_all"]:
            return "NI_NUMBER", str(person["ni_number"])
    raise LookupError("the demo world has nobody known to all seven agencies")
