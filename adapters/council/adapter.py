"""Adapter for the council's case-management database: SQLite file or PostgreSQL.

``location`` is a SQLite file path, or a ``postgresql://`` DSN for the same
schema on PostgreSQL. Connections are read-only, so the gateway can never write
to the council's data.

On SQLite a lookup, read or register question (by identifier, on indexes) is
first tried on the event loop with a budget of :data:`QUICK_S` and no wait for
locks: it takes well under a millisecond, while handing it to a worker thread
cost 1-3 ms on a busy machine (the thread waits to be scheduled; the council's
read was the last answer of a full view). A query that does not finish in that
budget, or finds the database locked, is stopped and run again in a worker thread
with the call's whole budget, so a slow query never holds the event loop for
long. Demographic searches (scans by blocking keys: 20 ms for a caseload's) and
every PostgreSQL call run in a worker thread. A query that runs past the call's
time budget is stopped in the database (SQLite's progress handler, PostgreSQL's
statement_timeout), so the worker thread stops too, not just the caller's wait.

The event loop keeps its SQLite connection between calls (:class:`_LoopConnection`):
opening one and parsing the schema again cost about a quarter of the council's time
per full person view. Worker threads open one per call.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.sdk import (
    LABELS_KEY,
    Adapter,
    AdapterError,
    Candidate,
    Demographics,
    EventSpec,
    FieldSpec,
    Health,
    HouseholdLink,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.sdk.deadline import remaining_s
from adapters.sdk.demographics import demographics_from

AGENCY = "council"

_PROGRESS_EVERY = 10_000  # SQLite virtual-machine steps between deadline checks
QUICK_S = 0.002
"""How long a SQLite query may run on the event loop before it moves to a worker thread."""


class _NotQuick(Exception):
    """A SQLite call that could not be answered at once on the event loop."""


class _LoopConnection:
    """The event loop's read-only connection to the council's SQLite file, kept open.

    Reopened when the path names another file than the one open (the database was
    replaced); a missing file is unavailable, as when each call opened its own.
    """

    def __init__(self) -> None:
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None

    def to(self, path: Path) -> sqlite3.Connection:
        """The connection to ``path``; raises ``OSError`` (``FileNotFoundError`` if it is
        missing) or ``sqlite3.Error`` if it cannot be opened."""
        status = path.stat()
        file = (status.st_dev, status.st_ino)
        if self._db is None or file != self._file:
            self.close()
            self._db = _read_only(path, timeout_s=0)
            self._file = file
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db, self._file = None, None


def _read_only(path: Path, timeout_s: float) -> sqlite3.Connection:
    db = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, timeout=timeout_s, check_same_thread=False
    )
    db.row_factory = sqlite3.Row
    return db


_CASE_FIELDS = (
    FieldSpec("caseId", "string", "Council case reference."),
    FieldSpec("caseType", "string", "Kind of case, e.g. child in need, child protection."),
    FieldSpec("status", "string", "open or closed."),
    FieldSpec("openedOn", "date", "Date the case was opened."),
)
_REFERRAL_FIELDS = (
    FieldSpec("referralId", "string", "Council referral reference."),
    FieldSpec("receivedOn", "date", "Date the referral was received."),
    FieldSpec("source", "string", "Who referred, e.g. police, school, GP."),
    FieldSpec("reason", "string", "Presenting concern."),
    FieldSpec("outcome", "string", "What the council decided."),
)
_CONSENT_FIELDS = (
    FieldSpec("purpose", "string", "What the consent covers, e.g. early_help."),
    FieldSpec("given", "bool", "Whether consent was given (false: refused or withdrawn)."),
    FieldSpec("recordedOn", "date", "Date the consent decision was recorded."),
)

SECTION = SectionSpec(
    agency=AGENCY,
    title="Council social care: cases, plans, referrals and consent.",
    lookup_schemes=("COUNCIL_ID", "NI_NUMBER", "NHS_NUMBER"),
    demographic_search=True,
    household_links=True,
    batch_lookup=True,
    batch_search=True,
    fields=(
        FieldSpec("councilId", "string", "Council person id."),
        FieldSpec("name", "string", "Full name as recorded by the council."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec("address", "address", "Current address."),
        FieldSpec("postcode", "string", "Postcode of the current address."),
        FieldSpec("allocatedWorker", "string", "Allocated social worker."),
        FieldSpec("team", "string", "Team holding the case."),
        FieldSpec("childProtectionPlan", "bool", "Subject of a child-protection plan."),
        FieldSpec(
            "childProtectionPlanCategory", "string", "Category of the child-protection plan."
        ),
        FieldSpec("childProtectionPlanStart", "date", "Date the child-protection plan started."),
        FieldSpec("cases", "list", "Social-care cases, newest first.", item_fields=_CASE_FIELDS),
        FieldSpec(
            "referrals", "list", "Referrals received, newest first.", item_fields=_REFERRAL_FIELDS
        ),
        FieldSpec("consents", "list", "Consent decisions recorded.", item_fields=_CONSENT_FIELDS),
    ),
    labels=("refuge_address", "sealed_adoption", "safeguarding_flag"),
    events=(
        EventSpec("cases", "openedOn", "social-care case opened", ("caseType", "status")),
        EventSpec("referrals", "receivedOn", "referral received", ("source", "reason")),
    ),
)

_COLUMN_OF_SCHEME = {
    "COUNCIL_ID": "council_id",
    "NI_NUMBER": "ni_number",
    "NHS_NUMBER": "nhs_number",
}
_SCHEME_OF_COLUMN = {column: scheme for scheme, column in _COLUMN_OF_SCHEME.items()}

_IDENTITY_COLUMNS = (
    "council_id, ni_number, nhs_number, given_name, family_name, date_of_birth, postcode"
)
_SEARCH_LIMIT = 50

Rows = list[dict[str, Any]]
Query = Callable[[str, Sequence[Any]], Rows]
RegisterFacts = tuple[set[str], dict[str, dict[str, str]]]
"""The council ids a team holds an open case for; per council id, purpose → consent state."""


def _candidate(row: Mapping[str, Any]) -> Candidate:
    """Identifiers and demographics of a person row (never the section's data)."""
    held = tuple(
        Identifier(_SCHEME_OF_COLUMN[col], row[col])
        for col in ("council_id", "ni_number", "nhs_number")
        if row[col]
    )
    return Candidate(row["council_id"], demographics_from(row), held)


def _labels(stored: str | None) -> list[str]:
    return [label for label in (stored or "").split(",") if label]


@dataclass
class CouncilAdapter(Adapter):
    location: str | Path
    _on_loop: _LoopConnection = field(default_factory=_LoopConnection, init=False, repr=False)

    def discover(self) -> SectionSpec:
        return SECTION

    @property
    def _is_postgres(self) -> bool:
        return str(self.location).startswith(("postgresql://", "postgres://"))

    def _sqlite(self, work: Callable[[Query], Any], stop_at: float, quick: bool = False) -> Any:
        """``work`` on a read-only connection until ``stop_at``; ``quick``: on the event
        loop, raising :class:`_NotQuick` instead of waiting for a lock or running late."""
        path = Path(self.location)
        try:
            if quick:
                db = self._on_loop.to(path)
            else:
                path.stat()  # missing: not reachable (SQLite would say it cannot open it)
                db = _read_only(path, self.timeout_s)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise UpstreamUnavailable(AGENCY, "case-management database is not reachable") from exc
        except (OSError, sqlite3.Error) as exc:
            if quick:
                raise _NotQuick from exc
            raise UpstreamUnavailable(
                AGENCY, "case-management database refused connection"
            ) from exc
        db.set_progress_handler(lambda: time.monotonic() > stop_at, _PROGRESS_EVERY)

        def query(sql: str, params: Sequence[Any]) -> Rows:
            return [dict(row) for row in db.execute(sql, tuple(params))]

        try:
            return work(query)
        except sqlite3.OperationalError as exc:
            if quick:  # stopped at the quick budget, or locked: the thread tries again
                raise _NotQuick from exc
            if time.monotonic() > stop_at:
                raise UpstreamTimeout(AGENCY, "no answer within the time budget") from exc
            raise UpstreamBadReply(AGENCY, f"database error: {type(exc).__name__}") from exc
        except sqlite3.DatabaseError as exc:
            raise UpstreamBadReply(AGENCY, f"database error: {type(exc).__name__}") from exc
        except (IndexError, KeyError, TypeError) as exc:
            raise UpstreamBadReply(AGENCY, "database has an unexpected schema") from exc
        finally:
            if not quick:
                db.close()

    def _postgres(self, work: Callable[[Query], Any], stop_at: float) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        try:
            db = psycopg.connect(
                str(self.location),
                connect_timeout=max(1, round(self.timeout_s)),
                row_factory=dict_row,
                autocommit=True,
                options=f"-c statement_timeout={max(1, int((stop_at - time.monotonic()) * 1000))}",
            )
        except psycopg.OperationalError as exc:
            raise UpstreamUnavailable(
                AGENCY, "case-management database refused connection"
            ) from exc
        db.read_only = True

        def query(sql: str, params: Sequence[Any]) -> Rows:
            # Our SQL uses SQLite's ``?`` placeholders and never a literal question mark.
            return db.execute(sql.replace("?", "%s"), tuple(params)).fetchall()

        try:
            return work(query)
        except psycopg.errors.QueryCanceled as exc:
            raise UpstreamTimeout(AGENCY, "no answer within the time budget") from exc
        except psycopg.Error as exc:
            raise UpstreamBadReply(AGENCY, f"database error: {type(exc).__name__}") from exc
        finally:
            db.close()

    async def _run(self, work: Callable[[Query], Any], scans: bool = False) -> Any:
        """``work`` under the call's budget; ``scans``: it searches rather than looks up
        by identifier, so it goes straight to a worker thread."""
        budget = remaining_s(self.timeout_s)
        if budget <= 0:
            raise UpstreamTimeout(AGENCY, "the request's deadline passed before the call")
        stop_at = time.monotonic() + budget
        if not self._is_postgres and not scans:
            # Calls made ready together with this one (other agencies' requests) go first.
            await asyncio.sleep(0)
            try:
                return self._sqlite(work, min(stop_at, time.monotonic() + QUICK_S), quick=True)
            except _NotQuick:
                pass
        backend = self._postgres if self._is_postgres else self._sqlite
        try:
            async with asyncio.timeout(max(0.0, stop_at - time.monotonic())):
                return await asyncio.to_thread(backend, work, stop_at)
        except TimeoutError as exc:
            raise UpstreamTimeout(AGENCY, f"no answer within {budget:.2g}s") from exc

    async def aclose(self) -> None:
        self._on_loop.close()

    async def check(self) -> Health:
        try:
            await self._run(lambda query: query("SELECT 1 FROM person LIMIT 1", ()))
        except AdapterError as exc:
            return Health(False, exc.detail)
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        usable = [i for i in identifiers if i.scheme in _COLUMN_OF_SCHEME]
        if not usable:
            return None

        def find(query: Query) -> Match | None:
            for ident in usable:
                rows = query(
                    f"SELECT {_IDENTITY_COLUMNS} FROM person "
                    f"WHERE {_COLUMN_OF_SCHEME[ident.scheme]} = ? LIMIT 1",
                    (ident.value,),
                )
                if rows:
                    found = _candidate(rows[0])
                    return Match(
                        AGENCY, found.local_id, found.identifiers, demographics=found.demographics
                    )
            return None

        result: Match | None = await self._run(find)
        return result

    async def lookup_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """Every person of the batch in one query; per person, the first identifier found wins."""
        find = _finding(identifier_sets)
        if find is None:
            return [None] * len(identifier_sets)
        result: list[Match | None] = await self._run(find)
        return result

    async def lookup_many_with_register(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], team: str | None
    ) -> tuple[list[Match | None], RegisterFacts]:
        """:meth:`lookup_many`, and :meth:`relationships_and_consent` of the records it
        finds, in one call on one connection.

        Every decision about a person needs both, one after the other: asked together,
        the decision has its facts a call (a connection, and on PostgreSQL a worker-thread
        hop) sooner.
        """
        find = _finding(identifier_sets)
        if find is None:
            return [None] * len(identifier_sets), (set(), {})

        def both(query: Query) -> tuple[list[Match | None], RegisterFacts]:
            matches = find(query)
            found = tuple(dict.fromkeys(m.local_id for m in matches if m is not None))
            return matches, _register_facts(query, found, team) if found else (set(), {})

        result: tuple[list[Match | None], RegisterFacts] = await self._run(both)
        return result

    async def search(self, demographics: Demographics) -> list[Candidate]:
        """People with the same date of birth (or day and month swapped), or the same
        family-name initial and year of birth: the gateway's blocking keys."""
        return (await self.search_many((demographics,)))[0]

    async def search_many(
        self, demographics_list: tuple[Demographics, ...]
    ) -> list[list[Candidate]]:
        """Every person's search in one statement: each search a subquery (the same blocking
        keys and limit as one search), tagged with its place in the batch."""
        asked = [
            (person, who.date_of_birth or "", (who.family_name or "")[:1].lower())
            for person, who in enumerate(demographics_list)
            if len(who.date_of_birth or "") == 10 and who.family_name
        ]
        found: list[list[Candidate]] = [[] for _ in demographics_list]
        if not asked:
            return found
        block = (
            f"SELECT {_IDENTITY_COLUMNS} FROM person WHERE date_of_birth IN (?, ?)"
            " OR (lower(substr(family_name, 1, 1)) = ? AND substr(date_of_birth, 1, 4) = ?)"
            f" ORDER BY council_id LIMIT {_SEARCH_LIMIT}"
        )
        statement = " UNION ALL ".join(
            f"SELECT {person} AS asked, b{person}.* FROM ({block}) AS b{person}"
            for person, _, _ in asked
        )
        values = [
            value
            for _, dob, initial in asked
            for value in (dob, f"{dob[:4]}-{dob[8:10]}-{dob[5:7]}", initial, dob[:4])
        ]

        def find(query: Query) -> list[list[Candidate]]:
            for row in query(statement, values):
                found[row["asked"]].append(_candidate(row))
            return found

        result: list[list[Candidate]] = await self._run(find, scans=True)
        return result

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        marks = ",".join("?" * len(local_ids))

        def children(query: Query, table: str, order: str) -> Rows:
            return query(
                f"SELECT * FROM {table} WHERE council_id IN ({marks}) ORDER BY {order} DESC",
                local_ids,
            )

        def fetch(query: Query) -> dict[str, dict[str, Any]]:
            records: dict[str, dict[str, Any]] = {}
            for row in query(f"SELECT * FROM person WHERE council_id IN ({marks})", local_ids):
                records[row["council_id"]] = {
                    "councilId": row["council_id"],
                    "name": f"{row['given_name']} {row['family_name']}",
                    "dateOfBirth": row["date_of_birth"],
                    "address": row["address"],
                    "postcode": row["postcode"],
                    "allocatedWorker": row["allocated_worker"],
                    "team": row["team"],
                    "childProtectionPlan": bool(row["child_protection_plan"]),
                    "childProtectionPlanCategory": row["cp_plan_category"],
                    "childProtectionPlanStart": row["cp_plan_start"],
                    "cases": [],
                    "referrals": [],
                    "consents": [],
                    LABELS_KEY: _labels(row["labels"]),
                }
            if "cases" in fields:
                for case in children(query, "social_case", "opened_on"):
                    records[case["council_id"]]["cases"].append(
                        {
                            "caseId": case["case_id"],
                            "caseType": case["case_type"],
                            "status": case["status"],
                            "openedOn": case["opened_on"],
                            LABELS_KEY: _labels(case["labels"]),
                        }
                    )
            if "referrals" in fields:
                for referral in children(query, "referral", "received_on"):
                    records[referral["council_id"]]["referrals"].append(
                        {
                            "referralId": referral["referral_id"],
                            "receivedOn": referral["received_on"],
                            "source": referral["source"],
                            "reason": referral["reason"],
                            "outcome": referral["outcome"],
                        }
                    )
            if "consents" in fields:
                for consent in children(query, "consent", "recorded_on"):
                    records[consent["council_id"]]["consents"].append(
                        {
                            "purpose": consent["purpose"],
                            "given": bool(consent["given"]),
                            "recordedOn": consent["recorded_on"],
                        }
                    )
            return {
                local_id: {
                    name: value
                    for name, value in record.items()
                    if name in fields or name == LABELS_KEY
                }
                for local_id, record in records.items()
            }

        result: dict[str, dict[str, Any]] = await self._run(fetch)
        return result

    async def household(
        self, local_ids: tuple[str, ...]
    ) -> Mapping[str, tuple[HouseholdLink, ...]]:
        """Family and household links the council records between its own people."""
        marks = ",".join("?" * len(local_ids))

        def fetch(query: Query) -> dict[str, tuple[HouseholdLink, ...]]:
            links: dict[str, list[HouseholdLink]] = {}
            for row in query(
                "SELECT council_id, related_id, relationship FROM relationship "
                f"WHERE council_id IN ({marks}) ORDER BY council_id, related_id",
                local_ids,
            ):
                links.setdefault(row["council_id"], []).append(
                    HouseholdLink(
                        str(row["relationship"]),
                        (Identifier("COUNCIL_ID", str(row["related_id"])),),
                    )
                )
            return {local_id: tuple(found) for local_id, found in links.items()}

        result: dict[str, tuple[HouseholdLink, ...]] = await self._run(fetch)
        return result

    async def relationships_and_consent(
        self, council_ids: tuple[str, ...], team: str | None
    ) -> RegisterFacts:
        """The case register's facts the access policy needs, never agency data.

        Which of these people ``team`` holds an open case for (a legitimate
        relationship), and the consent in force per person and purpose (the
        latest record wins: a later refusal withdraws consent).
        """
        result: RegisterFacts = await self._run(
            lambda query: _register_facts(query, council_ids, team)
        )
        return result


