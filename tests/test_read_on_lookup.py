"""Reading on lookup: an agency that offers it is read in the lookup's own call
(``SectionSpec.read_on_lookup``, resolvers/fanout.py, gateway/http.py ``_read_planner``).

The fields are planned before the lookup, once the council has matched the person
(their relationship and consent), as the decision on an exact identifier match. So
the answers, and the fields each agency is asked for, must be exactly those of
looking up first and reading after; only the number of round trips differs.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.council import CouncilAdapter
from adapters.sdk import Adapter, Health, Identifier, Match, SectionSpec
from bench.queries import INTROSPECT_TYPES, people_query, person_query, person_sections
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import GatewayConfig, agency_settings
from gateway.purposes import PURPOSE_HEADER
from gateway.resilience import ResilientAdapter
from resolvers.fanout import FanOut, PersonFetch
from simulators.launcher import DemoWorld
from simulators.world import WorldPaths
from tests.conftest import CALLER_TEAM
from tests.inprocess import gateway_client

Asked = dict[tuple[str, str], frozenset[str]]
"""(agency, local id) → the fields a read of that record asked for."""


class Spy:
    """Records the fields every read (alone or with a lookup) asks of each record."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: Asked = {}
        read, reading = ResilientAdapter.read, ResilientAdapter.lookup_and_read_many
        spy = self

        async def spied_read(
            adapter: ResilientAdapter, local_ids: tuple[str, ...], fields: frozenset[str]
        ) -> Mapping[str, Mapping[str, Any]]:
            found = await read(adapter, local_ids, fields)
            spy.asked.update({(adapter.agency, i): fields for i in found})
            return found

        async def spied_reading(
            adapter: ResilientAdapter,
            identifier_sets: tuple[tuple[Identifier, ...], ...],
            fields: frozenset[str],
        ) -> list[tuple[Match, Mapping[str, Any]] | None]:
            found = await reading(adapter, identifier_sets, fields)
            spy.asked.update({(adapter.agency, f[0].local_id): fields for f in found if f})
            return found

        monkeypatch.setattr(ResilientAdapter, "read", spied_read)
        monkeypatch.setattr(ResilientAdapter, "lookup_and_read_many", spied_reading)


def never_read_on_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every agency as if it did not offer reading on lookup: look up, then read."""
    discover = ResilientAdapter.discover
    monkeypatch.setattr(
        ResilientAdapter,
        "discover",
        lambda adapter: dataclasses.replace(discover(adapter), read_on_lookup=False),
    )


@pytest.fixture
async def ask_demo(tmp_path: Path, demo_world: DemoWorld) -> AsyncIterator[Any]:
    async with asking(tmp_path, demo_world.endpoints()) as ask:
        yield ask


@asynccontextmanager
async def asking(state_dir: Path, endpoints: Mapping[str, str]) -> AsyncIterator[Any]:
    """A gateway in this process over these agency systems, and a way to ask it."""
    config = GatewayConfig(
        state_dir=state_dir,
        agencies={name: agency_settings(name, e) for name, e in endpoints.items()},
    )
    async with gateway_client(config) as client:
        key = load_dev_key(state_dir)

        async def ask(
            query: str, variables: dict[str, Any], role: str, purpose: str
        ) -> dict[str, Any]:
            token = issue_dev_token(key, "reader", role, "org", CALLER_TEAM)
            headers = {"Authorization": f"Bearer {token}", PURPOSE_HEADER: purpose}
            reply = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            assert reply.status_code == 200, reply.text
            body: dict[str, Any] = reply.json()
            return body

        yield ask


def calls(body: dict[str, Any]) -> dict[str, list[str]]:
    """Per agency, the operations of its upstream calls."""
    by_agency: dict[str, list[str]] = defaultdict(list)
    for call in body["extensions"]["joinedup"]["upstream"]:
        by_agency[call["agency"]].append(call["operation"])
    return by_agency


def answer(body: dict[str, Any]) -> tuple[Any, list[Any]]:
    """The data and the errors (without where in the query text they arose)."""
    errors = [{k: v for k, v in e.items() if k != "locations"} for e in body.get("errors", [])]
    return body["data"], sorted(errors, key=repr)


HOUSEHOLD = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    benefits { niNumber claims { type status } }
    household {
      members {
        relationship
        person { benefits { niNumber claims { type status } } housing { housingReference } }
      }
    }
  }
}
"""
"""A person and their household's records. The members are found too, but their reads are
never planned: a benefits officer may not see the household links, so no member is read."""

