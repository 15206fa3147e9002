"""Decision latency: embedded (regopy) vs OPA server, for 10, 30, 100 and 300 fields.

Run with ``make bench-policy``. For each size, in the same run:

- cold: the first decision for a roles/purpose after a (re)load, when the
  embedded engine decides the whole field catalogue for it;
- stream: a realistic mix of requests after a (re)load: different people
  (matched by identifier or by demographics, scored by the project's match
  model), different field selections, five roles each with its purpose,
  occasional break-glass and consent overrides; reported for its first
  requests (the memo filling up) and for the same number after it has run
  a while (steady);
- repeat: one request asked again and again;
- whole: the request decision evaluated at once, nothing remembered (what
  every decision cost before the embedded engine remembered decided parts);
- OPA server: the same stream's requests decided by the OPA server engine.

The embedded engine runs as the gateway runs it, with the hot-reload check
before each decision. Figures are medians (p50) and p99 in milliseconds, with
ratios against the OPA server from the same run and per-field growth.
Selections above the catalogue's size add coordinates from a fixed pool of
uncatalogued ones (a larger schema; decided by the same rules).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import math
import os
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from gateway.identity.comparisons import COMPARISONS
from gateway.identity.matching import load_model
from gateway.policy import DecisionInput, PersonContext, RequestedField
from gateway.policy.bundle import data_document, fingerprint
from gateway.policy.embedded import DECISION, EmbeddedEngine
from gateway.policy.memo import DecisionMemo
from gateway.policy.opa_server import OpaServerEngine
from simulators.launcher import free_port

POLICIES = Path(__file__).resolve().parent.parent / "policies"
SIZES = (10, 30, 100, 300)
COLD_ROUNDS = 15
STREAM = 1500
STEADY_AFTER = 4500
OPA_ROUNDS = 300
WHOLE_ROUNDS = 60
REPEAT_ROUNDS = 500
UNCATALOGUED_POOL = 400
CALLERS = (
    ("social_worker", "safeguarding_children"),
    ("keyworker", "early_help"),
    ("benefits_officer", "benefit_assessment"),
    ("gp", "direct_care"),
    ("data_protection_officer", "audit_review"),
)
DATA = data_document(POLICIES)
AGENCIES = sorted(a for a, doc in DATA["agencies"].items() if not doc.get("accountability"))
CATALOGUE = [RequestedField("Person.reference", None)] + [
    field
    for agency, document in sorted(DATA["agencies"].items())
    for field in [
        RequestedField(f"Person.{agency}", agency),
        *(RequestedField(c, agency) for c in document["fields"]),
    ]
]
POOL = [
    RequestedField(f"{field.coordinate}X{n}", field.agency)
    for n, field in zip(range(UNCATALOGUED_POOL), itertools.cycle(CATALOGUE[1:]), strict=False)
]


def demographic_confidences() -> tuple[list[float], list[float]]:
    """Match probabilities the project's model gives true matches it accepts (>= 0.9),
    with how likely each comparison vector is for a true match."""
    model = load_model()
    names = list(COMPARISONS)
    values, weights = [], []
    for levels in itertools.product(*(model.m[name] for name in names)):
        weight = math.log2(model.prior / (1 - model.prior))
        likelihood = 1.0
        for name, level in zip(names, levels, strict=True):
            weight += math.log2(model.m[name][level] / model.u[name][level])
            likelihood *= model.m[name][level]
        probability = 1 / (1 + 2 ** (-weight))
        if probability >= 0.9:
            values.append(probability)
            weights.append(likelihood)
    return values, weights


def stream(size: int, seed: int) -> Iterator[DecisionInput]:
    """Requests as the gateway sees them: one to three people each, fields drawn
    from the catalogue (and the uncatalogued pool above its size)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    confidences, likelihoods = demographic_confidences()
    people = itertools.count()
    while True:
        role, purpose = rng.choice(CALLERS)
        if size <= len(CATALOGUE):
            fields = rng.sample(CATALOGUE, size)
        else:
            fields = CATALOGUE + rng.sample(POOL, size - len(CATALOGUE))
        persons = []
        for _ in range(rng.choices((1, 2, 3), (80, 15, 5))[0]):
            consent = rng.choices(("given", None, "refused", "withdrawn"), (60, 25, 10, 5))[0]
            found = [a for a in AGENCIES if rng.random() < 0.6] or [rng.choice(AGENCIES)]
            persons.append(
                PersonContext(
                    f"NI_NUMBER:QQ{next(people):06d}A",
                    {
                        agency: 1.0
                        if rng.random() < 0.7
                        else rng.choices(confidences, likelihoods)[0]
                        for agency in found
                    },
                    rng.random() < 0.7,
                    {purpose: consent} if consent else {},
                )
            )
        draw = rng.random()
        yield DecisionInput(
            {"user": f"user{rng.randrange(200)}", "org": "o", "roles": [role], "team": "t"},
            purpose,
            tuple(fields),
            tuple(persons),
            break_glass_reason=f"emergency {rng.random()}" if draw < 0.01 else None,
            consent_override_reason="section 47 enquiry" if 0.01 <= draw < 0.03 else None,
        )


