"""OPA server engine: the real ``opa`` run as ``opa run --server`` on loopback.

Decisions go through OPA's REST Data API (``POST /v1/data/joinedup/decision``)
over one pooled httpx client. Decision logging to the console is switched on
so OPA returns a ``decision_id``, which the audit row records. OPA watches the
policy folder itself (``--watch``), so edits take effect without a restart;
a folder that fails to compile leaves OPA's previous policy in force.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.policy.bundle import (
    DEFAULT_OPA,
    DEFAULT_RELOAD_INTERVAL_S,
    FolderWatch,
    PolicyRejected,
    policy_revision,
)
from gateway.policy.decision import Decision, DecisionInput, LabelDecision, LabelInput

log = logging.getLogger(__name__)


def wait_for_health(
    url: str, timeout_s: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Readiness: OPA's ``/health`` answers 200 once its policies are loaded."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise PolicyRejected(f"OPA exited with {process.returncode} (policy invalid?)")
        try:
            if httpx.get(url + "/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise PolicyRejected(f"OPA did not become ready on {url}")


class OpaServerProcess:
    """``opa run --server`` on a loopback port, serving the policy folder."""

    def __init__(self, folder: Path, port: int, opa: Path = DEFAULT_OPA) -> None:
        self.folder = folder
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(  # noqa: S603 - the project's own OPA binary
            [
                str(opa),
                "run",
                "--server",
                "--addr",
                f"127.0.0.1:{port}",
                "--watch",
                "--set",
                "decision_logs.console=true",
                "--log-level",
                "error",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout_s: float = 20.0) -> None:
        try:
            wait_for_health(self.url, timeout_s, self.process)
        except PolicyRejected:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class OpaServerEngine:
    name = "opa"

    def __init__(
        self,
        url: str,
        folder: Path,
        managed: OpaServerProcess | None = None,
        reload_interval_s: float = DEFAULT_RELOAD_INTERVAL_S,
    ) -> None:
        self.url = url
        self.folder = folder
        self._managed = managed
        self._watch = FolderWatch(folder, reload_interval_s)
        self._revision = policy_revision(folder)
        self._client = httpx.AsyncClient(
            base_url=url,
            timeout=httpx.Timeout(2.0, connect=0.5),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )

    @classmethod
    def connect(
        cls,
        url: str,
        folder: Path,
        timeout_s: float = 20.0,
        reload_interval_s: float = DEFAULT_RELOAD_INTERVAL_S,
    ) -> OpaServerEngine:
        """Use a running OPA server, once its ``/health`` says it is ready."""
        wait_for_health(url, timeout_s)
        return cls(url, folder, reload_interval_s=reload_interval_s)

    @classmethod
    def start(
        cls,
        folder: Path,
        port: int,
        opa: Path = DEFAULT_OPA,
        reload_interval_s: float = DEFAULT_RELOAD_INTERVAL_S,
    ) -> OpaServerEngine:
        process = OpaServerProcess(folder, port, opa)
        process.wait_ready()
        return cls(process.url, folder, process, reload_interval_s)

    async def evaluate(self, path: str, document: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        """The raw policy result at an entrypoint, and OPA's decision id."""
        response = await self._client.post(f"/v1/data/{path}", json={"input": document})
        response.raise_for_status()
        body = response.json()
        result = body.get("result")
        if not isinstance(result, dict):
            raise ValueError(f"policy entrypoint {path} is undefined")
        if result.get("revision", "unversioned") == "unversioned":
            result["revision"] = self._current_revision()
        return result, body.get("decision_id")

    def _current_revision(self) -> str:
        """The folder's content hash, recomputed only when a file changed (OPA watches it too;
        the folder is looked at no more than once per reload interval)."""
        if self._watch.changed():
            self._revision = policy_revision(self.folder)
        return self._revision

    async def decide(self, request: DecisionInput) -> Decision:
        result, decision_id = await self.evaluate("joinedup/decision", request.as_json())
        return Decision.from_policy_result(
            result, str(decision_id) if decision_id is not None else None
        )

    async def decide_labels(self, request: LabelInput) -> LabelDecision:
        result, _ = await self.evaluate("joinedup/labels", request.as_json())
        return LabelDecision.from_policy_result(result)

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._managed is not None:
            self._managed.stop()
