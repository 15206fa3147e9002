"""Gateway worker count: the full person view at 0 ms with 1 and 2 workers, concurrency 1, 8, 16.

``python -m bench.workers [--workers 1,2] [--concurrency 1,8,16] [--out FILE]``: the same
demo world, people and query as ``full_person_0ms`` in ``bench.run`` (``Bench.workloads``),
one gateway per (workers, concurrency) pair, in one run; medians over ``--repeats`` runs. The
recommended worker count (README "Performance") is the fewest workers whose requests
per second are within :data:`RPS_TOLERANCE` of the best at every concurrency, on this
machine, where the agency simulators and the load generator share the same cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.measure import Load, drive
from bench.run import RESULTS, Bench, machine, parse_args, revision
from bench.stack import start_joinedup
from gateway.config import REPO_ROOT
from simulators.launcher import running_world

RPS_TOLERANCE = 0.9
"""Within 10 %: the spread of repeated runs on the shared machine."""

FIGURES = (
    "p50_ms",
    "p99_ms",
    "rps",
    "overhead_p50_ms",
    "cpu_ms_per_request",
    "agency_cpu_ms_per_request",
    "machine_busy_share",
    "rss_mb",
)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=_ints, default=[1, 2])
    parser.add_argument("--concurrency", type=_ints, default=[1, 8, 16])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "workers.json")
    args = parser.parse_args()
    bench_args = parse_args(["--repeats", str(args.repeats), "--skip-curves", "--skip-peer"])
    scratch = REPO_ROOT / ".joinedup" / "bench"
    rows: list[dict[str, Any]] = []
    with running_world(scratch / f"world-{bench_args.people}", people=bench_args.people) as world:
        bench = Bench(bench_args, world, scratch)
        with bench.gateway:
            ops, _ = bench.workloads()["full_person"]
        for workers in args.workers:
            for concurrency in args.concurrency:
                load = Load(concurrency, bench_args.warmup, bench_args.duration, args.repeats)
                with start_joinedup(world, scratch, None, workers) as gateway:
                    figures = drive(
                        gateway.server, "/graphql", gateway.headers(), ops, load, bench.agency_cpu
                    )
                row = {"workers": workers, "concurrency": concurrency}
                row |= {key: figures.get(key) for key in (*FIGURES, "machine_load_1m")}
                print(json.dumps(row), flush=True)
                rows.append(row)
    best_rps = {
        c: max(row["rps"] or 0 for row in rows if row["concurrency"] == c) for c in args.concurrency
    }
    recommended = min(
        (
            w
            for w in args.workers
            if all(
                (row["rps"] or 0) >= RPS_TOLERANCE * best_rps[row["concurrency"]]
                for row in rows
                if row["workers"] == w
            )
        ),
        # No count is near the best everywhere: the best at the highest concurrency.
        default=max(rows, key=lambda row: (row["concurrency"], row["rps"] or 0))["workers"],
    )
    results = {
        "machine": machine(),
        "revision": revision(),
        "scenario": "full_person_0ms",
        "rows": rows,
        "recommended_workers": recommended,
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"recommended: {recommended} worker(s)")


if __name__ == "__main__":
    main()
