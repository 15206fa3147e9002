"""Searching early: about one person, an agency searched by blocking keys
(``SectionSpec.search_by_block_keys``) is searched as soon as no lookup can still find
the person there, not after the last lookup (resolvers/fanout.py ``_identifier_rounds``).

The candidates, and so the matches, must be exactly those of searching after every
lookup: later answers whose demographics bring new blocking keys are searched too.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from adapters.sdk import (
    Adapter,
    Candidate,
    Demographics,
    Health,
    Identifier,
    Match,
    SectionSpec,
)
from gateway.identity.blocking import in_block
from resolvers.fanout import FanOut, PersonFetch

NI = Identifier("NI_NUMBER", "QQ123456C")
PNC = Identifier("PNC_ID", "2001/0000001A")
AS_REGISTERED = Demographics("Joanne", "Smith", "1980-05-04", "S70 7BD")
MOVED = dataclasses.replace(AS_REGISTERED, postcode="S71 1AA")  # same blocking keys
MISTYPED = dataclasses.replace(AS_REGISTERED, date_of_birth="1980-05-14")  # new keys
SLOW_S = 0.2


class Holder(Adapter):
    """Knows one person: found by ``finds_by`` after ``delay_s``, or by a search."""

    def __init__(
        self,
        section: SectionSpec,
        finds_by: Identifier | None,
        holds: tuple[Identifier, ...],
        recorded_as: Demographics,
        delay_s: float = 0.0,
    ) -> None:
        self.section, self.finds_by, self.holds = section, finds_by, holds
        self.recorded_as, self.delay_s = recorded_as, delay_s
        self.searched: list[Demographics] = []

    def discover(self) -> SectionSpec:
        return self.section

    async def check(self) -> Health:
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        await asyncio.sleep(self.delay_s)
        if self.finds_by not in identifiers:
            return None
        return Match(self.section.agency, "1", self.holds, demographics=self.recorded_as)

    async def search(self, demographics: Demographics) -> list[Candidate]:
        self.searched.append(demographics)
        await asyncio.sleep(0.01)
        if not in_block(demographics, self.recorded_as):
            return []
        return [Candidate("1", self.recorded_as, self.holds)]

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        return {}


def world(slow_recorded_as: Demographics, by_keys: bool = True) -> dict[str, Holder]:
    """A register (fast, by NI), police (slow, by NI, gives a PNC id), custody (by that
    PNC id: a second round of lookups) and a school that finds people by a pupil number
    nobody holds, so it is only ever searched."""
    return {
        "register": Holder(
            SectionSpec("register", "R", ("NI_NUMBER",), ()), NI, (NI,), AS_REGISTERED
        ),
        "police": Holder(
            SectionSpec("police", "P", ("NI_NUMBER", "PNC_ID"), ()),
            NI,
            (NI, PNC),
            slow_recorded_as,
            delay_s=SLOW_S,
        ),
        "custody": Holder(
            SectionSpec("custody", "C", ("PNC_ID",), ()), PNC, (PNC,), slow_recorded_as
        ),
        "school": Holder(
            SectionSpec(
                "school",
                "S",
                ("UPN",),
                (),
                demographic_search=True,
                search_by_block_keys=by_keys,
            ),
            None,
            (),
            AS_REGISTERED,
        ),
    }


def started(fanout: FanOut, agency: str, operation: str) -> list[float]:
    return sorted(c.started for c in fanout.calls if (c.agency, c.operation) == (agency, operation))


def ended(fanout: FanOut, agency: str, operation: str) -> list[float]:
    return sorted(
        c.started + c.ms / 1000
        for c in fanout.calls
        if (c.agency, c.operation) == (agency, operation)
    )


async def find_one(adapters: Mapping[str, Adapter]) -> tuple[FanOut, PersonFetch]:
    fanout = FanOut(adapters, planned=frozenset({NI}))
    return fanout, await fanout.find(NI)


async def test_an_agency_no_lookup_can_reach_is_searched_while_others_look_up() -> None:
    adapters = world(MOVED)
    fanout, person = await find_one(adapters)

    [search] = started(fanout, "school", "search")
    assert search < ended(fanout, "police", "lookup")[0], "searched while police looked up"
    assert search < started(fanout, "custody", "lookup")[0]
    # Police and custody hold another postcode, with the same blocking keys: one search.
    assert adapters["school"].searched == [AS_REGISTERED]
    assert person.matches["school"].method == "demographics"
    assert set(person.matches) == {"register", "police", "custody", "school"}


async def test_later_answers_with_new_blocking_keys_are_searched_too() -> None:
    adapters = world(MISTYPED)
    fanout, person = await find_one(adapters)

    first, second = started(fanout, "school", "search")
    assert first < ended(fanout, "police", "lookup")[0] <= second
    assert adapters["school"].searched == [AS_REGISTERED, MISTYPED]
    assert person.matches["school"].method == "demographics"


async def test_the_matches_are_those_of_searching_after_every_lookup() -> None:
    for slow_recorded_as in (MOVED, MISTYPED):
        _, early = await find_one(world(slow_recorded_as))
        late_adapters = world(slow_recorded_as, by_keys=False)
        late_fanout, late = await find_one(late_adapters)

        assert (
            started(late_fanout, "school", "search")[0]
            >= ended(late_fanout, "custody", "lookup")[0]
        )
        assert early.matches == late.matches
        assert early.possible == late.possible


async def test_about_many_people_everyone_searches_together_after_the_lookups() -> None:
    """Early searches are for a request about one person: about many, each agency's
    searches wait for every person's lookups, to go out as one batch."""
    fanout = FanOut(world(MOVED))
    await fanout.find(NI)

    assert started(fanout, "school", "search")[0] >= ended(fanout, "custody", "lookup")[0]


async def test_an_agency_a_later_lookup_could_reach_is_not_searched_early() -> None:
    """Custody gives an NHS number only once police's PNC id reached it: NHS waits for
    that chain and is found by the identifier, never searched."""
    nhs_number = Identifier("NHS_NUMBER", "9434765919")
    searching = dataclasses.replace(
        SectionSpec("nhs", "N", ("NHS_NUMBER",), ()),
        demographic_search=True,
        search_by_block_keys=True,
    )
    adapters = world(MOVED)
    adapters["custody"].holds = (PNC, nhs_number)
    adapters["custody"].section = dataclasses.replace(
        adapters["custody"].section, other_identifier_schemes=("NHS_NUMBER",)
    )
    adapters["nhs"] = Holder(searching, nhs_number, (nhs_number,), AS_REGISTERED)
    fanout, person = await find_one(adapters)

    assert adapters["nhs"].searched == []
    assert person.matches["nhs"].method == "identifier"
    assert started(fanout, "nhs", "lookup")[0] >= ended(fanout, "custody", "lookup")[0]
