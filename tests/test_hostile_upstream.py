"""Hostile agency replies: the section fails cleanly, in bounded time and memory.

The benefits adapter is driven against a real simulator process whose fault
injection sends each kind of hostile reply; the council adapter against real
SQLite files that are corrupt, of the wrong shape, or endlessly slow to query.
"""

from __future__ import annotations

import sqlite3
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.benefits import BenefitsAdapter
from adapters.council import CouncilAdapter
from adapters.sdk import AdapterError, Identifier, UpstreamBadReply, UpstreamTimeout
from adapters.sdk.deadline import request_deadline
from adapters.sdk.http import MAX_REPLY_BYTES
from simulators.faults import TRANSPORT_ATTACKS
from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths
from tests.conftest import GatewayFactory, ref, start_benefits

TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def hostile_benefits(world: WorldPaths) -> Iterator[SimulatorProcess]:
    simulator = start_benefits(world)
    yield simulator
    simulator.stop()


def set_hostile(simulator: SimulatorProcess, mode: str) -> None:
    settings = (
        {"wrong_content_type": bool(mode)}
        if mode == "wrong_content_type"
        else {"hostile_transport": mode, "wrong_content_type": False}
    )
    httpx.put(simulator.url + "/_sim/faults", json=settings).raise_for_status()


EXPECTED = {
    "oversized": (UpstreamBadReply, "larger than"),
    "invalid_encoding": (UpstreamBadReply, "UTF-8"),
    "deep_nesting": (UpstreamBadReply, "nested too deeply"),
    "wrong_content_type": (UpstreamBadReply, "content type"),
    "trickle": (UpstreamTimeout, "no answer within"),
}


def test_every_hostile_mode_is_covered() -> None:
    assert set(EXPECTED) == {*TRANSPORT_ATTACKS, "wrong_content_type"}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
async def test_benefits_adapter_fails_cleanly_in_bounded_time_and_memory(
    hostile_benefits: SimulatorProcess, person_in_both: dict[str, Any], mode: str
) -> None:
    set_hostile(hostile_benefits, mode)
    adapter = BenefitsAdapter(hostile_benefits.url, timeout_s=TIMEOUT_S)
    error_type, message = EXPECTED[mode]
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(error_type, match=message) as caught:
            await adapter.read((person_in_both["ni_number"],), frozenset({"name"}))
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await adapter.aclose()
        set_hostile(hostile_benefits, "")

    assert caught.value.agency == "benefits"
    assert elapsed < TIMEOUT_S + 1.0
    # The oversized reply is 32 MB; the adapter holds at most its cap plus one chunk.
    assert peak < 3 * MAX_REPLY_BYTES


async def test_request_deadline_cuts_the_adapters_own_timeout(
    hostile_benefits: SimulatorProcess, person_in_both: dict[str, Any]
) -> None:
    set_hostile(hostile_benefits, "trickle")
    adapter = BenefitsAdapter(hostile_benefits.url, timeout_s=5.0)
    started = time.monotonic()
    try:
        with request_deadline(0.3), pytest.raises(UpstreamTimeout):
            await adapter.read((person_in_both["ni_number"],), frozenset({"name"}))
    finally:
        await adapter.aclose()
        set_hostile(hostile_benefits, "")
    assert time.monotonic() - started < 1.0


def test_gateway_answers_council_and_a_clean_error_for_hostile_benefits(
    start_gateway: GatewayFactory,
    hostile_benefits: SimulatorProcess,
    person_in_both: dict[str, Any],
) -> None:
    gateway = start_gateway({"benefits": hostile_benefits.url}, agency_timeout=TIMEOUT_S)
    set_hostile(hostile_benefits, "oversized")
    try:
        started = time.monotonic()
        response = gateway.query(ref("COUNCIL_ID", person_in_both["council_id"]))
        elapsed = time.monotonic() - started
    finally:
        set_hostile(hostile_benefits, "")

    assert response.status_code == 200
    body = response.json()
    person = body["data"]["person"]
    assert person["council"]["councilId"] == person_in_both["council_id"]
    assert person["benefits"] is None
    [error] = body["errors"]
    assert error["path"] == ["person", "benefits"]
    assert error["extensions"] == {"code": "UPSTREAM_BAD_REPLY", "agency": "benefits"}
    assert "127.0.0.1" not in response.text and str(hostile_benefits.port) not in response.text
    assert elapsed < 3.0


def corrupt_db(path: Path) -> Path:
    path.write_bytes(b"this is not a database" * 200)
    return path


def wrong_shape_db(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE person (council_id TEXT, ni_number TEXT, nhs_number TEXT);"
        "INSERT INTO person VALUES ('C1', 'QQ123456C', NULL);"
    )
    db.commit()
    db.close()
    return path


def endless_db(path: Path) -> Path:
    """A `person` view that never finishes: only an interrupt stops the query."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE VIEW person AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) "
        "SELECT 'C' || x AS council_id, 'QQ' || x AS ni_number, NULL AS nhs_number,"
        " 'A' AS given_name, 'B' AS family_name, '2000-01-01' AS date_of_birth,"
        " NULL AS postcode FROM n;"
    )
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize(
    ("make_db", "error_type"),
    [
        (corrupt_db, UpstreamBadReply),
        (wrong_shape_db, UpstreamBadReply),
        (endless_db, UpstreamTimeout),
    ],
    ids=["corrupt", "wrong-shape", "endless-query"],
)
async def test_council_adapter_fails_cleanly_on_a_hostile_database(
    tmp_path: Path, make_db: Any, error_type: type[AdapterError]
) -> None:
    adapter = CouncilAdapter(make_db(tmp_path / "council.sqlite"), timeout_s=TIMEOUT_S)
    started = time.monotonic()

    with pytest.raises(error_type):
        match = await adapter.lookup((Identifier("COUNCIL_ID", "C1"),))
        assert match is not None
        await adapter.read((match.local_id,), frozenset({"name", "cases"}))

    assert time.monotonic() - started < TIMEOUT_S + 1.0