def _finding(
    identifier_sets: tuple[tuple[Identifier, ...], ...],
) -> Callable[[Query], list[Match | None]] | None:
    """The batch lookup as one query (per person, the first identifier found wins); None
    when no identifier is of a scheme the council holds, so there is nothing to ask."""
    wanted: dict[str, set[str]] = {column: set() for column in _COLUMN_OF_SCHEME.values()}
    for identifiers in identifier_sets:
        for ident in identifiers:
            if column := _COLUMN_OF_SCHEME.get(ident.scheme):
                wanted[column].add(ident.value)
    asked = {column: sorted(values) for column, values in wanted.items() if values}
    if not asked:
        return None

    def find(query: Query) -> list[Match | None]:
        where = " OR ".join(f"{col} IN ({','.join('?' * len(v))})" for col, v in asked.items())
        rows = query(
            f"SELECT {_IDENTITY_COLUMNS} FROM person WHERE {where} ORDER BY council_id",
            [value for values in asked.values() for value in values],
        )
        by_value: dict[tuple[str, str], Candidate] = {}
        for row in rows:
            found = _candidate(row)
            for column in asked:
                by_value.setdefault((column, row[column]), found)
        matches: list[Match | None] = []
        for identifiers in identifier_sets:
            hit = next(
                (
                    by_value[key]
                    for ident in identifiers
                    if (key := (_COLUMN_OF_SCHEME.get(ident.scheme, ""), ident.value)) in by_value
                ),
                None,
            )
            matches.append(
                Match(AGENCY, hit.local_id, hit.identifiers, demographics=hit.demographics)
                if hit
                else None
            )
        return matches

    return find


def _register_facts(query: Query, council_ids: tuple[str, ...], team: str | None) -> RegisterFacts:
    marks = ",".join("?" * len(council_ids))
    related = {
        row["council_id"]
        for row in query(
            f"SELECT p.council_id FROM person p WHERE p.council_id IN ({marks}) "
            "AND p.team = ? AND EXISTS (SELECT 1 FROM social_case c "
            "WHERE c.council_id = p.council_id AND c.status = 'open')",
            (*council_ids, team),
        )
    }
    consent: dict[str, dict[str, str]] = {}
    for row in query(
        f"SELECT council_id, purpose, given FROM consent WHERE council_id IN ({marks}) "
        "ORDER BY recorded_on, consent_id",
        council_ids,
    ):
        state = "given" if row["given"] else "refused"
        consent.setdefault(row["council_id"], {})[row["purpose"]] = state
    return related, consent
