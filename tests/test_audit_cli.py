"""`joinedup audit query|export|verify|prune` on both audit backends."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli import main
from tests.audit_support import disclosure, open_test_store


@pytest.fixture
def filled(audit_dsn: str, tmp_path: Path) -> tuple[str, Path]:
    store = open_test_store(audit_dsn, tmp_path)
    store.append(
        [
            disclosure(1, agency="council"),
            disclosure(1, agency="benefits", disclosed=("BenefitsSection.claims",)),
        ]
    )
    store.append(
        [
            disclosure(
                2,
                "COUNCIL_ID",
                "C-000042",
                user="bob",
                purpose="safeguarding_children",
                break_glass_reason="child at immediate risk",
            )
        ]
    )
    store.append([disclosure(3, user="bob", agency="benefits")])
    store.close()
    return audit_dsn, tmp_path


def run(filled: tuple[str, Path], *args: str) -> Result:
    dsn, state_dir = filled
    return CliRunner().invoke(
        main, ["audit", "--state-dir", str(state_dir), "--audit-dsn", dsn, *args]
    )


def test_query_by_person_as_json_names_fields_and_hides_the_identifier(
    filled: tuple[str, Path],
) -> None:
    result = run(filled, "query", "--person", "ni_number:qq123456c", "--format", "json")

    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [(r["request_id"], r["agency"]) for r in records] == [
        ("req-1", "council"),
        ("req-1", "benefits"),
        ("req-3", "benefits"),
    ]
    assert records[0]["withheld"] == {"CouncilSection.address": "not shared for early_help"}
    assert "QQ123456C" not in result.output


def test_query_by_user_and_agency_as_csv(filled: tuple[str, Path]) -> None:
    result = run(filled, "query", "--user", "bob", "--agency", "benefits", "--format", "csv")

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [(r["request_id"], r["user_id"], r["agency"]) for r in rows] == [
        ("req-3", "bob", "benefits")
    ]


def test_query_break_glass_only_as_a_table(filled: tuple[str, Path]) -> None:
    result = run(filled, "query", "--break-glass")

    assert result.exit_code == 0, result.output
    assert "child at immediate risk" in result.output
    assert "C-000042" in result.output  # council ids are kept in clear by the catalogue
    assert "(1 records)" in result.output


def test_query_by_purpose_and_time_range(filled: tuple[str, Path]) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()

    later = run(filled, "query", "--since", tomorrow, "--format", "json")
    today = run(
        filled,
        "query",
        "--purpose",
        "early_help",
        "--since",
        yesterday,
        "--until",
        tomorrow,
        "--format",
        "json",
    )

    assert json.loads(later.output) == []
    assert {r["request_id"] for r in json.loads(today.output)} == {"req-1", "req-3"}


def test_bad_person_is_a_clear_usage_error(filled: tuple[str, Path]) -> None:
    result = run(filled, "query", "--person", "QQ123456C")

    assert result.exit_code == 2
    assert "SCHEME:VALUE" in result.output


def test_subject_access_export(filled: tuple[str, Path]) -> None:
    result = run(filled, "export", "--person", "NI_NUMBER:QQ123456C")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["report"] == "subject_access"
    assert report["accesses"] == 2
    assert report["by_organisation"] == {"demo-council": 3}
    assert report["records"][0]["lawful_basis"] == "Children Act 2004 s.10"


def test_data_owner_export(filled: tuple[str, Path]) -> None:
    result = run(filled, "export", "--agency", "benefits")

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["report"], report["disclosures"], report["people"]) == ("data_owner", 2, 1)
    assert report["by_user"] == {"amy": 1, "bob": 1}
    assert report["fields_shared"]["BenefitsSection.claims"] == 1


def test_prune_keeps_unreviewed_break_glass_and_the_chain_verifiable(
    filled: tuple[str, Path],
) -> None:
    pruned = run(filled, "prune", "--older-than", "0")
    verified = run(filled, "verify")

    assert pruned.exit_code == 0, pruned.output
    assert "pruned 2 records (through record 2)" in pruned.output
    assert "break-glass access awaiting review" in pruned.output
    assert verified.exit_code == 0, verified.output
    assert "2 records (3..4)" in verified.output
