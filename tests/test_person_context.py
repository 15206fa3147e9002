"""The case register's answers for one request: asked as council records are found, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.council import CouncilAdapter
from adapters.sdk import Identifier, Match, UpstreamUnavailable
from gateway.person_context import CaseRegister
from resolvers.fanout import PersonFetch


class _CountingCouncil(CouncilAdapter):
    """A council whose register answers from memory and counts the questions."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__(Path("unused.sqlite"))
        self.asked: list[tuple[str, ...]] = []
        self.fail = fail
        self.meanwhile: Callable[[], None] = lambda: None

    async def relationships_and_consent(
        self, council_ids: tuple[str, ...], team: str | None
    ) -> tuple[set[str], dict[str, dict[str, str]]]:
        self.asked.append(council_ids)
        self.meanwhile()
        await asyncio.sleep(0)
        if self.fail:
            raise UpstreamUnavailable("council", "down")
        return {"C1"}, {"C2": {"early_help": "given"}}


class _CouncilLookingUp(_CountingCouncil):
    """Also looks people up from memory, with the register's facts in the same call."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__(fail)
        self.lookups: list[tuple[tuple[Identifier, ...], ...]] = []

    async def lookup_many_with_register(
        self, identifier_sets: tuple[tuple[Identifier, ...], ...], team: str | None
    ) -> tuple[list[Match | None], tuple[set[str], dict[str, dict[str, str]]]]:
        self.lookups.append(identifier_sets)
        if self.fail:
            raise UpstreamUnavailable("council", "down")
        known = {"A": Match("council", "C1"), "B": Match("council", "C2")}
        matches = [known.get(ids[0].value) for ids in identifier_sets]
        return matches, ({"C1"}, {"C2": {"early_help": "given"}})


def _person(value: str, council_id: str) -> PersonFetch:
    return PersonFetch(
        Identifier("NI_NUMBER", value), matches={"council": Match("council", council_id)}
    )


async def test_records_found_together_are_asked_about_once_before_any_decision() -> None:
    council = _CountingCouncil()
    register = CaseRegister(council).for_request("team-a")
    one, two = _person("A", "C1"), _person("B", "C2")

    register.found("council", one.matches["council"])
    register.found("council", two.matches["council"])
    register.found("benefits", Match("benefits", "QQ1"))  # not the register's business
    await asyncio.sleep(0.01)
    assert council.asked == [("C1", "C2")]  # asked already, in one query

    first = await register.contexts({"A": one, "B": two})
    again = await register.contexts({"A": one})  # the disclosure decision after a read-ahead
    assert council.asked == [("C1", "C2")]
    assert [(c.relationship, dict(c.consent)) for c in first] == [
        (True, {}),
        (False, {"early_help": "given"}),
    ]
    assert again[0].relationship is True


async def test_an_unavailable_register_means_no_relationship_and_no_consent() -> None:
    register = CaseRegister(_CountingCouncil(fail=True)).for_request("team-a")
    [context] = await register.contexts({"A": _person("A", "C1")})
    assert (context.relationship, dict(context.consent)) == (False, {})


async def test_without_a_team_nobody_is_related() -> None:
    register = CaseRegister(_CountingCouncil()).for_request(None)
    [context] = await register.contexts({"A": _person("A", "C1")})
    assert context.relationship is False


async def test_a_record_found_while_the_register_answers_waits_for_the_next_decision() -> None:
    """Demographic searches still run during a read-ahead decision: the contexts are
    of the matches as they were when asked, not a mixture."""
    council = _CountingCouncil()
    register = CaseRegister(council).for_request("team-a")
    one = _person("A", "C1")
    two = PersonFetch(Identifier("NI_NUMBER", "B"))
    council.meanwhile = lambda: two.matches.update(council=Match("council", "C2"))

    _, context = await register.contexts({"A": one, "B": two})

    assert (dict(context.match_confidence), context.relationship) == ({}, False)


async def test_records_the_council_lookup_finds_come_with_their_facts() -> None:
    """The fan-out's council lookup reads the facts in the same call: the register is
    not asked again when the records are reported found, nor by the decision."""
    council = _CouncilLookingUp()
    register = CaseRegister(council).for_request("team-a")
    batch = (
        (Identifier("NI_NUMBER", "A"),),
        (Identifier("NI_NUMBER", "B"),),
        (Identifier("NI_NUMBER", "Z"),),
    )

    matches = await register.lookups["council"](batch)

    assert [m.local_id if m else None for m in matches] == ["C1", "C2", None]
    one, two = _person("A", "C1"), _person("B", "C2")
    register.found("council", one.matches["council"])
    register.found("council", two.matches["council"])
    contexts = await register.contexts({"A": one, "B": two})
    assert council.lookups == [batch] and council.asked == []
    assert [(c.relationship, dict(c.consent)) for c in contexts] == [
        (True, {}),
        (False, {"early_help": "given"}),
    ]


async def test_a_failed_council_lookup_finds_nobody_and_no_facts() -> None:
    council = _CouncilLookingUp(fail=True)
    register = CaseRegister(council).for_request("team-a")

    with pytest.raises(UpstreamUnavailable):
        await register.lookups["council"](((Identifier("NI_NUMBER", "A"),),))


def test_without_a_council_the_fan_out_looks_people_up_as_usual() -> None:
    assert CaseRegister(None).for_request("team-a").lookups == {}