def forget(engine: EmbeddedEngine) -> None:
    """The state right after a (re)load: the compiled policy with nothing remembered."""
    engine._compiled = dataclasses.replace(engine._compiled, memo=DecisionMemo())


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


@dataclasses.dataclass
class Row:
    size: int
    cold: float
    stream_p50: float
    stream_p99: float
    evaluated: float
    steady_p50: float
    steady_p99: float
    steady_evaluated: float
    repeat: float
    whole: float
    opa: float


async def measure_size(embedded: EmbeddedEngine, opa: OpaServerEngine, size: int) -> Row:
    cold = []
    for request in itertools.islice(stream(size, seed=size), COLD_ROUNDS):
        forget(embedded)
        cold.append(await timed(functools.partial(embedded.decide, request)))

    forget(embedded)
    requests = list(itertools.islice(stream(size, seed=size + 1), STEADY_AFTER + STREAM))
    evaluations = 0
    evaluate = embedded._evaluate

    def counted(compiled: Any, entrypoint: str, document: dict[str, Any]) -> dict[str, Any]:
        nonlocal evaluations
        evaluations += 1
        return evaluate(compiled, entrypoint, document)

    embedded._evaluate = counted  # type: ignore[method-assign]
    mixed = [await timed(functools.partial(embedded.decide, r)) for r in requests[:STREAM]]
    evaluated = evaluations / STREAM
    for request in requests[STREAM:STEADY_AFTER]:
        await embedded.decide(request)
    evaluations = 0
    steady = [await timed(functools.partial(embedded.decide, r)) for r in requests[STEADY_AFTER:]]
    embedded._evaluate = evaluate  # type: ignore[method-assign]

    repeated = requests[-1]
    repeat = [await timed(lambda: embedded.decide(repeated)) for _ in range(REPEAT_ROUNDS)]
    whole = []
    for request in requests[:WHOLE_ROUNDS]:
        document = request.as_json()
        started = time.perf_counter()
        embedded.evaluate(DECISION, document)
        whole.append((time.perf_counter() - started) * 1000)
    for request in requests[:10]:  # warm the connection
        await opa.decide(request)
    theirs = [await timed(functools.partial(opa.decide, r)) for r in requests[:OPA_ROUNDS]]
    return Row(
        size,
        p50(cold),
        p50(mixed),
        p99(mixed),
        evaluated,
        p50(steady),
        p99(steady),
        evaluations / STREAM,
        p50(repeat),
        p50(whole),
        p50(theirs),
    )


async def measure() -> None:
    embedded = EmbeddedEngine(POLICIES, hot_reload=True)
    opa = OpaServerEngine.start(POLICIES, free_port())
    try:
        rows = [await measure_size(embedded, opa, size) for size in SIZES]
    finally:
        await opa.aclose()
    stats = []
    for _ in range(2000):
        started = time.perf_counter()
        fingerprint(POLICIES)
        stats.append(time.perf_counter() - started)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(
        f"load average {os.getloadavg()[0]:.1f}; stream of {STREAM} requests per size"
        f" ({OPA_ROUNDS} of them to the OPA server); times in ms"
    )
    print(
        f"{'':>6} {'':>7} {'stream from reload':>24} {'stream steady':>24}"
        f" {'':>7} {'':>7} {'':>8} {'ratios to OPA p50':>23}"
    )
    print(
        f"{'fields':>6} {'cold':>7} {'p50':>7} {'p99':>7} {'evals':>8} {'p50':>7} {'p99':>7}"
        f" {'evals':>8} {'repeat':>7} {'whole':>7} {'OPA p50':>8}"
        f" {'stream':>7} {'steady':>7} {'whole':>7}"
    )
    for r in rows:
        print(
            f"{r.size:>6} {r.cold:>7.2f} {r.stream_p50:>7.3f} {r.stream_p99:>7.2f}"
            f" {r.evaluated:>8.2f} {r.steady_p50:>7.3f} {r.steady_p99:>7.2f}"
            f" {r.steady_evaluated:>8.2f} {r.repeat:>7.3f} {r.whole:>7.2f} {r.opa:>8.2f}"
            f" {r.stream_p50 / r.opa:>7.3f} {r.steady_p50 / r.opa:>7.3f} {r.whole / r.opa:>7.2f}"
        )
    print("  cold: first decision for a roles/purpose after a reload (whole catalogue decided);")
    print(f"  stream: embedded decide() over {STREAM} mixed requests from a reload; steady: the")
    print(f"  {STREAM} after the first {STEADY_AFTER}; evals: Rego evaluations per request;")
    print("  repeat: one request again; whole: the decision evaluated at once, nothing remembered")
    print("growth per step (time ratio / field ratio; 1.0 = linear):")
    for a, b in itertools.pairwise(rows):
        scale = b.size / a.size
        print(
            f"  {a.size}->{b.size}: stream {b.stream_p50 / a.stream_p50 / scale:.2f},"
            f" steady {b.steady_p50 / a.steady_p50 / scale:.2f},"
            f" whole {b.whole / a.whole / scale:.2f}, OPA server {b.opa / a.opa / scale:.2f}"
        )
    print(
        f"hot-reload check (stat of every policy file, at most once per reload interval):"
        f" p50 {p50(stats) * 1e6:.0f} us"
    )


if __name__ == "__main__":
    asyncio.run(measure())
