"""Closed-loop load generator, run as its own process so it does not share the gateway's CPU.

``python -m bench.loadgen SPEC.json OUT.json``. The spec names a URL, headers, a
list of operations (each a list of GraphQL request bodies sent one after another,
so a query over more people than one request may carry is sent in chunks), a
concurrency, a warm-up and a measured duration, and whether to reconnect for every
operation (``Load.reconnect``). Each of ``concurrency`` workers
sends operations back to back; one record per operation completed inside the
measured window (after warm-up, before the end): its latency (from sending each
request to receiving its reply, summed over the operation's requests: the
generator's own decoding of a reply is not counted), whether every reply was HTTP
200 without errors, and, from ``extensions.joinedup.upstream`` when the target is
joinedup, per agency the number of calls by kind and the wall time the agency was
busy (the union of its call intervals, so concurrent lookups are not counted
twice). The generator's own CPU time is reported too, so a run can show the
generator was not the bottleneck.

It shares the machine's two cores with the gateway and the agencies, so it is kept
cheap: aiohttp on uvloop, one client session (one connection) per worker. On httpx
and asyncio's own loop it took ~1.6 ms of CPU per full view, ~15 % of the gateway's
own (``bench/README.md``, eleventh pass).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvloop


@dataclass
class OperationRecord:
    latency_ms: float
    ok: bool
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    busy_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None


def busy_wall_ms(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of [start, end] intervals: how long an agency kept us waiting."""
    total, current_start, current_end = 0.0, None, None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None and current_start is not None:
        total += current_end - current_start
    return total


POLICY_CODES = frozenset({"FORBIDDEN"})
"""Errors that are the policy at work (a withheld field or labelled record), not failures."""


def _failures(reply: dict[str, Any]) -> list[Any]:
    return [
        error
        for error in reply.get("errors") or []
        if (error.get("extensions") or {}).get("code") not in POLICY_CODES
    ]


def _record_reply(reply: dict[str, Any], offset_ms: float, into: dict[str, Any]) -> bool:
    """Fold one reply's upstream calls into ``into``; True unless the reply has an error
    other than the policy withholding something (the full view asks for every field,
    so replies about people with labelled records always carry FORBIDDEN errors)."""
    upstream = reply.get("extensions", {}).get("joinedup", {}).get("upstream", [])
    for call in upstream:
        agency, operation = call["agency"], call["operation"]
        by_kind = into["calls"].setdefault(agency, {})
        by_kind[operation] = by_kind.get(operation, 0) + 1
        start = offset_ms + call["startedMs"]
        into["intervals"].setdefault(agency, []).append((start, start + call["ms"]))
    return not _failures(reply)


async def _operation(
    client: aiohttp.ClientSession, url: str, bodies: list[dict[str, Any]], reconnect: bool
) -> OperationRecord:
    seen: dict[str, Any] = {"calls": {}, "intervals": {}}
    error = None
    # Only the time spent waiting for replies: the generator's own decoding of one reply
    # is not the gateway's latency (and the next chunk is sent after it).
    latency_ms = 0.0
    for index, body in enumerate(bodies, 1):
        # The server closes the connection after the operation's last reply.
        closing = {"Connection": "close"} if reconnect and index == len(bodies) else None
        sent = time.perf_counter()
        async with client.post(url, data=json.dumps(body), headers=closing) as response:
            content = await response.read()
        received = time.perf_counter()
        offset_ms = latency_ms
        latency_ms += (received - sent) * 1000
        reply = json.loads(content) if response.status == 200 else None
        if reply is None:
            text = content.decode("utf-8", "replace")[:200]
            error = error or f"HTTP {response.status}: {text}"
        elif not _record_reply(reply, offset_ms, seen):
            error = error or json.dumps(_failures(reply)[0])[:200]
    return OperationRecord(
        latency_ms,
        error is None,
        seen["calls"],
        {agency: busy_wall_ms(spans) for agency, spans in seen["intervals"].items()},
        error,
    )


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    operations: list[list[dict[str, Any]]] = spec["operations"]
    concurrency: int = spec["concurrency"]
    records: list[OperationRecord] = []
    print("ready", flush=True)  # the harness times its CPU samples from here
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + spec["warmup_s"]
    stop_at = measure_from + spec["duration_s"]
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        async with _client(spec) as client:
            while loop.time() < stop_at:
                bodies = operations[next_index % len(operations)]
                next_index += 1
                record = await _operation(client, spec["url"], bodies, spec["reconnect"])
                if measure_from <= loop.time() <= stop_at:
                    records.append(record)

    cpu_before = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu_ms = (time.process_time() - cpu_before) * 1000
    return {
        "measured_s": spec["duration_s"],
        "loadgen_cpu_ms": cpu_ms,
        "loadgen_wall_ms": (spec["warmup_s"] + spec["duration_s"]) * 1000,
        "operations": [record.__dict__ for record in records],
    }


def _client(spec: dict[str, Any]) -> aiohttp.ClientSession:
    """One worker's client: a single connection, kept alive unless the server closes it."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1),
        headers={"Content-Type": "application/json", **spec["headers"]},
        timeout=aiohttp.ClientTimeout(total=spec.get("timeout_s", 30.0)),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def main() -> None:
    spec_path, out_path = Path(sys.argv[1]), Path(sys.argv[2])
    result = uvloop.run(run(json.loads(spec_path.read_text())))
    out_path.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
