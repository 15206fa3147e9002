"""`joinedup serve --policy-dir`: the gateway decides with the policy folder it is given."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import REPO_ROOT
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess, free_port
from simulators.world import WorldPaths
from tests.conftest import PERSON_QUERY, ref


def test_serve_uses_the_given_policy_folder(
    tmp_path: Path,
    world: WorldPaths,
    benefits: SimulatorProcess,
    person_in_both: dict[str, Any],
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", policies)
    data = json.loads((policies / "data.json").read_text())
    data["access"]["revision"] = "from-the-given-folder"
    (policies / "data.json").write_text(json.dumps(data))
    state, port = tmp_path / "state", free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gateway", "serve", "--state-dir", str(state)),
            *("--port", str(port), "--council-db", str(world.council_db)),
            *("--benefits-url", benefits.url, "--policy-dir", str(policies)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        token = issue_dev_token(load_dev_key(state), "u", "social_worker", "o", "children-east")
        reply = httpx.post(
            url + "/graphql",
            json={
                "query": PERSON_QUERY,
                "variables": ref("NI_NUMBER", person_in_both["ni_number"]),
            },
            headers={"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"},
            timeout=30,
        )
        assert reply.status_code == 200
        assert reply.json()["extensions"]["joinedup"]["policyRevision"] == "from-the-given-folder"
    finally:
        process.terminate()
        process.wait(timeout=10)
