"""The council system on PostgreSQL: same schema, same answers as on SQLite."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from adapters.council import CouncilAdapter
from adapters.sdk import Identifier, UpstreamUnavailable
from gateway.cli import main
from simulators.world import WorldPaths
from tests.conftest import GatewayFactory, ref
from tests.postgres import PostgresServer


@pytest.fixture(scope="module")
def council_dsn(postgres: PostgresServer, world: WorldPaths) -> str:
    """Loaded the way an operator would: `joinedup world postgres --dsn`."""
    dsn = postgres.create_database("council")
    result = CliRunner().invoke(
        main, ["world", "postgres", "--dsn", dsn, "--world", str(world.root)]
    )
    assert result.exit_code == 0, result.output
    return dsn


async def test_postgres_council_answers_like_sqlite(
    council_dsn: str, world: WorldPaths, person_in_all: dict[str, Any]
) -> None:
    on_postgres, on_sqlite = CouncilAdapter(council_dsn), CouncilAdapter(world.council_db)
    fields = frozenset(f.name for f in on_sqlite.discover().fields)
    reference = (Identifier("NI_NUMBER", person_in_all["ni_number"]),)

    match = await on_postgres.lookup(reference)

    assert match == await on_sqlite.lookup(reference)
    assert match is not None and match.local_id == person_in_all["council_id"]
    ids = (match.local_id, "C0000000")
    from_postgres = await on_postgres.read(ids, fields)
    assert from_postgres == await on_sqlite.read(ids, fields)
    assert from_postgres[match.local_id]["cases"], "someone known to all has an open case"
    assert (await on_postgres.check()).ok


async def test_unreachable_postgres_is_unavailable(postgres: PostgresServer) -> None:
    adapter = CouncilAdapter(postgres.dsn("no_such_database"))

    with pytest.raises(UpstreamUnavailable):
        await adapter.lookup((Identifier("COUNCIL_ID", "C1234567"),))
    assert not (await adapter.check()).ok


def test_gateway_serves_the_council_section_from_postgres(
    start_gateway: GatewayFactory, council_dsn: str, person_in_all: dict[str, Any]
) -> None:
    gateway = start_gateway({"council": council_dsn})

    body = gateway.query(ref("COUNCIL_ID", person_in_all["council_id"])).json()

    assert "errors" not in body
    assert body["data"]["person"]["council"]["councilId"] == person_in_all["council_id"]
    assert body["data"]["person"]["benefits"]["niNumber"] == person_in_all["ni_number"]


async def test_a_lookup_with_the_register_answers_both_questions_in_one_call(
    council_dsn: str, world: WorldPaths, person_in_all: dict[str, Any]
) -> None:
    """The fan-out's council lookup (``RequestRegister.lookup_council``): the matches of
    ``lookup_many`` and the facts of ``relationships_and_consent`` on what it found, on
    SQLite and on PostgreSQL alike."""
    on_postgres, on_sqlite = CouncilAdapter(council_dsn), CouncilAdapter(world.council_db)
    council_id = person_in_all["council_id"]
    [record] = (await on_sqlite.read((council_id,), frozenset({"team"}))).values()
    batch = (
        (Identifier("NI_NUMBER", person_in_all["ni_number"]),),
        (Identifier("COUNCIL_ID", "C0000000"),),  # nobody
        (Identifier("BENEFITS_ID", "B1"),),  # not a scheme the council holds
    )
    matches = await on_sqlite.lookup_many(batch)
    assert [m.local_id if m else None for m in matches] == [council_id, None, None]

    for team in (record["team"], None):
        facts = await on_sqlite.relationships_and_consent((council_id,), team)
        assert facts[0] == ({council_id} if team else set()), "an open case held by the team"
        for adapter in (on_sqlite, on_postgres):
            assert await adapter.lookup_many_with_register(batch, team) == (matches, facts)

    nobody = ((Identifier("COUNCIL_ID", "C0000000"),),)
    assert await on_sqlite.lookup_many_with_register(nobody, "t") == ([None], (set(), {}))