CALLERS = [
    ("social_worker", "safeguarding_children"),
    ("keyworker", "early_help"),  # needs a relationship and consent: decided per person
    ("benefits_officer", "benefit_assessment"),
]


@pytest.mark.parametrize(("role", "purpose"), CALLERS)
async def test_reading_on_lookup_answers_and_asks_as_reading_after_it(
    ask_demo: Any,
    monkeypatch: pytest.MonkeyPatch,
    ground_truth: list[dict[str, Any]],
    unrestricted: frozenset[str],
    role: str,
    purpose: str,
) -> None:
    full_view = person_query(person_sections(await ask_demo(INTROSPECT_TYPES, {}, role, purpose)))
    with_ni = [p for p in ground_truth if p["ni_number"]]
    households = Counter(p["household_id"] for p in ground_truth)
    people = [
        *[p for p in with_ni if p["known_to_all"]][:2],
        next(p for p in with_ni if p["council_id"] in unrestricted and "benefits" in p["records"]),
        next(p for p in with_ni if "council" not in p["records"]),
    ]
    heads = [p for p in with_ni if p["council_id"] and households[p["household_id"]] >= 4][:2]
    asks = [
        (query, {"ref": {"scheme": "NI_NUMBER", "value": p["ni_number"]}})
        for query, of in ((full_view, people), (HOUSEHOLD, heads))
        for p in of
    ]

    with monkeypatch.context() as patched:
        spy = Spy(patched)
        reading = [await ask_demo(q, v, role, purpose) for q, v in asks]
        asked_reading = spy.asked
    with monkeypatch.context() as patched:
        never_read_on_lookup(patched)
        spy = Spy(patched)
        after = [await ask_demo(q, v, role, purpose) for q, v in asks]
        asked_after = spy.asked

    for one, other in zip(reading, after, strict=True):
        assert answer(one) == answer(other)
    assert asked_reading == asked_after, "the same fields of the same records, and no others"
    assert all("lookup_read" not in ops for body in after for ops in calls(body).values())
    used = {a for body in reading for a, ops in calls(body).items() if "lookup_read" in ops}
    if role != "benefits_officer" or purpose != "benefit_assessment":
        assert {"benefits", "housing", "schools"} <= used


async def full_view(ask: Any, ni_number: str) -> dict[str, Any]:
    """Every section of the person with this NI number, asked for safeguarding children."""
    sections = person_sections(await ask(INTROSPECT_TYPES, {}, *CALLERS[0]))
    ref = {"ref": {"scheme": "NI_NUMBER", "value": ni_number}}
    body: dict[str, Any] = await ask(person_query(sections), ref, *CALLERS[0])
    return body


