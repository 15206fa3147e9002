"""Adapter for the council's case-management database (SQLite file).

The database is opened read-only for each call in a worker thread, so a slow
query never blocks the event loop and the gateway can never write to it. A
progress handler interrupts a query that runs past the call's time budget, so
the worker thread stops too, not just the caller's wait.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.sdk import (
    Adapter,
    FieldSpec,
    Health,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.sdk.deadline import remaining_s

AGENCY = "council"

_PROGRESS_EVERY = 10_000  # SQLite virtual-machine steps between deadline checks

_CASE_FIELDS = (
    FieldSpec("caseId", "string", "Council case reference."),
    FieldSpec("caseType", "string", "Kind of case, e.g. child in need."),
    FieldSpec("status", "string", "open or closed."),
    FieldSpec("openedOn", "date", "Date the case was opened."),
)

SECTION = SectionSpec(
    agency=AGENCY,
    title="Council social care",
    lookup_schemes=("COUNCIL_ID", "NI_NUMBER", "NHS_NUMBER"),
    fields=(
        FieldSpec("councilId", "string", "Council person id."),
        FieldSpec("name", "string", "Full name as recorded by the council."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec("address", "address", "Current address."),
        FieldSpec("postcode", "string", "Postcode of the current address."),
        FieldSpec("allocatedWorker", "string", "Allocated social worker."),
        FieldSpec("team", "string", "Team holding the case."),
        FieldSpec("childProtectionPlan", "bool", "Subject of a child-protection plan."),
        FieldSpec("cases", "list", "Social-care cases.", item_fields=_CASE_FIELDS),
    ),
)

_COLUMN_OF_SCHEME = {
    "COUNCIL_ID": "council_id",
    "NI_NUMBER": "ni_number",
    "NHS_NUMBER": "nhs_number",
}
_SCHEME_OF_COLUMN = {column: scheme for scheme, column in _COLUMN_OF_SCHEME.items()}


@dataclass
class CouncilAdapter(Adapter):
    database: Path

    def discover(self) -> SectionSpec:
        return SECTION

    def _connect(self) -> sqlite3.Connection:
        if not self.database.exists():
            raise UpstreamUnavailable(AGENCY, "case-management database is not reachable")
        try:
            db = sqlite3.connect(
                f"file:{self.database}?mode=ro",
                uri=True,
                timeout=self.timeout_s,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise UpstreamUnavailable(
                AGENCY, "case-management database refused connection"
            ) from exc
        db.row_factory = sqlite3.Row
        return db

    async def _run(self, work: Any, *args: Any) -> Any:
        budget = remaining_s(self.timeout_s)
        if budget <= 0:
            raise UpstreamTimeout(AGENCY, "the request's deadline passed before the call")
        stop_at = time.monotonic() + budget

        def call() -> Any:
            db = self._connect()
            db.set_progress_handler(lambda: time.monotonic() > stop_at, _PROGRESS_EVERY)
            try:
                return work(db, *args)
            except sqlite3.OperationalError as exc:
                if time.monotonic() > stop_at:
                    raise UpstreamTimeout(AGENCY, f"no answer within {budget:.2g}s") from exc
                raise UpstreamBadReply(AGENCY, f"database error: {type(exc).__name__}") from exc
            except sqlite3.DatabaseError as exc:
                raise UpstreamBadReply(AGENCY, f"database error: {type(exc).__name__}") from exc
            except (IndexError, KeyError, TypeError) as exc:
                raise UpstreamBadReply(AGENCY, "database has an unexpected schema") from exc
            finally:
                db.close()

        try:
            return await asyncio.wait_for(asyncio.to_thread(call), budget)
        except TimeoutError as exc:
            raise UpstreamTimeout(AGENCY, f"no answer within {budget:.2g}s") from exc

    async def check(self) -> Health:
        try:
            await self._run(lambda db: db.execute("SELECT 1 FROM person LIMIT 1").fetchall())
        except UpstreamUnavailable as exc:
            return Health(False, exc.detail)
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        usable = [i for i in identifiers if i.scheme in _COLUMN_OF_SCHEME]
        if not usable:
            return None

        def find(db: sqlite3.Connection) -> Match | None:
            for ident in usable:
                row = db.execute(
                    "SELECT council_id, ni_number, nhs_number FROM person "
                    f"WHERE {_COLUMN_OF_SCHEME[ident.scheme]} = ?",
                    (ident.value,),
                ).fetchone()
                if row is not None:
                    held = tuple(
                        Identifier(_SCHEME_OF_COLUMN[col], row[col])
                        for col in ("council_id", "ni_number", "nhs_number")
                        if row[col]
                    )
                    return Match(AGENCY, row["council_id"], held)
            return None

        result: Match | None = await self._run(find)
        return result

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        marks = ",".join("?" * len(local_ids))

        def fetch(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            records: dict[str, dict[str, Any]] = {}
            for row in db.execute(f"SELECT * FROM person WHERE council_id IN ({marks})", local_ids):
                records[row["council_id"]] = {
                    "councilId": row["council_id"],
                    "name": f"{row['given_name']} {row['family_name']}",
                    "dateOfBirth": row["date_of_birth"],
                    "address": row["address"],
                    "postcode": row["postcode"],
                    "allocatedWorker": row["allocated_worker"],
                    "team": row["team"],
                    "childProtectionPlan": bool(row["child_protection_plan"]),
                    "cases": [],
                }
            if "cases" in fields:
                for case in db.execute(
                    f"SELECT * FROM social_case WHERE council_id IN ({marks}) "
                    "ORDER BY opened_on DESC",
                    local_ids,
                ):
                    records[case["council_id"]]["cases"].append(
                        {
                            "caseId": case["case_id"],
                            "caseType": case["case_type"],
                            "status": case["status"],
                            "openedOn": case["opened_on"],
                        }
                    )
            return {
                local_id: {name: value for name, value in record.items() if name in fields}
                for local_id, record in records.items()
            }

        result: dict[str, dict[str, Any]] = await self._run(fetch)
        return result
