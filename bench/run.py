"""``make bench``: the benchmark scenarios, scaling curves and the peer, in one run.

Starts the demo world (``running_world``) and ``joinedup serve`` as processes on
loopback, drives them with ``bench.loadgen`` in its own process, prints a table
and writes ``bench/results/latest.json``. Scenarios that the issue defines over
seven agencies run with the agencies the world has and say so in ``notes``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import psutil

from bench.baseline import allow_all_policy_dir
from bench.measure import Load, drive
from bench.peer import start_peer
from bench.queries import (
    INTROSPECT_SCHEMES,
    INTROSPECT_TYPES,
    identifier_schemes,
    people_query,
    person_query,
    person_sections,
)
from bench.stack import (
    JoinedupGateway,
    agency_sampler,
    serve_options,
    set_agency_latency,
    start_joinedup,
)
from gateway.config import REPO_ROOT
from resolvers.schema import MAX_PEOPLE
from simulators.launcher import DemoWorld, running_world

RESULTS = Path(__file__).resolve().parent / "results"
AGENCIES_IN_PRODUCT = 7
REST_AGENCIES_IN_PRODUCT = frozenset({"benefits", "schools", "housing"})
FULL_VIEW_PEOPLE = 20
HOUSEHOLD_SIZE = 5
CASELOAD_SIZE = 100
CASELOAD_AGENCIES = 3
CASELOAD_FIELDS_PER_AGENCY = 2
CASELOAD_CONCURRENCY_DIVISOR = 4
FLAT_GROWTH = 0.25
LINEAR_R_SQUARED = 0.9
PREFERRED_SCHEMES = ("NI_NUMBER", "NHS_NUMBER")
Operations = list[list[dict[str, Any]]]


def reference_for(person: dict[str, Any], schemes: list[str]) -> dict[str, str] | None:
    """The cross-agency identifier a caseworker would type: NI number first, then others."""
    for scheme in [*PREFERRED_SCHEMES, *schemes]:
        value = person.get(scheme.lower())
        if scheme in schemes and value:
            return {"scheme": scheme, "value": str(value)}
    return None


def chunks(refs: list[dict[str, str]], query: str) -> list[dict[str, Any]]:
    """One request per MAX_PEOPLE references: the gateway's per-query limit, kept."""
    return [
        {"query": query, "variables": {"refs": refs[i : i + MAX_PEOPLE]}}
        for i in range(0, len(refs), MAX_PEOPLE)
    ]


class Population:
    """The people each scenario asks about, chosen by what the running gateway finds."""

    def __init__(self, gateway: JoinedupGateway, world: DemoWorld, schemes: list[str]) -> None:
        people = json.loads(world.paths.ground_truth.read_text())["people"]
        self.people = [(p, ref) for p in people if (ref := reference_for(p, schemes))]
        probe = self.people[:1000]
        matched: list[int] = []
        for body in chunks([ref for _, ref in probe], people_query([])):
            reply = gateway.query(body["query"], body["variables"])
            for found in reply["data"]["people"]:
                statuses = found["matches"] if found else []
                matched.append(sum(m["status"] == "MATCHED" for m in statuses))
        self.matched = {p["person_id"]: n for (p, _), n in zip(probe, matched, strict=True)}

    def known_to_all(self) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """The people the world keeps in all seven agency systems (the issue's full view),
        as far as the probe reached; the best known if it has none."""
        everywhere = [
            pair
            for pair in self.people
            if pair[0]["known_to_all"] and pair[0]["person_id"] in self.matched
        ]
        return everywhere or self.best_known(FULL_VIEW_PEOPLE)

    def best_known(self, count: int) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """People matched in the most agencies (every agency, where the world has them)."""
        ranked = sorted(
            (pair for pair in self.people if pair[0]["person_id"] in self.matched),
            key=lambda pair: -self.matched[pair[0]["person_id"]],
        )
        return ranked[:count]

    def households(self, count: int) -> list[list[dict[str, str]]]:
        """Households of at least HOUSEHOLD_SIZE people, best known first: a person + 4."""
        members: dict[str, list[tuple[dict[str, Any], dict[str, str]]]] = defaultdict(list)
        for person, ref in self.people:
            members[person["household_id"]].append((person, ref))
        big = [group[:HOUSEHOLD_SIZE] for group in members.values() if len(group) >= HOUSEHOLD_SIZE]
        big.sort(key=lambda group: -sum(self.matched.get(p["person_id"], 0) for p, _ in group))
        return [[ref for _, ref in group] for group in big[:count]]

    def references(self, count: int, offset: int = 0) -> list[dict[str, str]]:
        return [ref for _, ref in self.people[offset : offset + count]]


