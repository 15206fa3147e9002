"""The test PostgreSQL server starts and accepts connections on loopback."""

from __future__ import annotations

import subprocess

from tests.postgres import PostgresServer, _pg_bin


def test_created_database_answers_queries(postgres: PostgresServer) -> None:
    dsn = postgres.create_database("fixture_check")

    result = subprocess.run(
        [_pg_bin("psql"), dsn, "-tAc", "SELECT 40 + 2"],
        check=True,
        capture_output=True,
        text=True,
    )

    assert result.stdout.strip() == "42"
