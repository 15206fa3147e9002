"""Engine behaviour policy teams rely on: hot reload, rejected changes, v0 guard, fail closed."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path

import pytest

from adapters.council import CouncilAdapter
from adapters.sdk import Identifier, Match
from gateway.person_context import CaseRegister
from gateway.policy import DecisionInput, PersonContext, RequestedField, bundle, decide_fail_closed
from gateway.policy.bundle import FolderWatch, PolicyRejected
from gateway.policy.embedded import EmbeddedEngine
from gateway.policy.opa_server import OpaServerEngine, OpaServerProcess
from resolvers.fanout import PersonFetch
from simulators.launcher import free_port
from tests.conftest import POLICIES

REQUEST = DecisionInput(
    {"user": "u", "roles": ["keyworker"], "team": "t"},
    "early_help",
    (RequestedField("CouncilSection.team", "council"),),
)


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    return folder


def revoke_keyworker_team(folder: Path) -> None:
    path = folder / "agencies" / "council" / "data.json"
    path.write_text(path.read_text().replace('"CouncilSection.team": "allow",', ""))


async def test_embedded_engine_reloads_an_edited_policy_on_the_next_decision(
    policies: Path,
) -> None:
    engine = EmbeddedEngine(policies, reload_interval_s=0)
    before = await engine.decide(REQUEST)

    revoke_keyworker_team(policies)
    after = await engine.decide(REQUEST)

    assert before.for_field("CouncilSection.team").effect == "allow"
    assert after.for_field("CouncilSection.team").effect == "deny"
    assert after.revision != before.revision


def test_the_policy_folder_is_looked_at_no_more_than_once_per_interval(
    policies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    looks: list[Path] = []
    stat_every_file = bundle.fingerprint

    def counted(folder: Path) -> tuple[tuple[str, int, int], ...]:
        looks.append(folder)
        return stat_every_file(folder)

    monkeypatch.setattr(bundle, "fingerprint", counted)
    watch = FolderWatch(policies, interval_s=1.0, clock=lambda: now[0])
    revoke_keyworker_team(policies)

    seen = []
    for at in (100.0, 100.5, 100.999, 101.0, 101.5, 102.0):
        now[0] = at
        seen.append(watch.changed())

    assert seen == [False, False, False, True, False, False]
    assert len(looks) == 3, "once at the start, at 101.0 and at 102.0"


async def test_an_edit_takes_effect_once_the_reload_interval_has_passed(policies: Path) -> None:
    """What a policy editor sees: the edit applies from the first decision after the
    interval since the engine last looked at the folder (at most ``reload_interval_s``)."""
    engine = EmbeddedEngine(policies, reload_interval_s=30)
    assert engine._watch is not None
    started = time.monotonic()
    engine._watch.clock = lambda: started

    revoke_keyworker_team(policies)
    within = await engine.decide(REQUEST)
    engine._watch.clock = lambda: started + 31
    after = await engine.decide(REQUEST)

    assert within.for_field("CouncilSection.team").effect == "allow"
    assert after.for_field("CouncilSection.team").effect == "deny"


async def test_a_policy_that_fails_to_compile_is_rejected_and_the_previous_stays(
    policies: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = EmbeddedEngine(policies, reload_interval_s=0)
    revision = engine.revision
    (policies / "joinedup" / "broken.rego").write_text("package joinedup.broken\n\nx := \n")

    with caplog.at_level(logging.ERROR):
        decision = await engine.decide(REQUEST)

    assert decision.for_field("CouncilSection.team").effect == "allow"
    assert decision.revision == revision
    assert "rejected" in caplog.text and "stays in force" in caplog.text


def test_rego_v0_syntax_is_refused_at_load(policies: Path) -> None:
    """rego-cpp would accept this v0 rule (no ``if``); OPA's check refuses it."""
    (policies / "joinedup" / "old.rego").write_text("package joinedup.old\n\nallow { true }\n")

    with pytest.raises(PolicyRejected):
        EmbeddedEngine(policies)


async def test_opa_server_picks_up_an_edited_policy(policies: Path) -> None:
    server = OpaServerProcess(policies, free_port())
    server.wait_ready()
    engine = OpaServerEngine(server.url, policies, server)
    try:
        assert (await engine.decide(REQUEST)).for_field("CouncilSection.team").effect == "allow"
        revoke_keyworker_team(policies)
        deadline = time.monotonic() + 10
        effect = "allow"
        while effect == "allow" and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            effect = (await engine.decide(REQUEST)).for_field("CouncilSection.team").effect
        assert effect == "deny"
    finally:
        await engine.aclose()


async def test_unreachable_opa_server_denies_every_field() -> None:
    engine = OpaServerEngine(f"http://127.0.0.1:{free_port()}", POLICIES)
    try:
        decision = await decide_fail_closed(engine, REQUEST, timeout_s=2.0)
    finally:
        await engine.aclose()

    denied = decision.for_field("CouncilSection.team")
    assert denied.effect == "deny" and denied.reason and "unavailable" in denied.reason


async def test_repeated_fields_are_reused_but_each_request_gets_its_own_person_gates() -> None:
    related = PersonContext("COUNCIL_ID:A", {"council": 1.0}, True, {"early_help": "given"})
    stranger = PersonContext("COUNCIL_ID:B", {"council": 1.0}, False, {"early_help": "given"})
    warm = EmbeddedEngine(POLICIES)
    first = await warm.decide(
        DecisionInput(REQUEST.caller, REQUEST.purpose, REQUEST.fields, (related,))
    )

    second = await warm.decide(
        DecisionInput(REQUEST.caller, REQUEST.purpose, REQUEST.fields, (stranger,))
    )
    cold = await EmbeddedEngine(POLICIES).decide(
        DecisionInput(REQUEST.caller, REQUEST.purpose, REQUEST.fields, (stranger,))
    )

    assert second == cold
    assert first.fields == second.fields
    assert first.for_person("COUNCIL_ID:A", "council").effect == "allow"
    assert second.for_person("COUNCIL_ID:B", "council").rule == "relationship.required"


async def test_unreadable_case_register_means_no_relationship_and_no_consent(
    tmp_path: Path,
) -> None:
    person = PersonFetch(Identifier("COUNCIL_ID", "C1"), {"council": Match("council", "C1")})
    (tmp_path / "council.sqlite").write_bytes(b"not a database")

    register = CaseRegister(CouncilAdapter(tmp_path / "council.sqlite"))
    [context] = await register.contexts({person.key: person}, "t")

    assert context.relationship is False and context.consent == {}