def linearity(points: list[tuple[float, float]]) -> dict[str, Any]:
    """Least-squares line through (x, y), and a verdict.

    "flat" when the fitted line grows by less than a quarter of the mean over the
    range (a fixed per-request cost dominates), "linear" when R² ≥ 0.9, otherwise
    "not linear".
    """
    points = [(x, y) for x, y in points if y is not None and y == y]  # drop empty runs (NaN)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    if len(points) < 3 or len(set(xs)) < 2:
        return {"verdict": "too few points to judge", "points": len(points)}
    slope, intercept = statistics.linear_regression(xs, ys)
    mean_y = statistics.fmean(ys)
    total = sum((y - mean_y) ** 2 for y in ys)
    residual = sum((y - (intercept + slope * x)) ** 2 for x, y in points)
    r_squared = 1 - residual / total if total else 1.0
    growth = slope * (max(xs) - min(xs)) / mean_y if mean_y else 0.0
    if abs(growth) < FLAT_GROWTH:
        verdict = "flat (fixed cost dominates)"
    else:
        verdict = "linear" if r_squared >= LINEAR_R_SQUARED else "not linear"
    return {
        "slope_per_unit": slope,
        "intercept": intercept,
        "r_squared": r_squared,
        "growth_over_range": growth,
        "verdict": verdict,
    }


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    node = shutil.which("node")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "node": subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
        if node
        else None,
        "os": platform.platform(),
    }


def revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = "-dirty" if git("status", "--porcelain", "--", ":!bench/results") else ""
    return git("rev-parse", "--short", "HEAD") + dirty


