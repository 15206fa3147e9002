"""Running joinedup as operators do, for tests: `joinedup serve` processes configured
by environment and options, their JSON logs, metrics, readiness, and an OTLP collector.

The `launch` and `collector` fixtures in conftest.py are built from these.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from simulators.launcher import DemoWorld, free_port

if TYPE_CHECKING:  # conftest imports this module to build its fixtures
    from tests.conftest import GatewayProcess


class Launch(Protocol):
    def __call__(
        self, benefits_url: str, *options: str, env: dict[str, str] | None = None
    ) -> GatewayProcess: ...


@contextmanager
def launcher(tmp_path: Path, demo_world: DemoWorld) -> Iterator[Launch]:
    """Starts `joinedup serve` processes on the demo world; stops them afterwards.

    The agencies reach serve as JOINEDUP_ variables (a test may also pass --config);
    benefits is given separately so a test can bring its own, to slow down or stop.
    """
    from tests.conftest import GatewayProcess  # loaded by now: see the import above

    started: list[GatewayProcess] = []

    def start(
        benefits_url: str, *options: str, env: dict[str, str] | None = None
    ) -> GatewayProcess:
        state_dir = tmp_path / f"state{len(started)}"
        state_dir.mkdir()
        endpoints = {**demo_world.endpoints(), "benefits": benefits_url}
        agencies = {f"JOINEDUP_AGENCIES__{n.upper()}__ENDPOINT": e for n, e in endpoints.items()}
        port = free_port()
        log_path = state_dir / "gateway.log"
        command = [sys.executable, "-m", "gateway", "serve", "--state-dir", str(state_dir)]
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **agencies, **(env or {})},
        )
        gateway = GatewayProcess(f"http://127.0.0.1:{port}", state_dir, log_path, process)
        started.append(gateway)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{gateway.log()}")
            try:
                if httpx.get(gateway.url + "/readyz", timeout=5).status_code in (200, 503):
                    return gateway
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"gateway did not start:\n{gateway.log()}")

    try:
        yield start
    finally:
        for gateway in started:
            if gateway.process.poll() is None:
                gateway.stop()


def json_log(gateway: GatewayProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gateway.log().splitlines() if line.startswith("{")]


def sample(metrics: str, name: str) -> float:
    """The sum of a Prometheus sample over every line that starts with `name`."""
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name))


def readyz(gateway: GatewayProcess) -> httpx.Response:
    return httpx.get(gateway.url + "/readyz", timeout=10)


def wait_for_status(gateway: GatewayProcess, status: int, within_s: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        response = readyz(gateway)
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, response.text
            body: dict[str, Any] = response.json()
            return body
        time.sleep(0.2)


class OtlpCollector:
    """An OTLP/HTTP traces endpoint on loopback that keeps every export it is sent."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}/v1/traces"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
