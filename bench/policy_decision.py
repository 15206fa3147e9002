"""Decision latency: embedded (regopy) vs OPA server, for 10, 30, 100 and 300 fields.

Run with ``make bench-policy``. Both engines evaluate the same request
decision (``data.joinedup.decision``) in the same run; the figures are medians
over many evaluations, and the report gives per-field growth and the
embedded/OPA ratio. Also measured: the hot-reload check (a stat of every
policy file) the embedded engine makes before each decision.

Requested fields cycle through the field catalogue; beyond its size they are
uncatalogued coordinates of the same types (decided by the same rules).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import platform
import statistics
import time
from pathlib import Path

from gateway.policy import DecisionInput, PersonContext, RequestedField
from gateway.policy.bundle import data_document, fingerprint
from gateway.policy.embedded import DECISION, EmbeddedEngine
from gateway.policy.opa_server import OpaServerEngine
from simulators.launcher import free_port

POLICIES = Path(__file__).resolve().parent.parent / "policies"
SIZES = (10, 30, 100, 300)
ROUNDS = 200


def request(fields: int) -> DecisionInput:
    catalogue = [
        (coordinate, agency)
        for agency, document in sorted(data_document(POLICIES)["agencies"].items())
        for coordinate in document["fields"]
    ]
    requested = []
    for index in range(fields):
        coordinate, agency = catalogue[index % len(catalogue)]
        if index >= len(catalogue):
            coordinate = f"{coordinate}{index}"
        requested.append(RequestedField(coordinate, agency))
    return DecisionInput(
        {"user": "bench", "org": "o", "roles": ["keyworker"], "team": "early-help"},
        "early_help",
        tuple(requested),
        (
            PersonContext(
                "NI_NUMBER:QQ000000A",
                {"council": 1.0, "benefits": 1.0},
                True,
                {"early_help": "given"},
            ),
        ),
    )


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def measure() -> None:
    embedded = EmbeddedEngine(POLICIES, hot_reload=False)
    opa = OpaServerEngine.start(POLICIES, free_port())
    rows = []
    try:
        for size in SIZES:
            decision_input = request(size)
            document = decision_input.as_json()
            for _ in range(10):  # warm both
                embedded.evaluate(DECISION, document)
                await opa.evaluate(DECISION, document)
            full, reused, theirs = [], [], []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                embedded.evaluate(DECISION, document)
                full.append(time.perf_counter() - started)
                started = time.perf_counter()
                await embedded.decide(decision_input)
                reused.append(time.perf_counter() - started)
                started = time.perf_counter()
                await opa.evaluate(DECISION, document)
                theirs.append(time.perf_counter() - started)
            rows.append((size, median_ms(full), median_ms(reused), median_ms(theirs)))
    finally:
        await opa.aclose()
    stats = []
    for _ in range(2000):
        started = time.perf_counter()
        fingerprint(POLICIES)
        stats.append(time.perf_counter() - started)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"load average: {os.getloadavg()[0]:.1f}; {ROUNDS} rounds per size; p50 in ms")
    print(
        f"{'fields':>6} {'embedded full':>14} {'embedded repeat':>16} {'OPA server':>11}"
        f" {'full/OPA':>9} {'repeat/OPA':>11}"
    )
    for size, full_ms, reused_ms, opa_ms in rows:
        print(
            f"{size:>6} {full_ms:>14.3f} {reused_ms:>16.3f} {opa_ms:>11.3f}"
            f" {full_ms / opa_ms:>9.2f} {reused_ms / opa_ms:>11.2f}"
        )
    print("  full: the whole decision evaluated; repeat: a request whose caller, purpose and")
    print("  fields were decided before (field decisions reused, person gates evaluated)")
    print("growth per step (time ratio / field ratio; 1.0 = linear):")
    for (small, e1, _, o1), (large, e2, _, o2) in itertools.pairwise(rows):
        scale = large / small
        print(
            f"  {small}->{large}: embedded full {e2 / e1 / scale:.2f},"
            f" OPA server {o2 / o1 / scale:.2f}"
        )
    print(f"hot-reload check (stat of every policy file): p50 {median_ms(stats) * 1000:.1f} us")


if __name__ == "__main__":
    asyncio.run(measure())
