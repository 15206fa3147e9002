"""What the conformance kit needs to know about an adapter under test.

An adapter package describes its running upstream once, as a
:class:`ConformanceTarget`: how to build the adapter against it, which people
it holds, how to break it (:class:`FaultInjector`) and how to count the
upstream calls the adapter makes (:mod:`adapters.sdk.conformance.calls`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import httpx

from adapters.sdk.conformance.calls import CallCount, count_http_requests
from adapters.sdk.contract import Adapter, Identifier

Fault = Literal["latency", "outage", "malformed"]
"""``latency``: every reply comes late; ``outage``: the upstream answers only errors
(or is gone); ``malformed``: replies are not valid in the upstream's protocol."""


class FaultInjector(Protocol):
    """Breaks the running upstream on demand, and mends it."""

    @property
    def supported(self) -> frozenset[Fault]:
        """The faults this upstream can be given; the kit says which checks it could not run."""

    async def inject(self, fault: Fault, latency_s: float = 0.0) -> None:
        """Start ``fault`` (``latency_s`` is the delay for ``latency``)."""

    async def clear(self) -> None:
        """Undo every fault started by :meth:`inject`."""


@dataclass
class SimulatorFaults:
    """Faults through a joinedup simulator's ``PUT /_sim/faults`` (every demo simulator
    and every ``joinedup new-adapter`` fixture server has it)."""

    url: str
    _before: dict[str, object] | None = field(default=None, init=False)

    @property
    def supported(self) -> frozenset[Fault]:
        return frozenset({"latency", "outage", "malformed"})

    async def inject(self, fault: Fault, latency_s: float = 0.0) -> None:
        changes: dict[str, dict[str, object]] = {
            "latency": {"latency_ms": latency_s * 1000},
            "outage": {"outage": True},
            "malformed": {"malformed": True},
        }
        change = changes[fault]
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            if self._before is None:
                current = (await client.get("/_sim/faults")).raise_for_status().json()
                self._before = {key: current[key] for key in ("latency_ms", "outage", "malformed")}
            (await client.put("/_sim/faults", json=change)).raise_for_status()

    async def clear(self) -> None:
        if self._before is None:
            return
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as client:
            (await client.put("/_sim/faults", json=self._before)).raise_for_status()
        self._before = None


@dataclass
class DatabaseFileFaults:
    """Faults for an adapter over a database file (e.g. SQLite): the file goes missing
    (``outage``) or is replaced by bytes that are not a database (``malformed``).

    Give it a copy of the database: the kit moves the file while a fault lasts.
    A file cannot be made slow, so ``latency`` is not supported; the deadline
    check still proves the adapter stops when the request's deadline has passed.
    """

    path: Path
    _aside: Path | None = field(default=None, init=False)

    @property
    def supported(self) -> frozenset[Fault]:
        return frozenset({"outage", "malformed"})

    async def inject(self, fault: Fault, latency_s: float = 0.0) -> None:
        if fault not in self.supported:
            raise ValueError(f"a database file cannot be given the fault {fault!r}")
        if self._aside is None:
            self._aside = self.path.with_name(self.path.name + ".conformance-aside")
            shutil.move(self.path, self._aside)
        if fault == "malformed":
            self.path.write_bytes(b"this is not a database file\n" * 64)

    async def clear(self) -> None:
        if self._aside is None:
            return
        self.path.unlink(missing_ok=True)
        shutil.move(self._aside, self.path)
        self._aside = None


@dataclass
class ConformanceTarget:
    """An adapter and the running upstream it is checked against.

    ``make_adapter(timeout_s)`` builds a fresh adapter on the upstream (the kit
    closes it after each check). ``known`` holds, for at least two people the
    upstream has, identifiers the adapter can look them up by (two or more so
    that batching can be checked). ``unknown`` identifies nobody. ``labelled``,
    when given, identifies someone whose record the upstream marks sensitive:
    the kit checks a label reaches the gateway.
    """

    make_adapter: Callable[[float], Adapter]
    known: tuple[tuple[Identifier, ...], ...]
    faults: FaultInjector | None = None
    count_calls: Callable[[], AbstractContextManager[CallCount]] = count_http_requests
    unknown: tuple[Identifier, ...] | None = None
    labelled: tuple[Identifier, ...] | None = None
