"""``joinedup policy test|check|explain`` with the project's real OPA and world."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from gateway.cli import main
from gateway.config import agencies_toml, agency_settings
from simulators.launcher import DemoWorld
from tests.conftest import POLICIES

QUERY = '{ person(reference: {scheme: COUNCIL_ID, value: "x"}) { council { name address } } }'


def test_policy_test_runs_the_rego_tests() -> None:
    result = CliRunner().invoke(main, ["policy", "test"])

    assert result.exit_code == 0, result.output


def test_policy_check_accepts_the_policies_and_rejects_a_broken_one(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["policy", "check"]).exit_code == 0

    broken = tmp_path / "policies"
    shutil.copytree(POLICIES, broken)
    (broken / "joinedup" / "old.rego").write_text("package joinedup.old\n\nallow { true }\n")
    result = CliRunner().invoke(main, ["policy", "check", "--policy-dir", str(broken)])

    assert result.exit_code != 0


def test_explain_shows_each_field_with_rule_and_reason_per_role() -> None:
    social = CliRunner().invoke(
        main, ["policy", "explain", "--role", "social_worker", "--purpose", "early_help", QUERY]
    )
    keyworker = CliRunner().invoke(
        main, ["policy", "explain", "--role", "keyworker", "--purpose", "early_help", QUERY]
    )

    assert social.exit_code == 0, social.output
    address = [line for line in social.output.splitlines() if "CouncilSection.address" in line]
    assert "allow" in address[0] and "grants.by_type" in address[0]
    assert "grants.none" in keyworker.output
    assert "is not shared with the caller's role for the purpose 'early_help'" in keyworker.output


def test_explain_with_a_person_shows_the_person_gates(
    demo_world: DemoWorld, person_in_both: dict[str, Any], tmp_path: Path
) -> None:
    config = tmp_path / "agencies.toml"
    config.write_text(
        agencies_toml({n: agency_settings(n, e) for n, e in demo_world.endpoints().items()})
    )
    result = CliRunner().invoke(
        main,
        [
            "policy",
            "explain",
            "--role",
            "keyworker",
            "--purpose",
            "early_help",
            "--team",
            "nobody's-team",
            "--person",
            f"COUNCIL_ID:{person_in_both['council_id']}",
            "--config",
            str(config),
            QUERY,
        ],
    )

    assert result.exit_code == 0, result.output
    assert "relationship.required" in result.output
