"""The deployment we ship: Kubernetes manifests, the example configuration, and
the OPA sidecar workflow (a bundle built by `opa build`, served by `opa run`)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.auth import Caller
from gateway.config import DEMO_AGENCIES
from gateway.policy import DecisionInput, RequestedField
from gateway.policy.embedded import EmbeddedEngine
from gateway.settings import (
    Settings,
    gateway_config,
    load_settings,
    profile_problems,
    unsupported_options,
)
from simulators.launcher import free_port

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = ROOT / "deploy" / "kubernetes"
OPA = ROOT / ".tools" / "bin" / "opa"


def manifests() -> dict[str, dict[str, Any]]:
    documents = [
        document
        for path in sorted(MANIFESTS.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
    ]
    return {document["kind"]: document for document in documents}


def test_manifests_are_the_expected_kinds() -> None:
    kinds = manifests()
    assert set(kinds) == {"Kustomization", "ConfigMap", "Deployment", "Service"}
    listed = set(kinds["Kustomization"]["resources"])
    assert listed == {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}


def test_deployment_runs_the_gateway_with_an_opa_sidecar() -> None:
    kinds = manifests()
    pod = kinds["Deployment"]["spec"]["template"]
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    assert set(containers) == {"joinedup", "opa"}
    gateway, opa = containers["joinedup"], containers["opa"]
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "--addr=127.0.0.1:8181" in opa["args"], "OPA listens on loopback only"
    makefile_opa = re.search(r"OPA_VERSION := v(\S+)", (ROOT / "Makefile").read_text())
    assert makefile_opa is not None
    assert opa["image"].startswith(f"openpolicyagent/opa:{makefile_opa.group(1)}")

    config = tomllib.loads(kinds["ConfigMap"]["data"]["joinedup.toml"])
    settings = Settings(**config)
    assert gateway["ports"][0]["containerPort"] == settings.server.port
    assert str(settings.policy.opa_url).startswith("http://127.0.0.1:8181")
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    pre_stop = gateway["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert grace > settings.server.shutdown_grace_s + pre_stop, "the drain is never cut short"

    service = kinds["Service"]["spec"]
    assert service["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["ports"][0]["targetPort"] == gateway["ports"][0]["name"]
    assert "joinedup" in yaml.safe_load(kinds["ConfigMap"]["data"]["opa.yaml"])["bundles"]


def test_shipped_production_config_meets_every_production_rule() -> None:
    text = manifests()["ConfigMap"]["data"]["joinedup.toml"]
    settings = Settings(**tomllib.loads(text))
    assert settings.profile == "production"
    assert profile_problems(settings) == []
    assert unsupported_options(settings) == []
    config = gateway_config(settings)
    assert config.production and config.policy_engine == "opa"
    assert set(config.agencies) == set(DEMO_AGENCIES)


def test_example_demo_config_is_valid() -> None:
    settings = load_settings(ROOT / "deploy" / "joinedup.demo.toml")
    assert settings == Settings(), "the example documents the defaults"


def test_opa_sidecar_serves_a_bundle_built_from_our_policies(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.tar.gz"
    subprocess.run([str(OPA), "build", "-b", str(ROOT / "policies"), "-o", str(bundle)], check=True)
    port = free_port()
    server = subprocess.Popen(
        [str(OPA), "run", "--server", f"--addr=127.0.0.1:{port}", "--bundle", str(bundle)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(url + "/health?bundles", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "OPA did not load the bundle"
            time.sleep(0.1)
        request = DecisionInput(
            Caller("u", "o", ("social_worker",), "children-east").as_policy_input(),
            "safeguarding_children",
            (
                RequestedField("CouncilSection.name", "council"),
                RequestedField("BenefitsSection.sanctions", "benefits"),
            ),
        )
        reply = httpx.post(
            url + "/v1/data/joinedup/decision", json={"input": request.as_json()}, timeout=5
        ).json()
    finally:
        server.terminate()
        server.wait(timeout=10)

    served = {f["coordinate"]: f["effect"] for f in reply["result"]["fields"]}
    assert set(served) == {"CouncilSection.name", "BenefitsSection.sanctions"}
    decided = asyncio.run(EmbeddedEngine(ROOT / "policies").decide(request))
    assert served == {c: decided.for_field(c).effect for c in served}
