"""Chaos: sustained mixed load while the benefits system is slowed, stopped,
restarted and made flaky. The gateway must never crash, every response must be
well-formed, nothing withheld may leak, and the audit store must hold exactly
one row per disclosure (person, agency) of every response.

Bounded: ~12 s of load from a few threads, loopback only.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess
from simulators.world import WorldPaths
from tests.conftest import GatewayFactory, GatewayProcess, start_benefits

LOAD_S = 12.0
CLIENTS = 4

SOCIAL_WORKER_QUERY = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    council { councilId name dateOfBirth address cases { caseId } }
    benefits { niNumber name dateOfBirth postcode claims { type } }
  }
}
"""
# keyworker / early_help: council address is denied; dates of birth and benefits
# postcode are masked (policies/data.json).
KEYWORKER_QUERY = """
query($refs: [PersonReference!]!) {
  people(references: $refs) {
    council { councilId name dateOfBirth address team }
    benefits { name dateOfBirth postcode workCoach }
  }
}
"""
SECTIONS = ("council", "benefits")
UPSTREAM_CODES = {"UPSTREAM_UNAVAILABLE", "UPSTREAM_TIMEOUT", "UPSTREAM_BAD_REPLY"}


@dataclass
class Exchange:
    role: str
    references: list[str]
    status: int
    request_id: str
    body: dict[str, Any]
    text: str


