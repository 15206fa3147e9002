"""The benchmark's allow-all baseline policy answers every entrypoint the engine asks.

`make bench` compares joinedup with the real policy against this baseline
(`bench/policy_allow_all`). A baseline that misses an entrypoint fails closed: every
section is withheld, nothing is read, and the comparison measures nothing. This
checks the baseline really discloses the full view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.baseline import allow_all_policy_dir
from bench.queries import INTROSPECT_TYPES, person_query, person_sections
from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import GatewayConfig, agency_settings
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import DemoWorld
from tests.conftest import agencies_read
from tests.inprocess import gateway_client


async def test_allow_all_baseline_reads_every_section_and_withholds_nothing(
    tmp_path: Path, demo_world: DemoWorld, person_in_all: dict[str, Any]
) -> None:
    config = GatewayConfig(
        state_dir=tmp_path / "state",
        agencies={n: agency_settings(n, e) for n, e in demo_world.endpoints().items()},
        policy_dir=allow_all_policy_dir(tmp_path),
    )
    token = issue_dev_token(load_dev_key(config.state_dir), "bench", "social_worker", "o", "t")
    headers = {"Authorization": f"Bearer {token}", PURPOSE_HEADER: "safeguarding_children"}
    async with gateway_client(config) as client:

        async def ask(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
            reply = await client.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
            assert reply.status_code == 200
            body: dict[str, Any] = reply.json()
            return body

        sections = person_sections(await ask(INTROSPECT_TYPES))
        reference = {"scheme": "NI_NUMBER", "value": person_in_all["ni_number"]}
        body = await ask(person_query(sections), {"ref": reference})

    assert "errors" not in body
    person = body["data"]["person"]
    assert all(person[section.agency] is not None for section in sections)
    reads = set(agencies_read(body))
    assert reads == {section.agency for section in sections}
