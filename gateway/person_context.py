"""Person context for the request decision: relationship and consent, never agency data.

A legitimate relationship is the caller's team holding an open case for the
person; consent is recorded per purpose. Both live in the council's
case-management database (the ``person``/``social_case`` tables and the
``consent`` table), read here read-only with one query per table for all the
people of a request. Match confidence comes from the identity lookups.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from gateway.policy import PersonContext
from resolvers.fanout import PersonFetch

log = logging.getLogger(__name__)

COUNCIL = "council"


class CaseRegister:
    def __init__(self, council_db: Path) -> None:
        self.council_db = council_db

    def _read(
        self, council_ids: tuple[str, ...], team: str | None
    ) -> tuple[set[str], dict[str, dict[str, str]]]:
        marks = ",".join("?" * len(council_ids))
        db = sqlite3.connect(f"file:{self.council_db}?mode=ro", uri=True)
        try:
            related = {
                row[0]
                for row in db.execute(
                    f"SELECT p.council_id FROM person p WHERE p.council_id IN ({marks}) "
                    "AND p.team = ? AND EXISTS (SELECT 1 FROM social_case c "
                    "WHERE c.council_id = p.council_id AND c.status = 'open')",
                    (*council_ids, team),
                )
            }
            consent: dict[str, dict[str, str]] = {}
            for council_id, purpose, state in db.execute(
                f"SELECT council_id, purpose, state FROM consent WHERE council_id IN ({marks})",
                council_ids,
            ):
                consent.setdefault(council_id, {})[purpose] = state
            return related, consent
        finally:
            db.close()

    async def contexts(
        self, persons: Mapping[str, PersonFetch], team: str | None
    ) -> tuple[PersonContext, ...]:
        council_ids = tuple(
            sorted({p.matches[COUNCIL].local_id for p in persons.values() if COUNCIL in p.matches})
        )
        related: set[str] = set()
        consent: dict[str, dict[str, str]] = {}
        if council_ids:
            try:
                related, consent = await asyncio.to_thread(self._read, council_ids, team)
            except sqlite3.Error as exc:
                # Fail closed: no relationship and no consent known, so the purposes
                # that need them are denied; the rest of the request stands.
                log.error("case register unreadable (%s); no relationship or consent", exc)
        contexts = []
        for key, person in persons.items():
            council = person.matches.get(COUNCIL)
            council_id = council.local_id if council else None
            contexts.append(
                PersonContext(
                    key=key,
                    match_confidence={a: m.confidence for a, m in person.matches.items()},
                    relationship=team is not None and council_id in related,
                    consent=consent.get(council_id or "", {}),
                )
            )
        return tuple(contexts)