async def test_a_person_the_council_knows_is_read_in_one_round_trip_per_agency(
    ask_demo: Any, person_in_all: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked_register: list[tuple[str, ...]] = []
    asking_register = CouncilAdapter.relationships_and_consent

    async def spied(self: CouncilAdapter, ids: tuple[str, ...], team: str | None) -> Any:
        asked_register.append(ids)
        return await asking_register(self, ids, team)

    monkeypatch.setattr(CouncilAdapter, "relationships_and_consent", spied)
    body = await full_view(ask_demo, person_in_all["ni_number"])
    made = calls(body)
    for agency in ("benefits", "housing", "schools"):
        assert made[agency] == ["lookup_read"], agency
    assert made["council"] == ["lookup", "read"]  # its answer plans the others' reads
    assert asked_register == [], "the council's lookup answered the register's questions too"
    assert body["data"]["person"]["benefits"]["niNumber"] == person_in_all["ni_number"]


async def test_without_a_council_record_nothing_is_read_with_a_lookup(
    ask_demo: Any, ground_truth: list[dict[str, Any]]
) -> None:
    person = next(
        p
        for p in ground_truth
        if p["ni_number"] and "benefits" in p["records"] and "council" not in p["records"]
    )
    body = await full_view(ask_demo, person["ni_number"])
    made = calls(body)
    assert "lookup_read" not in {op for ops in made.values() for op in ops}
    assert made["benefits"][:1] == ["lookup"]


async def test_a_query_about_many_people_looks_up_then_reads_a_batch_at_once(
    ask_demo: Any,
    ground_truth: list[dict[str, Any]],
    world: WorldPaths,
    unrestricted: frozenset[str],
) -> None:
    """People the council and benefits both hold under their NI number, whose benefits
    records the caller may see. Reading on lookup would save nothing here (their reads
    are one batched call) and planning would split the batch of lookups by who could
    be planned, so they are looked up in one call and read in another."""
    db = sqlite3.connect(world.council_db)
    try:
        council_ni = dict(db.execute("SELECT council_id, ni_number FROM person").fetchall())
    finally:
        db.close()
    people = [
        p
        for p in ground_truth
        if p["ni_number"]
        and p["council_id"] in unrestricted
        and council_ni.get(p["council_id"]) == p["ni_number"]
        and p["records"].get("benefits") == p["ni_number"]
    ][:30]
    assert len(people) >= 5, "precondition: enough people held under their NI number"
    sections = person_sections(await ask_demo(INTROSPECT_TYPES, {}, *CALLERS[1]))
    benefits = [s for s in sections if s.agency == "benefits"]
    body = await ask_demo(
        people_query(benefits, matches=False),
        {"refs": [{"scheme": "NI_NUMBER", "value": p["ni_number"]} for p in people]},
        *CALLERS[1],
    )
    assert calls(body)["benefits"] == ["lookup", "read"]
    assert all(found["benefits"] for found in body["data"]["people"])


async def test_without_the_council_every_agency_is_looked_up_then_read(
    tmp_path: Path, demo_world: DemoWorld, person_in_all: dict[str, Any]
) -> None:
    """No council answer, no plan: the others are not held back for long, nor read with
    a lookup; what the policy allows without the register is read as before."""
    endpoints = demo_world.endpoints() | {"council": str(tmp_path / "no-such-council.sqlite")}
    async with asking(tmp_path / "state", endpoints) as ask:
        body = await ask(
            "query($ref: PersonReference!) { person(reference: $ref) { benefits { niNumber } } }",
            {"ref": {"scheme": "NI_NUMBER", "value": person_in_all["ni_number"]}},
            *CALLERS[0],
        )

    made = calls(body)
    assert made["council"] == ["lookup"]
    assert made["benefits"] == ["lookup", "read"]
    assert body["data"]["person"]["benefits"] == {"niNumber": person_in_all["ni_number"]}


class Register(Adapter):
    """A context agency: knows one person by NI number."""

    section = SectionSpec("council", "C", ("NI_NUMBER",), ())

    def discover(self) -> SectionSpec:
        return self.section

    async def check(self) -> Health:
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        return Match("council", "c1", identifiers)

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        return {}


class ReadsOnLookup(Register):
    """Reads on lookup, but answers with a match of the given confidence."""

    section = SectionSpec("claims", "B", ("NI_NUMBER",), (), read_on_lookup=True)

    def __init__(self, confidence: float) -> None:
        self.confidence = confidence

    async def lookup_and_read_many(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], fields: frozenset[str]
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        match = Match("claims", "b1", identifier_sets[0], confidence=self.confidence)
        return [(match, {"status": "open"})]


@pytest.mark.parametrize("confidence", [1.0, 0.9])
async def test_a_read_on_lookup_is_kept_only_for_an_exact_match(confidence: float) -> None:
    planned: list[str] = []

    async def plan(person: PersonFetch) -> Mapping[str, frozenset[str]]:
        assert "council" in person.matches, "planned once the council has matched"
        planned.append(person.key)
        return {"claims": frozenset({"status"})}

    named = Identifier("NI_NUMBER", "QQ1")
    fanout = FanOut(
        {"claims": ReadsOnLookup(confidence), "council": Register()},
        plan_reads=plan,
        planned=frozenset({named}),
        context_agencies=frozenset({"council"}),
    )
    person = await fanout.find(named)

    assert planned == ["NI_NUMBER:QQ1"]
    assert [c.operation for c in fanout.calls] == ["lookup", "lookup_read"]
    if confidence == 1.0:
        assert set(person.matches) == {"council", "claims"}
        assert await person.reads["claims"] == {"status": "open"}
    else:
        assert set(person.matches) == {"council"}
        assert person.lookup_errors["claims"].code == "UPSTREAM_BAD_REPLY"
        assert "claims" not in person.reads