class Bench:
    def __init__(self, args: argparse.Namespace, world: DemoWorld, scratch: Path) -> None:
        self.args = args
        self.world = world
        self.scratch = scratch
        self.load = Load(args.concurrency, args.warmup, args.duration, args.repeats)
        self.curve_load = Load(1, args.warmup / 2, args.duration / 2, args.repeats)
        # A caseload asks about 100 people: fewer at once, as a case system would, each
        # operation on a new connection so that so few clients still spread over workers.
        self.caseload_load = Load(
            max(1, args.concurrency // CASELOAD_CONCURRENCY_DIVISOR),
            args.warmup,
            args.duration,
            args.repeats,
            reconnect=True,
        )
        self.notes: list[str] = []
        self.scenarios: list[dict[str, Any]] = []
        self.gateway = start_joinedup(world, scratch, None, args.workers)
        self.agency_cpu = agency_sampler(world)
        types = self.gateway.query(INTROSPECT_TYPES)
        self.sections = person_sections(types)
        schemes = identifier_schemes(self.gateway.query(INTROSPECT_SCHEMES))
        self.population = Population(self.gateway, world, schemes)
        self.agencies = [s.agency for s in self.sections]
        if len(self.sections) < AGENCIES_IN_PRODUCT:
            self.notes.append(
                f"the running world has {len(self.sections)} of the product's "
                f"{AGENCIES_IN_PRODUCT} agencies ({', '.join(self.agencies)}); scenarios "
                "defined over seven agencies ran over these"
            )
        if "workers" not in serve_options():
            self.notes.append("joinedup serve has no --workers option yet: one worker process")
        else:
            self.notes.append(
                f"joinedup serve ran {self.gateway.workers} worker process(es)"
                + ("" if args.workers else " (its default)")
            )

    def run_joinedup(
        self, name: str, operations: Operations, load: Load, policy_dir: Path | None = None
    ) -> dict[str, Any]:
        """One scenario on a gateway of its own, so that circuit breakers a scenario
        trips (or pools and caches it warms) never carry into the next one."""
        with start_joinedup(self.world, self.scratch, policy_dir, self.args.workers) as gateway:
            figures = drive(
                gateway.server, "/graphql", gateway.headers(), operations, load, self.agency_cpu
            )
        self._say(name, figures)
        return figures

    def _say(self, name: str, figures: dict[str, Any]) -> None:
        print(f"  {name}: {_row(figures)}", flush=True)

    def full_view_people(self) -> dict[str, list[tuple[dict[str, Any], dict[str, str]]]]:
        """Whom each full-view scenario asks about: the people known to all seven agencies
        (the issue's), and the best known (the mixed population, searched in some)."""
        return {
            "full_person": self.population.known_to_all(),
            "full_person_mixed": self.population.best_known(FULL_VIEW_PEOPLE),
        }

    def workloads(self) -> dict[str, tuple[Operations, Load]]:
        """The main scenarios' operations and load, by name (without the latency suffix):
        what ``make bench`` and ``bench.compare`` both drive."""
        full_query = person_query(self.sections)
        full_views: dict[str, tuple[Operations, Load]] = {
            name: ([[{"query": full_query, "variables": {"ref": r}}] for _, r in people], self.load)
            for name, people in self.full_view_people().items()
        }
        households = self.population.households(10)
        household_ops = [
            [{"query": people_query(self.sections), "variables": {"refs": refs}}]
            for refs in households
        ]
        caseload_query = people_query(
            self.sections[:CASELOAD_AGENCIES], CASELOAD_FIELDS_PER_AGENCY, matches=False
        )
        caseload_ops = [
            chunks(self.population.references(CASELOAD_SIZE, i * CASELOAD_SIZE), caseload_query)
            for i in range(10)
        ]
        return {
            **full_views,
            "household": (household_ops, self.load),
            "caseload": (caseload_ops, self.caseload_load),
        }

    def main_scenarios(self) -> None:
        fields = sum(s.leaf_count() for s in self.sections)
        for name, people in self.full_view_people().items():
            matched = statistics.median(self.population.matched[p["person_id"]] for p, _ in people)
            self.notes.append(
                f"{name}: {fields} fields over {len(self.sections)} sections; {len(people)} "
                f"people, matched in a median {matched:g} of {len(self.sections)} agencies"
            )
        if len(self.sections) < CASELOAD_AGENCIES:
            self.notes.append(
                f"caseload: {CASELOAD_FIELDS_PER_AGENCY} fields from "
                f"{len(self.sections)} agencies (the issue asks for 3)"
            )
        workloads = self.workloads()
        for latency in (0, 50):
            slowed = set_agency_latency(self.world, latency, 10 if latency else 0)
            if latency:
                self.notes.append(
                    f"*_50ms: 50 ± 10 ms injected into {', '.join(slowed)} through "
                    "PUT /_sim/faults; the council is a SQLite file read in-process, so it "
                    "keeps its real latency, and overhead is measured against the slowest "
                    "agency call reported in extensions.joinedup.upstream"
                )
            for name, (ops, load) in workloads.items():
                scenario = f"{name}_{latency}ms"
                if self.args.only and scenario not in self.args.only:
                    continue
                figures = self.run_joinedup(scenario, ops, load)
                self.scenarios.append(
                    {"scenario": scenario, "concurrency": load.concurrency, **figures}
                )
        set_agency_latency(self.world, 0, 0)

    def curves(self) -> dict[str, Any]:
        full = self.population.known_to_all()
        result: dict[str, Any] = {}
        by_agencies = []
        for count in range(1, len(self.sections) + 1):
            query = person_query(self.sections[:count], matches=False)
            ops = [[{"query": query, "variables": {"ref": ref}}] for _, ref in full]
            figures = self.run_joinedup(f"agencies={count}", ops, self.curve_load)
            by_agencies.append({"agencies": count, **_curve_point(figures)})
        result["agencies"] = _curve(by_agencies, "agencies")
        caseload_query = people_query(
            self.sections[:CASELOAD_AGENCIES], CASELOAD_FIELDS_PER_AGENCY, matches=False
        )
        by_people = []
        for count in (1, 10, 100, 1000):
            ops = [
                chunks(self.population.references(count, i * 7), caseload_query) for i in range(3)
            ]
            figures = self.run_joinedup(f"people={count}", ops, self.curve_load)
            by_people.append({"people": count, "requests": len(ops[0]), **_curve_point(figures)})
        result["people"] = _curve(by_people, "people")
        by_fields = []
        longest = max(len(s.fields) for s in self.sections)
        for limit in sorted({1, 2, 4, longest}):
            query = person_query(self.sections, limit)
            ops = [[{"query": query, "variables": {"ref": ref}}] for _, ref in full]
            fields = sum(s.leaf_count(limit) for s in self.sections)
            figures = self.run_joinedup(f"fields={fields}", ops, self.curve_load)
            by_fields.append({"fields": fields, **_curve_point(figures)})
        result["fields"] = _curve(by_fields, "fields")
        return result

    def peer(self) -> dict[str, Any] | None:
        peer_dir = Path(__file__).resolve().parent / "peer" / "node_modules"
        if not peer_dir.exists():
            self.notes.append("peer_full skipped: run `npm ci` in bench/peer (make bench does)")
            return None
        forks = self.gateway.workers
        peer = start_peer(self.world, self.scratch, forks)
        try:
            sections = [s for s in self.sections if s.agency in peer.query_fields]
            missing = sorted(REST_AGENCIES_IN_PRODUCT - set(peer.agencies))
            self.notes.append(
                f"peer_full: the REST agencies running ({', '.join(peer.agencies)}; each "
                "composed by GraphQL Mesh from the simulator's GET /openapi.json, records "
                "read through POST /<collection>/batch); missing from the world: "
                f"{', '.join(missing) or 'none'}. Same query shape: every field of those "
                "sections for one person; joinedup also resolves identity (lookup) and "
                "decides policy, the peer is given each agency's own key. Hive Gateway "
                f"--fork {forks}, joinedup {forks} worker(s)"
            )
            people = [
                (ref, op)
                for person, ref in self.population.best_known(200)
                if (op := peer.operation(person)) is not None
            ][:20]
            ours = [
                [{"query": person_query(sections, matches=False), "variables": {"ref": ref}}]
                for ref, _ in people
            ]
            theirs = [op for _, op in people]
            with_policy = self.run_joinedup("peer_full joinedup (policy on)", ours, self.load)
            open_policy = self.run_joinedup(
                "peer_full joinedup (allow-all)",
                ours,
                self.load,
                allow_all_policy_dir(self.scratch),
            )
            for label, figures in (("policy on", with_policy), ("allow-all", open_policy)):
                unread = [
                    s.agency
                    for s in sections
                    if not {"read", "lookup_read"}
                    & figures["upstream_calls_per_agency"].get(s.agency, {}).keys()
                ]
                if unread:
                    self.notes.append(
                        f"peer_full joinedup ({label}) read nothing from {', '.join(unread)}: "
                        "the policy withheld those sections, so it did less work than the peer"
                    )
            peer_figures = drive(peer.server, "/graphql", {}, theirs, self.load, self.agency_cpu)
            self._say("peer_full GraphQL Mesh + Hive Gateway", peer_figures)
        finally:
            peer.server.stop()
        return {
            "scenario": "peer_full",
            **with_policy,
            "rps_ratio_vs_peer": with_policy["rps"] / peer_figures["rps"],
            "p50_ratio_vs_peer": with_policy["p50_ms"] / peer_figures["p50_ms"],
            "allow_all": {
                **open_policy,
                "rps_ratio_vs_peer": open_policy["rps"] / peer_figures["rps"],
                "p50_ratio_vs_peer": open_policy["p50_ms"] / peer_figures["p50_ms"],
            },
            "peer": peer_figures,
        }


def _curve_point(figures: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "p50_ms",
        "p99_ms",
        "overhead_p50_ms",
        "overhead_p99_ms",
        "cpu_ms_per_request",
        "upstream_calls_per_agency",
        "errors",
    )
    return {key: figures[key] for key in keys}


def _curve(points: list[dict[str, Any]], axis: str) -> dict[str, Any]:
    return {
        "points": points,
        "latency": linearity([(p[axis], p["p50_ms"]) for p in points]),
        "cpu": linearity([(p[axis], p["cpu_ms_per_request"]) for p in points]),
    }


def _fmt(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


CALL_KINDS = ("lookup", "lookup_read", "search", "read")


def _calls(kinds: dict[str, float]) -> str:
    """``lookup+lookup_read+search+read`` calls per request, e.g. ``0+1+0.2+0``."""
    return "+".join(f"{kinds.get(kind, 0):g}" for kind in CALL_KINDS)


def _row(f: dict[str, Any]) -> str:
    calls = " ".join(
        f"{agency}:{_calls(kinds)}" for agency, kinds in f["upstream_calls_per_agency"].items()
    )
    return (
        f"p50 {_fmt(f['p50_ms'])} p99 {_fmt(f['p99_ms'])} rps {_fmt(f['rps'])} "
        f"cpu/req {_fmt(f['cpu_ms_per_request'], 2)} "
        f"agencies cpu/req {_fmt(f.get('agency_cpu_ms_per_request'), 2)} "
        f"machine busy {_fmt(f.get('machine_busy_share'), 2)} errors {f['errors']} calls {calls}"
    )


def table(results: dict[str, Any]) -> str:
    header = (
        "| scenario | p50 ms | p99 ms | req/s | overhead p50 | overhead p99 | fan-out eff. "
        "| CPU ms/req | RSS MB | upstream calls/agency (lookup+lookup_read+search+read) |"
    )
    lines = [header, "|" + "---|" * 10]
    for s in results["scenarios"]:
        calls = ", ".join(
            f"{agency} {_calls(kinds)}" for agency, kinds in s["upstream_calls_per_agency"].items()
        )
        lines.append(
            f"| {s['scenario']} | {_fmt(s['p50_ms'])} | {_fmt(s['p99_ms'])} | {_fmt(s['rps'])} "
            f"| {_fmt(s['overhead_p50_ms'])} | {_fmt(s['overhead_p99_ms'])} "
            f"| {_fmt(s['fanout_efficiency'], 2)} | {_fmt(s['cpu_ms_per_request'], 2)} "
            f"| {_fmt(s['rss_mb'], 0)} | {calls} |"
        )
    for s in results["scenarios"]:
        if s["scenario"] == "peer_full":
            p, a = s["peer"], s["allow_all"]
            lines.append("")
            lines.append(
                f"peer_full: joinedup (policy on) / peer: throughput "
                f"{s['rps_ratio_vs_peer']:.2f}x, p50 {s['p50_ratio_vs_peer']:.2f}x; "
                f"allow-all / peer: throughput {a['rps_ratio_vs_peer']:.2f}x, "
                f"p50 {a['p50_ratio_vs_peer']:.2f}x (peer: {p['rps']:.0f} req/s, "
                f"p50 {p['p50_ms']:.1f} ms, CPU {_fmt(p['cpu_ms_per_request'], 2)} ms/req, "
                f"RSS {p['rss_mb']:.0f} MB)"
            )
    for axis, curve in results.get("scaling", {}).items():
        points = ", ".join(
            f"{p[axis]}→{p['p50_ms']:.1f}ms/{_fmt(p['cpu_ms_per_request'], 2)}cpu"
            for p in curve["points"]
        )
        lines.append(
            f"scaling by {axis}: {points}; latency {curve['latency']['verdict']}"
            f" (R² {_fmt(curve['latency'].get('r_squared'), 3)}), CPU "
            f"{curve['cpu']['verdict']} (R² {_fmt(curve['cpu'].get('r_squared'), 3)})"
        )
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--workers", type=int, default=None, help="gateway workers, if offered")
    parser.add_argument("--people", type=int, default=2000, help="size of the demo world")
    parser.add_argument("--skip-curves", action="store_true")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=None,
        help="run only these main scenarios (comma-separated names, e.g. full_person_0ms);"
        " combine with --skip-curves --skip-peer for a quick look",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    return parser.parse_args(argv)


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # so the processes we started are stopped on the way out


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    scratch = REPO_ROOT / ".joinedup" / "bench"
    scratch.mkdir(parents=True, exist_ok=True)
    with running_world(scratch / f"world-{args.people}", people=args.people) as world:
        bench = Bench(args, world, scratch)
        with bench.gateway:
            print(f"joinedup over {', '.join(bench.agencies)}", flush=True)
            bench.main_scenarios()
            scaling = {} if args.skip_curves else bench.curves()
            peer = None if args.skip_peer else bench.peer()
            if peer is not None:
                bench.scenarios.append(peer)
    loads = [s["machine_load_1m"] for s in bench.scenarios]
    cpus = os.cpu_count() or 1
    if loads and statistics.median(loads) > cpus:
        bench.notes.append(
            f"the machine was shared: median 1-minute load average {statistics.median(loads):.1f}"
            f" on {cpus} cores during the scenarios, so latency and req/s are lower than on an"
            " idle machine; CPU ms per request (and cpu_bound_rps_per_core) hold up better"
        )
    results = {
        "machine": machine(),
        "revision": revision(),
        "command": "make bench  (python -m bench.run " + " ".join(sys.argv[1:]) + ")",
        "settings": {
            "concurrency": args.concurrency,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "repeats": args.repeats,
            "curve_concurrency": 1,
            "world_people": args.people,
        },
        "agencies": bench.agencies,
        "notes": bench.notes,
        "scenarios": bench.scenarios,
        "scaling": scaling,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print("\n".join(f"note: {n}" for n in bench.notes))
    print(f"wrote {args.out} in {results['elapsed_s']} s")


if __name__ == "__main__":
    main()
