"""The system under test: the demo world's agency systems and gateways, as real processes.

The world comes from ``simulators.launcher.running_world`` so the benchmark runs
exactly the agency systems the demo and the tests run, however many that is.
The gateway is ``joinedup serve --config`` on the running world's agencies, so the
harness follows the world as agencies are added instead of hard-coding them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from gateway.auth import issue_dev_token, load_dev_key
from gateway.cli import serve
from gateway.config import agencies_toml, agency_settings
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import DemoWorld, SimulatorProcess, free_port


def simulators_of(world: DemoWorld) -> list[SimulatorProcess]:
    """Every agency simulator process the launcher started, whatever the world holds.

    Found by type, as attributes of the world or inside a mapping or list attribute,
    so the harness keeps working as the launcher grows from two agencies to seven.
    """
    found: list[SimulatorProcess] = []
    for value in vars(world).values():
        if isinstance(value, SimulatorProcess):
            found.append(value)
        elif isinstance(value, Mapping | list | tuple):
            members = value.values() if isinstance(value, Mapping) else value
            found += [m for m in members if isinstance(m, SimulatorProcess)]
    return found


def set_agency_latency(world: DemoWorld, latency_ms: float, jitter_ms: float) -> list[str]:
    """Inject latency into every HTTP simulator; returns the agencies it applied to."""
    applied = []
    for simulator in simulators_of(world):
        reply = httpx.put(
            f"{simulator.url}/_sim/faults",
            json={"latency_ms": latency_ms, "jitter_ms": jitter_ms},
            timeout=5,
        )
        if reply.status_code == 200:
            applied.append(simulator.name)
    return applied


def agency_sampler(world: DemoWorld) -> ResourceSampler:
    """CPU of the agency simulators: on this one machine they compete with the gateway."""
    return ResourceSampler(*(s.process.pid for s in simulators_of(world) if s.process is not None))


class ResourceSampler:
    """Samples CPU time and resident memory of process trees (a gateway and its workers,
    or the agency simulators)."""

    def __init__(self, *pids: int, interval_s: float = 0.05) -> None:
        self.roots = [psutil.Process(pid) for pid in pids]
        self.interval_s = interval_s
        self.peak_rss_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def processes(self) -> list[psutil.Process]:
        found = []
        for root in self.roots:
            try:
                found += [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        return found

    def settle(self, busy_below: float = 0.1, timeout_s: float = 120.0) -> None:
        """Wait until the server is idle, so one scenario's backlog never delays the next."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            before = self.cpu_ms()
            time.sleep(0.5)
            if self.cpu_ms() - before < busy_below * 500:
                return

    def cpu_ms(self) -> float:
        total = 0.0
        for process in self.processes():
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += (times.user + times.system) * 1000
        return total

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            for process in self.processes():
                try:
                    rss = process.memory_info().rss / 2**20
                except psutil.NoSuchProcess:
                    continue
                self.peak_rss_mb[process.pid] = max(self.peak_rss_mb.get(process.pid, 0.0), rss)

    def start(self) -> None:
        self.peak_rss_mb = {}
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; the peak RSS of the largest single process (a worker), MB."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return max(self.peak_rss_mb.values(), default=0.0)


@dataclass
class ServerProcess:
    """A gateway (ours or the peer) running as a process, with its resource sampler."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    sampler: ResourceSampler = field(init=False)

    def __post_init__(self) -> None:
        self.sampler = ResourceSampler(self.process.pid)

    def wait_ready(self, probe: str, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(self.url + probe, timeout=0.5).status_code < 500:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class JoinedupGateway:
    """A ``joinedup serve`` started for one measurement; ``with`` it to stop it after.

    Each gateway has a state directory of its own (keys, log, audit store), removed
    when it stops: a bench run starts one per scenario, and each audit store holds
    every request the load sent. It is kept, and named, when the measurement failed.
    """

    server: ServerProcess
    state_dir: Path
    workers: int  # processes serving requests, as counted after start-up

    def __enter__(self) -> JoinedupGateway:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.server.stop()
        if kind is None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        else:
            print(f"kept the gateway's state and log in {self.state_dir}", file=sys.stderr)

    def headers(
        self, role: str = "social_worker", purpose: str = "safeguarding_children"
    ) -> dict[str, str]:
        token = issue_dev_token(
            load_dev_key(self.state_dir), "bench.user", role, "bench-council", "children-east"
        )
        return {"Authorization": f"Bearer {token}", PURPOSE_HEADER: purpose}

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        reply = httpx.post(
            self.server.url + "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self.headers(),
            timeout=60,
        )
        reply.raise_for_status()
        body: dict[str, Any] = reply.json()
        return body


BENCH_RATE_LIMIT = "1000000/minute"


def serve_options() -> set[str]:
    return {param.name for param in serve.params if param.name}


def source_env(source: Path | None) -> dict[str, str]:
    """The environment that imports joinedup from ``source`` (run from there too)."""
    return {"PYTHONPATH": str(source)} if source is not None else {}


def start_joinedup(
    world: DemoWorld,
    scratch: Path,
    policy_dir: Path | None,
    workers: int | None,
    source: Path | None = None,
) -> JoinedupGateway:
    """``joinedup serve`` against the running world, with the options serve offers;
    from the source tree ``source`` if given (another revision's, for ``bench.compare``),
    else from this one."""
    options = serve_options()
    state_dir = scratch / f"gateway-{free_port()}"
    load_dev_key(state_dir)  # created once here, so tokens and gateway share it
    port = free_port()
    command = [sys.executable, "-m", "gateway", "serve", "--state-dir", str(state_dir)]
    command += ["--port", str(port)]
    agencies = {
        name: agency_settings(name, endpoint) for name, endpoint in world.endpoints().items()
    }
    config_file = state_dir / "agencies.toml"
    config_file.write_text(agencies_toml(agencies))
    command += ["--config", str(config_file)]
    if policy_dir is not None:
        command += ["--policy-dir", str(policy_dir)]
    if "rate_limit" in options:
        # The load generator is one caller sending hundreds of requests a second: the
        # per-caller limit (600/minute by default) would answer most of them with 429.
        command += ["--rate-limit", BENCH_RATE_LIMIT]
    if workers is not None:
        if "workers" not in options:
            raise SystemExit("this joinedup serve has no --workers option")
        command += ["--workers", str(workers)]
    log_path = state_dir / "gateway.log"
    process = subprocess.Popen(
        command,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"} | source_env(source),
        # ``python -m`` puts the working directory first on the path, before PYTHONPATH.
        cwd=source,
    )
    server = ServerProcess("joinedup", f"http://127.0.0.1:{port}", process, log_path)
    server.wait_ready("/healthz")
    return JoinedupGateway(server, state_dir, _worker_count(server, workers))


def _worker_count(server: ServerProcess, asked: int | None, timeout_s: float = 10.0) -> int:
    """Worker processes serving: the children of a multi-worker server, else the process.

    Only children started by multiprocessing's spawn are workers: a multi-worker
    server also has multiprocessing's resource tracker as a child.
    """
    root = psutil.Process(server.process.pid)
    deadline = time.monotonic() + timeout_s

    def workers() -> int:
        return sum("spawn_main" in " ".join(child.cmdline()) for child in root.children())

    count = workers()
    while asked is not None and count < asked and time.monotonic() < deadline:
        time.sleep(0.1)
        count = workers()
    return max(1, count)
