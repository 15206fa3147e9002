"""Audit write latency: one request's records appended to the chain, SQLite vs PostgreSQL.

Each sample is one ``AuditStore.append`` of a request's records, two per person
(council and benefits), each naming the three identifiers the person was resolved
to: take the chain lock, read the head, hash, insert, sign the head, commit. SQLite
is the baseline; PostgreSQL is reported as a ratio to it. Also reports how fast
``verify`` walks the chain, and the CPU per append.

    .venv/bin/python -m bench.audit_write [--samples 2000] [--people 1] [--postgres-dsn DSN]

``--people 100`` is a caseload's append (200 records).

Without --postgres-dsn a throwaway server is started from Debian's postgresql
(the test fixture's, which runs with fsync=off: PostgreSQL's figure then leaves
out the disk flush that SQLite's synchronous=FULL pays).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from gateway.audit import AuditRecord, AuditStore, open_store
from gateway.config import REPO_ROOT


def _records(n: int, people: int) -> list[AuditRecord]:
    return [
        AuditRecord(
            request_id=f"bench-{n}",
            user="amy",
            org="demo-council",
            roles=("keyworker",),
            team="early-help",
            purpose="early_help",
            lawful_basis="Children Act 2004 s.10; UK GDPR Art 6(1)(e)",
            policy_revision="0123456789abcdef",
            decision_id=f"decision-{n}",
            person_scheme="NI_NUMBER",
            person_value=f"QQ{person:06d}C",
            person_identifiers=(
                ("NI_NUMBER", f"QQ{person:06d}C"),
                ("COUNCIL_ID", f"C{person:07d}"),
                ("NHS_NUMBER", f"{9000000000 + person}"),
            ),
            agency=agency,
            disclosed=("X.name", "X.claims", "X.workCoach"),
            masked=("X.dateOfBirth", "X.postcode"),
            withheld={"X.address": "not shared with the caller's role for early_help"},
            obligations={"audit_level": "standard"},
        )
        for person in range(people)
        for agency in ("council", "benefits")
    ]


def measure(store: AuditStore, samples: int, people: int) -> tuple[float, float, float, float]:
    """p50 and p95 append latency (ms), verify speed (records per second), CPU ms per append."""
    for n in range(50):  # warm up connections and caches
        store.append(_records(n, people))
    batches = [_records(n, people) for n in range(samples)]
    timings = []
    cpu_started = time.process_time()
    for batch in batches:
        started = time.perf_counter()
        store.append(batch)
        timings.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / samples
    started = time.perf_counter()
    report = store.verify()
    verify_rate = report.records / (time.perf_counter() - started)
    assert report.ok, report.summary()
    quantiles = statistics.quantiles(timings, n=20)
    return statistics.median(timings), quantiles[18], verify_rate, cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--people", type=int, default=1, help="people per request")
    parser.add_argument("--postgres-dsn", default=None)
    args = parser.parse_args()
    with ExitStack() as stack:
        state = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        dsn = args.postgres_dsn
        if dsn is None:
            from tests.postgres import PostgresServer

            server = PostgresServer.start()
            stack.callback(server.stop)
            dsn = server.create_database("bench_audit")
        results = {}
        for name, target in (("sqlite", f"sqlite:///{state}/audit.sqlite"), ("postgresql", dsn)):
            store = open_store(target, state, REPO_ROOT / "policies")
            results[name] = measure(store, args.samples, args.people)
            store.close()
    baseline = results["sqlite"][0]
    records = 2 * args.people
    print(f"audit append of one request ({records} records), {args.samples} samples")
    print(
        f"{'store':<12}{'p50 ms':>9}{'p95 ms':>9}{'vs sqlite':>11}{'verify rec/s':>14}{'CPU ms':>9}"
    )
    for name, (p50, p95, rate, cpu_ms) in results.items():
        print(
            f"{name:<12}{p50:>9.3f}{p95:>9.3f}{p50 / baseline:>10.2f}x{rate:>14,.0f}{cpu_ms:>9.3f}"
        )


if __name__ == "__main__":
    main()
