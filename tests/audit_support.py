"""Helpers for audit tests: records to append and raw SQL to tamper with a store."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from gateway.audit import AuditRecord, AuditStore, open_store
from gateway.config import REPO_ROOT


def open_test_store(dsn: str, state_dir: Path, checkpoint_every: int = 4) -> AuditStore:
    return open_store(dsn, state_dir, REPO_ROOT / "policies", checkpoint_every)


def disclosure(
    n: int, scheme: str = "NI_NUMBER", value: str = "QQ123456C", **overrides: Any
) -> AuditRecord:
    fields: dict[str, Any] = {
        "request_id": f"req-{n}",
        "user": "amy",
        "org": "demo-council",
        "roles": ("keyworker",),
        "team": "early-help",
        "purpose": "early_help",
        "lawful_basis": "Children Act 2004 s.10",
        "policy_revision": "rev1",
        "decision_id": f"decision-{n}",
        "person_scheme": scheme,
        "person_value": value,
        "agency": "council",
        "disclosed": ("CouncilSection.name", "CouncilSection.team"),
        "masked": ("CouncilSection.dateOfBirth",),
        "withheld": {"CouncilSection.address": "not shared for early_help"},
        "obligations": {"audit_level": "standard"},
    }
    fields.update(overrides)
    return AuditRecord(**fields)


def raw(dsn: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL on the store's database behind its back, as a tamperer would."""
    if dsn.startswith("sqlite:///"):
        db = sqlite3.connect(dsn.removeprefix("sqlite:///"), isolation_level=None)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql.replace("?", "%s").encode(), params)
        return cursor.fetchall() if cursor.description else []


def audit_cli(state_dir: Path, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `joinedup audit ...` as a process, as an operator would."""
    command = [sys.executable, "-m", "gateway", "audit", "--state-dir", str(state_dir)]
    return subprocess.run(
        [*command, "--audit-dsn", dsn, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
