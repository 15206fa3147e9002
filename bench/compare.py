"""Two revisions measured back to back: ``python -m bench.compare BASE [--rounds 3]``.

This machine's speed drifts within a session: the same revision gave 105.8 and
122.0 req/s for the full view an hour apart, and the unloaded overhead moves by
half a millisecond. So figures from different runs of ``make bench`` do not show
what a change did. This checks BASE out in a temporary git worktree and measures
it and the working tree in turn, round after round, against one demo world with
one load generator (the working tree's), each round in the other order, and
prints each revision's medians over the rounds and their ratio (working tree ÷
BASE):

- ``full_person_0ms``: the full person view of the people known to all seven
  agencies at ``--concurrency`` (throughput and gateway CPU per request, as in
  ``make bench``), and ``full_person_mixed_0ms``: the same view of the 20 people
  matched in the most agencies (most of them in five, so searched in the other two);
- ``unloaded_seven_agencies``: every section without ``matches``, one client (the
  overhead target, as the seven-agency point of the scaling curve);
- ``full_person_50ms`` and ``full_person_mixed_50ms`` with ``--with-50ms``: the full
  views with agencies at 50 ± 10 ms (fan-out efficiency);
- ``household_0ms`` and ``caseload_0ms`` with ``--with-people`` (and their ``_50ms``
  twins with both options): ``make bench``'s queries about many people.

Both revisions run on this tree's virtual environment, OPA binary (``.tools``) and
simulators: a BASE that needs other dependencies cannot be compared this way. Writes ``--out``
(``results/compare.json``) with every round's figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.config import REPO_ROOT

FIGURES = (
    "rps",
    "p50_ms",
    "p99_ms",
    "overhead_p50_ms",
    "overhead_p99_ms",
    "fanout_efficiency",
    "cpu_ms_per_request",
)
WORKING_TREE = "working tree"


@contextmanager
def worktree(revision: str) -> Iterator[Path]:
    """``revision`` checked out in a temporary git worktree, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="joinedup-compare-") as scratch:
        path = Path(scratch) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(path), revision],
            cwd=REPO_ROOT,
            check=True,
        )
        try:
            # The policy engine checks bundles with the OPA binary the setup built.
            (path / ".tools").symlink_to(REPO_ROOT / ".tools", target_is_directory=True)
            _check_imports_from(path)
            yield path
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(path)], cwd=REPO_ROOT, check=True
            )


def _check_imports_from(source: Path) -> None:
    """Refuse to measure if the gateway started from ``source`` would not be its code
    (the editable install or the working directory could come first on the path)."""
    from bench.stack import source_env

    found = subprocess.run(
        [sys.executable, "-c", "import gateway; print(gateway.__file__)"],
        cwd=source,
        env={**os.environ, **source_env(source)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(found).resolve().is_relative_to(source.resolve()):
        raise SystemExit(f"the gateway would be imported from {found}, not from {source}")


def summary(rounds: dict[str, dict[str, list[dict[str, Any]]]], base: str) -> dict[str, Any]:
    """Per scenario, each revision's median of every figure over the rounds, and the
    working tree's ratio to ``base`` (None where a figure is missing or zero)."""
    result: dict[str, Any] = {}
    for scenario, by_revision in rounds.items():
        medians: dict[str, dict[str, float | None]] = {
            revision: {
                figure: statistics.median(values)
                if (values := [r[figure] for r in runs if r.get(figure) is not None])
                else None
                for figure in FIGURES
            }
            for revision, runs in by_revision.items()
        }
        ours, theirs = medians[WORKING_TREE], medians[base]
        ratio = {figure: _ratio(ours[figure], theirs[figure]) for figure in FIGURES}
        result[scenario] = {"medians": medians, "ratio": ratio}
    return result


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


def table(result: dict[str, Any], base: str) -> str:
    header = f"| scenario | revision | {' | '.join(FIGURES)} |"
    lines = [header, "|---|---|" + "---|" * len(FIGURES)]
    for scenario, figures in result.items():
        rows = [*figures["medians"].items(), (f"ratio (working tree ÷ {base})", figures["ratio"])]
        for revision, values in rows:
            cells = " | ".join("" if values[f] is None else f"{values[f]:.3g}" for f in FIGURES)
            lines.append(f"| {scenario} | {revision} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    # The measuring machinery needs the bench extra (psutil); the summary above does not,
    # so the test suite checks it with the test extra alone.
    from bench.measure import Load, drive
    from bench.queries import person_query
    from bench.run import RESULTS, Bench, parse_args, revision
    from bench.stack import set_agency_latency, start_joinedup
    from simulators.launcher import running_world

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the revision to compare the working tree with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--with-50ms", action="store_true")
    parser.add_argument("--with-people", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "compare.json")
    args = parser.parse_args()
    bench_args = parse_args(
        [
            *("--workers", str(args.workers), "--concurrency", str(args.concurrency)),
            *("--repeats", "1", "--skip-curves", "--skip-peer"),  # rounds repeat instead
        ]
    )
    scratch = REPO_ROOT / ".joinedup" / "bench"
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with (
        worktree(args.base) as base_tree,
        running_world(scratch / f"world-{bench_args.people}", people=bench_args.people) as world,
    ):
        bench = Bench(bench_args, world, scratch)
        with bench.gateway:
            people = [ref for _, ref in bench.population.known_to_all()]
            workloads = bench.workloads()
        sections = person_query(bench.sections, matches=False)
        unloaded = [[{"query": sections, "variables": {"ref": r}}] for r in people]
        compared = [
            "full_person",
            "full_person_mixed",
            *(("household", "caseload") if args.with_people else ()),
        ]
        scenarios = [("unloaded_seven_agencies", 0, unloaded, Load(1, 1.0, 4.0, 1))]
        for latency_ms in (0, 50) if args.with_50ms else (0,):
            for name in compared:
                operations, load = workloads[name]
                scenarios.append((f"{name}_{latency_ms}ms", latency_ms, operations, load))
        sources = {args.base: base_tree, WORKING_TREE: None}
        for round_ in range(1, args.rounds + 1):
            for scenario, latency_ms, operations, load in scenarios:
                set_agency_latency(world, latency_ms, 10 if latency_ms else 0)
                # Each round in the other order, so neither revision always runs first.
                order = list(sources.items())[:: 1 if round_ % 2 else -1]
                for tree, source in order:
                    with start_joinedup(world, scratch, None, args.workers, source) as gateway:
                        figures = drive(
                            gateway.server,
                            "/graphql",
                            gateway.headers(),
                            operations,
                            load,
                            bench.agency_cpu,
                        )
                    runs = rounds.setdefault(scenario, {}).setdefault(tree, [])
                    runs.append(figures)
                    shown = ", ".join(
                        f"{f} {figures[f]:.3g}" for f in FIGURES if figures.get(f) is not None
                    )
                    print(f"round {round_} {scenario} {tree}: {shown}", flush=True)
        set_agency_latency(world, 0, 0)
    result = summary(rounds, args.base)
    print()
    print(table(result, args.base))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"base": args.base, "working_tree": revision(), "summary": result, "rounds": rounds},
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
