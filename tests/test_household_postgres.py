"""Household links from the council database on PostgreSQL: the same answers as on SQLite."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from adapters.council import CouncilAdapter
from gateway.cli import main
from simulators.world import WorldPaths
from simulators.world.population import age
from tests.conftest import GatewayFactory, ref
from tests.postgres import PostgresServer
from tests.test_household import OVERRIDE, SECTIONS, households


@pytest.fixture(scope="module")
def council_dsn(postgres: PostgresServer, world: WorldPaths) -> str:
    dsn = postgres.create_database("council_households")
    result = CliRunner().invoke(
        main, ["world", "postgres", "--dsn", dsn, "--world", str(world.root)]
    )
    assert result.exit_code == 0, result.output
    return dsn


async def test_postgres_council_links_households_like_sqlite_and_the_truth(
    council_dsn: str, world: WorldPaths, ground_truth: list[dict[str, Any]]
) -> None:
    grouped = households(ground_truth)
    family = next(
        members
        for members in grouped.values()
        if len(members) >= 3 and all(m["council_id"] for m in members)
    )
    ids = tuple(m["council_id"] for m in family)
    on_postgres, on_sqlite = CouncilAdapter(council_dsn), CouncilAdapter(world.council_db)

    links = await on_postgres.household((*ids, "C0000000"))

    assert links == await on_sqlite.household((*ids, "C0000000"))
    assert set(links) == set(ids)
    for person in family:
        linked = {
            link.identifiers[0].value: link.relationship for link in links[person["council_id"]]
        }
        assert set(linked) == set(ids) - {person["council_id"]}
        for other in family:
            if other is person:
                continue
            adult, other_adult = (
                age(person["date_of_birth"]) >= 18,
                age(other["date_of_birth"]) >= 18,
            )
            expected = {
                (True, True): "partner",
                (True, False): "child",
                (False, True): "parent",
                (False, False): "sibling",
            }[(adult, other_adult)]
            assert linked[other["council_id"]] == expected


def test_gateway_resolves_households_from_postgres(
    start_gateway: GatewayFactory, council_dsn: str, ground_truth: list[dict[str, Any]]
) -> None:
    grouped = households(ground_truth)
    subject = next(
        p for p in ground_truth if p["council_id"] and len(grouped[p["household_id"]]) >= 3
    )
    gateway = start_gateway({"council": council_dsn})

    body = gateway.query(
        ref("COUNCIL_ID", subject["council_id"]), query=SECTIONS, headers=OVERRIDE
    ).json()

    members = body["data"]["person"]["household"]["members"]
    assert {m["person"]["reference"]["value"] for m in members} == {
        m["council_id"] for m in grouped[subject["household_id"]]
    } - {subject["council_id"]}