def run_client(
    gateway: GatewayProcess,
    people: list[dict[str, Any]],
    stop_at: float,
    seed: int,
    results: list[Exchange],
    failures: list[str],
) -> None:
    rng = random.Random(seed)
    tokens = {role: gateway.token(role) for role in ("social_worker", "keyworker")}
    with httpx.Client(timeout=15) as client:
        while time.monotonic() < stop_at:
            chosen = rng.sample(people, rng.choice([1, 1, 3]))
            if len(chosen) == 1 and rng.random() < 0.5:
                role, purpose, query = "social_worker", "safeguarding_children", SOCIAL_WORKER_QUERY
                person = chosen[0]
                scheme, value = rng.choice(
                    [("NI_NUMBER", person["ni_number"]), ("COUNCIL_ID", person["council_id"])]
                )
                variables: dict[str, Any] = {"ref": {"scheme": scheme, "value": value}}
            else:
                role, purpose, query = "keyworker", "early_help", KEYWORKER_QUERY
                variables = {
                    "refs": [{"scheme": "NI_NUMBER", "value": p["ni_number"]} for p in chosen]
                }
            try:
                response = client.post(
                    gateway.url + "/graphql",
                    json={"query": query, "variables": variables},
                    headers={
                        "Authorization": f"Bearer {tokens[role]}",
                        PURPOSE_HEADER: purpose,
                    },
                )
                results.append(
                    Exchange(
                        role,
                        [p["ni_number"] for p in chosen],
                        response.status_code,
                        response.headers.get("x-request-id", ""),
                        response.json(),
                        response.text,
                    )
                )
            except (httpx.HTTPError, ValueError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")


def chaos_schedule(benefits: SimulatorProcess) -> list[tuple[float, str, Callable[[], None]]]:
    def faults(**settings: Any) -> Callable[[], None]:
        return lambda: httpx.put(benefits.url + "/_sim/faults", json=settings).raise_for_status()

    # Hook: when the OPA server engine exists (issue 4), add its stop / slow / restart
    # steps here; the assertions below already cover any engine (fail closed = withheld).
    return [
        (1.5, "slow benefits past the agency timeout", faults(latency_ms=800)),
        (3.5, "stop benefits", benefits.stop),
        (6.5, "restart benefits", benefits.start),
        (8.0, "flaky benefits (half of replies 503)", faults(error_rate=0.5)),
        (10.0, "healthy again", faults(error_rate=0.0, latency_ms=0)),
    ]


def run_chaos(schedule: list[tuple[float, str, Callable[[], None]]], started: float) -> None:
    for at_s, _, action in schedule:
        time.sleep(max(0.0, started + at_s - time.monotonic()))
        action()


def test_gateway_survives_agency_chaos_without_leaks_or_audit_gaps(
    start_gateway: GatewayFactory, world: WorldPaths, ground_truth: list[dict[str, Any]]
) -> None:
    people = [p for p in ground_truth if p["council_id"] and "benefits" in p["records"]][:40]
    benefits = start_benefits(world)
    gateway = start_gateway(
        {"benefits": benefits.url},
        agency_timeout=0.5,
        extra_args=(
            "--rate-limit", "100000/minute", "--request-deadline", "2", "--breaker-reset", "1",
        ),
    )  # fmt: skip
    results: list[Exchange] = []
    failures: list[str] = []
    started = time.monotonic()
    clients = [
        threading.Thread(
            target=run_client,
            args=(gateway, people, started + LOAD_S, seed, results, failures),
        )
        for seed in range(CLIENTS)
    ]
    try:
        for client in clients:
            client.start()
        run_chaos(chaos_schedule(benefits), started)
        for client in clients:
            client.join(timeout=LOAD_S + 30)
    finally:
        benefits.stop()

    assert gateway.process.poll() is None, "the gateway process must survive"
    assert httpx.get(gateway.url + "/healthz").status_code == 200
    assert not failures, failures[:5]
    assert len(results) > 100
    degraded = 0
    for exchange in results:
        assert exchange.status == 200, exchange.text
        degraded += check_well_formed(exchange)
        check_nothing_withheld_leaks(exchange, {p["ni_number"]: p for p in people})
    assert degraded > 10, "the chaos must actually have degraded some answers"
    assert degraded < len(results), "and some answers must have been whole"
    check_one_audit_row_per_disclosure(gateway, results)


def persons_of(exchange: Exchange) -> list[dict[str, Any] | None]:
    data = exchange.body["data"]
    return [data["person"]] if "person" in data else list(data["people"])


def check_well_formed(exchange: Exchange) -> int:
    """Returns 1 if the answer was degraded by an agency failure."""
    body = exchange.body
    assert set(body) <= {"data", "errors", "extensions"}
    assert body["extensions"]["joinedup"]["requestId"] == exchange.request_id
    degraded = 0
    for error in body.get("errors", []):
        code = error["extensions"]["code"]
        assert code in UPSTREAM_CODES | {"FORBIDDEN"}, error
        if code in UPSTREAM_CODES:
            degraded = 1
            assert error["extensions"]["agency"] in SECTIONS
            assert error["path"][-1] == error["extensions"]["agency"]
            assert "127.0.0.1" not in error["message"]
    return degraded


def check_nothing_withheld_leaks(exchange: Exchange, truth: dict[str, dict[str, Any]]) -> None:
    if exchange.role != "keyworker":
        return
    for person in persons_of(exchange):
        if person is None:
            continue
        council, benefits = person["council"], person["benefits"]
        if council is not None:
            assert council["address"] is None
            assert council["dateOfBirth"] is None or re.fullmatch(r"\d{4}", council["dateOfBirth"])
        if benefits is not None:
            assert benefits["dateOfBirth"] is None or re.fullmatch(
                r"\d{4}", benefits["dateOfBirth"]
            )
            assert benefits["postcode"] is None or " " not in benefits["postcode"]
    for ni_number in exchange.references:
        assert truth[ni_number]["date_of_birth"] not in exchange.text


def check_one_audit_row_per_disclosure(gateway: GatewayProcess, results: list[Exchange]) -> None:
    db = sqlite3.connect(gateway.state_dir / "audit.sqlite")
    try:
        rows = db.execute("SELECT request_id, person_ref, agency FROM audit_record").fetchall()
    finally:
        db.close()
    per_request = Counter(request_id for request_id, _, _ in rows)
    assert len(set(rows)) == len(rows), "no disclosure is recorded twice"
    for exchange in results:
        # A section shown, or withheld as a whole by policy (relationship, consent), is
        # one decision about that agency's record: each is audited once.
        withheld = {
            tuple(e["path"])
            for e in json.loads(exchange.text).get("errors", [])
            if e["extensions"]["code"] == "FORBIDDEN" and e["path"][-1] in SECTIONS
        }
        disclosed = sum(
            1
            for index, person in enumerate(persons_of(exchange))
            if person is not None
            for section in SECTIONS
            if person[section] is not None
            or ("person", section) in withheld
            or ("people", index, section) in withheld
        )
        assert per_request[exchange.request_id] == disclosed, exchange.text
