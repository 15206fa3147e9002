"""`joinedup new-adapter` end to end: generate a package into a temporary folder, install
it (as pip would, with its entry point), run its own tests (the conformance kit against
its fixture server), then enable it by configuration alone and query it through the
gateway under policy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from gateway.cli import main
from simulators.launcher import free_port
from tests.conftest import POLICIES, GatewayFactory, ref

AGENCY = "youth_justice"
QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    youth_justice { reference name dateOfBirth caseWorker orders { orderType status } }
  }
}"""


KINDS = ("rest", "sql", "graphql", "fhir", "soap")
"""Every kind `new-adapter` can generate."""
OWN_TESTS = {
    "rest": ("18 passed", None),  # the 17 conformance checks and the package's own test
    "sql": ("17 passed, 1 skipped", "cannot be given the fault 'latency'"),
    "graphql": ("18 passed", None),
    "fhir": ("18 passed", None),
    "soap": ("18 passed", None),
}


@pytest.fixture(scope="module", params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    found: str = request.param
    return found


@pytest.fixture(scope="module")
def generated(kind: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The generated package's folder, and a site folder it is installed into."""
    out = tmp_path_factory.mktemp(f"new-adapter-{kind}")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "new-adapter", AGENCY, "--kind", kind, "--out", out],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Next steps:" in result.stdout and "pip install -e ." in result.stdout
    package = out / f"{AGENCY}_adapter"
    site = out / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, package],
        check=True,
    )
    assert (site / f"{AGENCY}_adapter" / "adapter.py").exists()
    return package, site


def test_the_generated_package_passes_its_own_tests_and_the_conformance_kit(
    kind: str, generated: tuple[Path, Path]
) -> None:
    package, site = generated
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=package,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    summary, skip_reason = OWN_TESTS[kind]
    assert summary in result.stdout, result.stdout
    if skip_reason is None:
        assert "skipped" not in result.stdout
    else:
        assert skip_reason in result.stdout, "a skipped check says why"


def test_the_generated_package_is_lint_clean_under_its_own_rules(
    generated: tuple[Path, Path],
) -> None:
    """A new adapter starts clean, so the agency's first review is about their code."""
    package, _ = generated
    for command in (["check", "--no-cache", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=package,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def upstream(
    kind: str, generated: tuple[Path, Path], tmp_path: Path, person_in_both: dict[str, Any]
) -> Iterator[str]:
    """The package's fixture server or database, holding a record for someone the council
    also knows; yields the endpoint to configure."""
    package, site = generated
    records = json.loads((package / f"{AGENCY}_adapter" / "records.json").read_text())
    records["records"][0]["ni_number"] = person_in_both["ni_number"]
    data = tmp_path / "records.json"
    data.write_text(json.dumps(records))
    env = {**os.environ, "PYTHONPATH": str(site)}
    if kind == "sql":
        database = tmp_path / f"{AGENCY}.sqlite"
        fixture = [sys.executable, "-m", f"{AGENCY}_adapter.fixture", database, "--data", data]
        subprocess.run(fixture, env=env, check=True, capture_output=True)
        yield str(database)
        return
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", f"{AGENCY}_adapter.simulator", "--port", str(port), "--data", data],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_new_agency_is_enabled_by_configuration_and_governed_by_policy(
    generated: tuple[Path, Path],
    upstream: str,
    start_gateway: GatewayFactory,
    person_in_both: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package, site = generated
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "agencies" / AGENCY).mkdir()
    shutil.copy(package / "policy" / "data.json", policies / "agencies" / AGENCY / "data.json")
    check = CliRunner().invoke(main, ["policy", "check", "--policy-dir", str(policies)])
    assert check.exit_code == 0, check.output
    # Installed, as far as this process and the gateway's are concerned.
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", str(site))

    gateway = start_gateway(
        endpoints={AGENCY: upstream}, extra_args=("--policy-dir", str(policies))
    )
    variables = ref("NI_NUMBER", person_in_both["ni_number"])
    allowed = gateway.query(variables, query=QUERY).json()
    refused = gateway.query(variables, query=QUERY, role="keyworker", purpose="early_help").json()

    assert "field catalogue" not in gateway.log()
    section = allowed["data"]["person"]["youth_justice"]
    assert section["reference"].endswith("000001")
    assert section["name"] == "Sam Example"
    assert section["dateOfBirth"] == "2009", "the catalogue masks the date of birth to a year"
    assert section["orders"] == [{"orderType": "referral order", "status": "active"}]
    # No agreement covers a keyworker's early help: the whole section is withheld.
    assert refused["data"]["person"]["youth_justice"] is None
    withheld = {w["coordinate"] for w in refused["extensions"]["joinedup"]["withheld"]}
    assert "Person.youth_justice" in withheld


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Youth Justice"], "must be lower_snake_case"),
        (["youth_justice", "--kind", "corba"], "'corba' is not one of"),
    ],
)
def test_new_adapter_refuses_what_it_cannot_generate(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["new-adapter", *args, "--out", str(tmp_path)])

    assert result.exit_code != 0
    assert message in result.output
    assert not any(tmp_path.iterdir()), "nothing is written"


def test_new_adapter_never_overwrites_a_folder(tmp_path: Path) -> None:
    (tmp_path / "youth_justice_adapter").mkdir()

    result = CliRunner().invoke(main, ["new-adapter", "youth_justice", "--out", str(tmp_path)])

    assert result.exit_code != 0 and "already exists" in result.output
