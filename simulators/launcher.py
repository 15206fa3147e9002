"""Start the demo world: generate it if needed, run each agency system as a process.

Used by ``joinedup serve`` in demo mode and by the test suite, so both run
exactly the same agency systems.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from simulators.world import WorldPaths, generate_world

DEFAULT_PEOPLE = 2000
DEFAULT_SEED = 7


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout_s: float = 20.0) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [
                sys.executable,
                "-m",
                self.module,
                "--data",
                str(self.data),
                "--port",
                str(self.port),
                "--latency-ms",
                str(self.latency_ms),
            ],
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
    paths: WorldPaths
    benefits: SimulatorProcess

    def stop(self) -> None:
        self.benefits.stop()


def ensure_world(root: Path, people: int = DEFAULT_PEOPLE, seed: int = DEFAULT_SEED) -> WorldPaths:
    paths = WorldPaths(root)
    if not paths.ground_truth.exists():
        generate_world(root, people=people, seed=seed)
    return paths


@contextmanager
def running_world(
    root: Path, people: int = DEFAULT_PEOPLE, seed: int = DEFAULT_SEED
) -> Iterator[DemoWorld]:
    paths = ensure_world(root, people, seed)
    benefits = SimulatorProcess("benefits", "simulators.benefits", paths.benefits_json, free_port())
    world = DemoWorld(paths, benefits)
    try:
        benefits.start()
        yield world
    finally:
        world.stop()


def example_reference(paths: WorldPaths) -> tuple[str, str]:
    """A (scheme, value) for someone known to both council and benefits, for demos."""
    import json

    people = json.loads(paths.ground_truth.read_text())["people"]
    for person in people:
        if person["council_id"] and person["in_benefits"]:
            return "NI_NUMBER", str(person["ni_number"])
    raise LookupError("the demo world has nobody known to both council and benefits")
