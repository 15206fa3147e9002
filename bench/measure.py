"""Drive one server with the load generator and turn the records into the issue's figures.

Definitions (per operation, i.e. per client request or chunked request group):
- agency latency: the wall time the agency kept the gateway waiting, the union of
  its call intervals from ``extensions.joinedup.upstream`` (lookup then read are
  sequential, concurrent lookups for several people overlap);
- overhead: client-observed latency minus the slowest agency's latency;
- fan-out efficiency: slowest agency latency ÷ client-observed latency;
- CPU ms per request: CPU time of the server's process tree over the measured
  window ÷ operations begun in it; RSS: peak resident set of the largest process;
- agency CPU ms per request: the same for the agency simulators, which share the
  machine's cores with the gateway here; machine busy share: the fraction of all
  cores busy over the window (1.0 = CPU bound, whoever used it).
Each figure is the median over repeated runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.stack import ResourceSampler, ServerProcess


@dataclass(frozen=True)
class Load:
    concurrency: int
    warmup_s: float
    duration_s: float
    repeats: int
    reconnect: bool = False
    """Each client opens a new connection for every operation. The gateway's workers
    each take the connections the kernel hashes to them (``gateway/workers.py``), so
    two kept-alive connections land on one worker half the time: the caseload's two
    clients measured 18-19 or 11-12 req/s by that coin flip alone (13-14 in every run
    reconnecting). Many clients, or a client reconnecting, spread over the workers; for
    an operation about 100 people (~90 ms of gateway CPU) the new connection costs
    nothing measurable."""


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def drive_once(
    server: ServerProcess,
    path: str,
    headers: dict[str, str],
    operations: list[list[dict[str, Any]]],
    load: Load,
    agencies: ResourceSampler | None = None,
) -> dict[str, Any]:
    """One load-generator run; figures for that run."""
    with tempfile.TemporaryDirectory() as scratch:
        spec_path, out_path = Path(scratch) / "spec.json", Path(scratch) / "out.json"
        spec_path.write_text(
            json.dumps(
                {
                    "url": server.url + path,
                    "headers": headers,
                    "operations": operations,
                    "concurrency": load.concurrency,
                    "warmup_s": load.warmup_s,
                    "duration_s": load.duration_s,
                    "reconnect": load.reconnect,
                    "timeout_s": 300,
                }
            )
        )
        generator = subprocess.Popen(
            [sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)],
            stdout=subprocess.PIPE,
        )
        assert generator.stdout is not None
        generator.stdout.readline()  # "ready": the generator's clock starts now
        time.sleep(load.warmup_s)
        server.sampler.start()
        cpu_before = server.sampler.cpu_ms()
        agency_before = agencies.cpu_ms() if agencies else 0.0
        machine_before = psutil.cpu_times()
        time.sleep(load.duration_s)
        cpu_ms = server.sampler.cpu_ms() - cpu_before
        agency_ms = agencies.cpu_ms() - agency_before if agencies else None
        busy = _busy_share(machine_before, psutil.cpu_times())
        rss_mb = server.sampler.stop()
        if generator.wait(timeout=load.duration_s + 120) != 0:
            raise RuntimeError("the load generator failed")
        raw = json.loads(out_path.read_text())
    figures = summarise(raw, cpu_ms, rss_mb, load.duration_s)
    requests = figures["requests"]
    figures["agency_cpu_ms_per_request"] = (
        agency_ms / requests if agency_ms is not None and requests else None
    )
    figures["machine_busy_share"] = busy
    return figures


def _busy_share(before: Any, after: Any) -> float:
    """Share of all cores' time spent not idle between two ``psutil.cpu_times()``."""
    idle = (after.idle + after.iowait) - (before.idle + before.iowait)
    total = sum(after) - sum(before)
    return 1.0 - idle / total if total > 0 else 0.0


def summarise(
    raw: dict[str, Any], cpu_ms: float, rss_mb: float, duration_s: float
) -> dict[str, Any]:
    records = raw["operations"]
    ok = [r for r in records if r["ok"]]
    latencies = [r["latency_ms"] for r in ok]
    slowest = [max(r["busy_ms"].values(), default=0.0) for r in ok]
    overheads = [lat - slow for lat, slow in zip(latencies, slowest, strict=True)]
    calls: dict[str, dict[str, float]] = {}
    for record in ok:
        for agency, kinds in record["calls"].items():
            for kind, count in kinds.items():
                calls.setdefault(agency, {}).setdefault(kind, 0.0)
                calls[agency][kind] += count / len(ok)
    return {
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "rps": len(records) / duration_s,
        "overhead_p50_ms": _percentile(overheads, 0.50) if any(slowest) else None,
        "overhead_p99_ms": _percentile(overheads, 0.99) if any(slowest) else None,
        "fanout_efficiency": (
            statistics.median(s / lat for s, lat in zip(slowest, latencies, strict=True))
            if any(slowest)
            else None
        ),
        "upstream_calls_per_agency": {
            agency: {kind: round(n, 2) for kind, n in kinds.items()}
            for agency, kinds in sorted(calls.items())
        },
        "cpu_ms_per_request": cpu_ms / len(records) if records else None,
        "rss_mb": rss_mb,
        "requests": len(records),
        "errors": len(records) - len(ok),
        "first_error": next((r["error"] for r in records if r["error"]), None),
        "loadgen_cpu_share": raw["loadgen_cpu_ms"] / raw["loadgen_wall_ms"],
        "machine_load_1m": os.getloadavg()[0],
    }


def median_of_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each numeric figure over repeated runs; other figures from the median run."""
    by_p50 = sorted(runs, key=lambda r: r["p50_ms"])
    result = dict(by_p50[len(by_p50) // 2])
    for key, value in result.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            values = [r[key] for r in runs if r[key] is not None]
            result[key] = statistics.median(values)
    result["runs"] = len(runs)
    return result


def probe_ms(server: ServerProcess, path: str, headers: dict[str, str], bodies: Any) -> float:
    """One operation's latency, unloaded (also warms the server for this query)."""
    started = time.perf_counter()
    with httpx.Client(headers=headers, timeout=120) as client:
        for body in bodies:
            client.post(server.url + path, json=body)
    return (time.perf_counter() - started) * 1000


def drive(
    server: ServerProcess,
    path: str,
    headers: dict[str, str],
    operations: list[list[dict[str, Any]]],
    load: Load,
    agencies: ResourceSampler | None = None,
) -> dict[str, Any]:
    """Median figures over ``load.repeats`` runs.

    The measured window is stretched for slow operations so each run completes at
    least two operations per concurrent client (capped at a minute).
    """
    server.sampler.settle()
    single_ms = probe_ms(server, path, headers, operations[0])
    window_s = min(60.0, max(load.duration_s, 2 * load.concurrency * single_ms / 1000))
    stretched = replace(
        load, warmup_s=max(load.warmup_s, single_ms / 1000), duration_s=window_s, repeats=1
    )
    runs = []
    for _ in range(load.repeats):
        runs.append(drive_once(server, path, headers, operations, stretched, agencies))
        server.sampler.settle()
    figures = median_of_runs(runs)
    cpu_ms = figures["cpu_ms_per_request"]
    # What one core could serve if the gateway had it to itself: an estimate from the
    # robust CPU figure, for machines shared with other work (see machine_load_1m).
    figures["cpu_bound_rps_per_core"] = 1000 / cpu_ms if cpu_ms else None
    return {**figures, "concurrency": load.concurrency}
