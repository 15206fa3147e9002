"""Reading ahead: agencies found by identifiers are read while the others are searched.

Demographic searches only add agencies to what identifier lookups found, so the
request decides on the people as identifiers found them and reads those agencies
at once; the final decision keeps only the reads it allows with the same fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from adapters.sdk import Adapter, Health, Identifier, Match, SectionSpec
from resolvers.fanout import FanOut, PersonFetch
from simulators.launcher import DemoWorld, SimulatorProcess
from tests.conftest import GatewayProcess, ref


@pytest.fixture
def slow_schools(demo_world: DemoWorld) -> Iterator[SimulatorProcess]:
    schools = demo_world.systems["schools"]
    httpx.put(schools.url + "/_sim/faults", json={"latency_ms": 300})
    yield schools
    httpx.put(schools.url + "/_sim/faults", json={"latency_ms": 0})


@pytest.fixture(scope="session")
def adult_unknown_to_schools(
    ground_truth: list[dict[str, Any]], unrestricted: frozenset[str]
) -> dict[str, Any]:
    """Someone council and benefits know by NI number and schools does not: schools is
    searched by demographics."""
    return next(
        p
        for p in ground_truth
        if {"council", "benefits"} <= set(p["records"])
        and "schools" not in p["records"]
        and p["council_id"] in unrestricted
        and p.get("ni_number")
    )


def test_agencies_found_by_identifiers_are_read_while_others_search(
    gateway: GatewayProcess,
    slow_schools: SimulatorProcess,
    adult_unknown_to_schools: dict[str, Any],
) -> None:
    body = gateway.query(ref("NI_NUMBER", adult_unknown_to_schools["ni_number"])).json()

    calls = body["extensions"]["joinedup"]["upstream"]
    [search] = [c for c in calls if (c["agency"], c["operation"]) == ("schools", "search")]
    reads = {c["agency"]: c for c in calls if c["operation"] in ("read", "lookup_read")}
    assert search["ms"] >= 300
    for agency in ("council", "benefits"):
        # Read while schools was still searching, not after.
        assert reads[agency]["startedMs"] < search["startedMs"] + search["ms"]
    person = body["data"]["person"]
    assert person["benefits"]["niNumber"] == adult_unknown_to_schools["ni_number"]
    assert person["council"] is not None


class _Recording(Adapter):
    """One record per local id; remembers every read's ids and fields."""

    def __init__(self) -> None:
        self.reads: list[tuple[tuple[str, ...], frozenset[str]]] = []

    def discover(self) -> SectionSpec:
        return SectionSpec("recording", "Records reads.", ("X",), ())

    async def check(self) -> Health:
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return None

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        self.reads.append((local_ids, fields))
        return {i: {f: f"{i}:{f}" for f in fields} for i in local_ids}


async def test_a_read_is_kept_only_where_the_final_decision_asks_the_same() -> None:
    adapter = _Recording()
    fanout = FanOut({"recording": adapter})
    person = PersonFetch(Identifier("X", "1"), matches={"recording": Match("recording", "r1")})
    early = frozenset({"name"})

    fanout.start_reads(person, {"recording": early})
    first = person.reads["recording"]
    fanout.start_reads(person, {"recording": early})  # same ask: the same read
    assert person.reads["recording"] is first

    fanout.start_reads(person, {"recording": frozenset({"name", "address"})})
    assert person.reads["recording"] is not first  # more fields: read again
    await fanout.settle_reads()
    assert await person.reads["recording"] == {"name": "r1:name", "address": "r1:address"}

    person.matches["recording"] = Match("recording", "r2")  # the match changed
    fanout.start_reads(person, {})  # and the gate no longer lets the person through
    assert "recording" not in person.reads and "recording" not in person.read_asks
    await fanout.close()
    assert [fields for _, fields in adapter.reads] == [early, {"name", "address"}]
