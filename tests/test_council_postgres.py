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
