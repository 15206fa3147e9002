"""The council database schema, written in SQL both SQLite and PostgreSQL accept.

The demo world is generated into SQLite; :func:`copy_to_postgres` loads the
same tables into a PostgreSQL database so the adapter can be run on either.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

TABLES = ("person", "social_case", "referral", "consent", "relationship")

SCHEMA = """
CREATE TABLE person (
    council_id TEXT PRIMARY KEY, given_name TEXT NOT NULL, family_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL, address TEXT NOT NULL, postcode TEXT NOT NULL,
    ni_number TEXT, nhs_number TEXT, allocated_worker TEXT, team TEXT,
    child_protection_plan INTEGER NOT NULL DEFAULT 0, cp_plan_category TEXT,
    cp_plan_start TEXT, labels TEXT NOT NULL DEFAULT ''
);
CREATE INDEX person_ni ON person (ni_number);
CREATE INDEX person_nhs ON person (nhs_number);
CREATE TABLE social_case (
    case_id TEXT PRIMARY KEY, council_id TEXT NOT NULL REFERENCES person(council_id),
    case_type TEXT NOT NULL, status TEXT NOT NULL, opened_on TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_person ON social_case (council_id);
CREATE TABLE referral (
    referral_id TEXT PRIMARY KEY, council_id TEXT NOT NULL REFERENCES person(council_id),
    received_on TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX referral_person ON referral (council_id);
CREATE TABLE consent (
    consent_id TEXT PRIMARY KEY, council_id TEXT NOT NULL REFERENCES person(council_id),
    purpose TEXT NOT NULL, given INTEGER NOT NULL, recorded_on TEXT NOT NULL
);
CREATE INDEX consent_person ON consent (council_id);
CREATE TABLE relationship (
    council_id TEXT NOT NULL REFERENCES person(council_id),
    related_id TEXT NOT NULL REFERENCES person(council_id),
    relationship TEXT NOT NULL,
    PRIMARY KEY (council_id, related_id)
);
"""
"""``relationship``: family and household links between the council's own people; the
value says what ``related_id`` is to ``council_id`` (parent, child, partner, sibling)."""


def copy_to_postgres(sqlite_path: Path, dsn: str) -> None:
    """Create the schema in the (empty) PostgreSQL database ``dsn`` and copy every row."""
    import psycopg

    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        with psycopg.connect(dsn) as target:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    target.execute(statement)  # our own constant
            for table in TABLES:
                cursor = source.execute(f"SELECT * FROM {table}")
                columns = [d[0] for d in cursor.description]
                with target.cursor().copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN"
                ) as copy:
                    for row in cursor:
                        copy.write_row(row)
    finally:
        source.close()
