"""`joinedup serve --policy-dir`: the gateway decides with the policy folder it is given."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from gateway.config import REPO_ROOT
from tests.conftest import GatewayFactory, ref


def test_serve_uses_the_given_policy_folder(
    tmp_path: Path, start_gateway: GatewayFactory, person_in_both: dict[str, Any]
) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", policies)
    data = json.loads((policies / "data.json").read_text())
    data["access"]["revision"] = "from-the-given-folder"
    (policies / "data.json").write_text(json.dumps(data))

    gateway = start_gateway(extra_args=("--policy-dir", str(policies)))
    reply = gateway.query(ref("NI_NUMBER", person_in_both["ni_number"]))

    assert reply.status_code == 200
    assert reply.json()["extensions"]["joinedup"]["policyRevision"] == "from-the-given-folder"
