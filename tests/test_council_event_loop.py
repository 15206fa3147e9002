"""Where the council adapter runs its SQLite queries: quick ones on the event loop,
searches, slow queries and a locked database in a worker thread."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from adapters.council import CouncilAdapter
from adapters.sdk import Demographics, Identifier, UpstreamTimeout, UpstreamUnavailable
from simulators.world import WorldPaths
from tests.event_loop_support import with_loop_turns
from tests.test_hostile_upstream import endless_db


async def test_lookups_and_reads_answer_on_the_event_loop(
    world: WorldPaths, person_in_all: dict[str, Any], threads_used: list[str]
) -> None:
    council = CouncilAdapter(world.council_db)

    match = await council.lookup((Identifier("NI_NUMBER", person_in_all["ni_number"]),))
    assert match is not None and match.local_id == person_in_all["council_id"]
    record = await council.read((match.local_id,), frozenset({"team", "cases"}))
    await council.relationships_and_consent((match.local_id,), "a team")

    assert record[match.local_id]["cases"]
    assert threads_used == [], "no worker thread for indexed lookups"


async def test_a_search_runs_in_a_worker_thread(
    world: WorldPaths, person_in_all: dict[str, Any], threads_used: list[str]
) -> None:
    council = CouncilAdapter(world.council_db)
    who = Demographics(
        given_name=person_in_all["given_name"],
        family_name=person_in_all["family_name"],
        date_of_birth=person_in_all["date_of_birth"],
    )

    found = await council.search(who)

    assert person_in_all["council_id"] in {c.local_id for c in found}
    assert threads_used == ["_sqlite"]


async def test_a_query_too_slow_for_the_event_loop_times_out_in_a_thread(
    tmp_path: Path, threads_used: list[str]
) -> None:
    council = CouncilAdapter(endless_db(tmp_path / "council.sqlite"), timeout_s=0.5)
    started = time.monotonic()

    with pytest.raises(UpstreamTimeout):
        await council.read(("C1",), frozenset({"name"}))

    assert threads_used == ["_sqlite"], "stopped after QUICK_S on the loop, run again"
    assert 0.4 < time.monotonic() - started < 1.5, "with the call's whole budget"


async def test_a_locked_database_is_waited_for_in_a_thread_not_on_the_loop(
    tmp_path: Path, world: WorldPaths, person_in_all: dict[str, Any], threads_used: list[str]
) -> None:
    path = tmp_path / "council.sqlite"
    shutil.copy(world.council_db, path)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("PRAGMA journal_mode = DELETE")  # readers wait for a writer's lock
    writer.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.3, lambda: writer.execute("COMMIT"))
    release.start()
    council = CouncilAdapter(path, timeout_s=5.0)
    try:
        match, loop_turns = await with_loop_turns(
            council.lookup((Identifier("NI_NUMBER", person_in_all["ni_number"]),))
        )
    finally:
        release.join()
        writer.close()

    assert match is not None and match.local_id == person_in_all["council_id"]
    assert threads_used == ["_sqlite"]
    assert loop_turns > 10, "the event loop kept running while the lock was waited for"


async def test_the_event_loop_keeps_its_connection_until_the_file_is_replaced(
    tmp_path: Path,
    world: WorldPaths,
    person_in_all: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "council.sqlite"
    shutil.copy(world.council_db, path)
    opened: list[str] = []
    connect = sqlite3.connect

    def counting_connect(database: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if "mode=ro" in str(database):  # the adapter's, not this test's own
            opened.append(database)
        connection: sqlite3.Connection = connect(database, *args, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3, "connect", counting_connect)
    council = CouncilAdapter(path)
    by_ni = (Identifier("NI_NUMBER", person_in_all["ni_number"]),)

    first = await council.lookup(by_ni)
    await council.read((person_in_all["council_id"],), frozenset({"team"}))
    assert first is not None and len(opened) == 1, "one connection for both calls"

    # The council's system replaces the file: the next call reads the new one.
    replacement = tmp_path / "replacement.sqlite"
    shutil.copy(world.council_db, replacement)
    with sqlite3.connect(replacement) as db:
        db.execute("DELETE FROM person WHERE ni_number = ?", (person_in_all["ni_number"],))
    replacement.replace(path)
    assert await council.lookup(by_ni) is None
    assert len(opened) == 2

    path.unlink()
    with pytest.raises(UpstreamUnavailable, match="not reachable"):
        await council.lookup(by_ni)
    await council.aclose()
