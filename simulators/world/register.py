"""Consent records and record sensitivity labels held by the council.

Kept apart from ``generate.py``'s main random stream (its own seeded
generator, run after the council database exists), so adding these tables
leaves every other generated record unchanged.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

CONSENT_PURPOSES = ("early_help", "safeguarding_children")
CONSENT_STATES = ("given", "given", "given", "given", "refused", "withdrawn", None)
REFUGE_SHARE = 0.05


def add_consent_and_labels(council_db: Path, seed: int) -> None:
    rng = random.Random(f"register-{seed}")
    db = sqlite3.connect(council_db)
    try:
        db.executescript(
            """
            CREATE TABLE consent (
                council_id TEXT NOT NULL REFERENCES person(council_id),
                purpose TEXT NOT NULL, state TEXT NOT NULL,
                PRIMARY KEY (council_id, purpose)
            );
            CREATE TABLE record_label (
                council_id TEXT NOT NULL REFERENCES person(council_id), label TEXT NOT NULL,
                PRIMARY KEY (council_id, label)
            );
            """
        )
        ids = [row[0] for row in db.execute("SELECT council_id FROM person ORDER BY council_id")]
        for council_id in ids:
            for purpose in CONSENT_PURPOSES:
                state = rng.choice(CONSENT_STATES)
                if state is not None:
                    db.execute("INSERT INTO consent VALUES (?,?,?)", (council_id, purpose, state))
            if rng.random() < REFUGE_SHARE:
                db.execute("INSERT INTO record_label VALUES (?, 'refuge_address')", (council_id,))
        db.commit()
    finally:
        db.close()
