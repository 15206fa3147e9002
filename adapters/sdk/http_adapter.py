"""The base for adapters whose agency system is an HTTP service.

Every such adapter needs the same parts: one pooled :class:`HttpUpstream` for
its base URL, a health check that probes the service, and closing the pool.
Subclasses describe their section, say how to probe (:meth:`probe`) and how to
read the agency's own error documents (:meth:`upstream_error_detail`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from adapters.sdk.contract import Adapter, Health, Identifier, Match
from adapters.sdk.errors import AdapterError, UpstreamBadReply
from adapters.sdk.http import HttpUpstream


@dataclass
class HttpAdapter(Adapter):
    base_url: str
    _upstream: HttpUpstream = field(init=False, repr=False)

    health_path: ClassVar[str] = "/health"

    def __post_init__(self) -> None:
        self._upstream = HttpUpstream(
            self.discover().agency,
            self.base_url,
            self.timeout_s,
            error_detail=self.upstream_error_detail,
        )

    def upstream_error_detail(self, response: httpx.Response) -> str | None:
        """A short, data-free detail from the agency's own error document, if it has one."""
        return None

    async def probe(self) -> str | None:
        """Ask the service whether it is up: None if healthy, else what is wrong.

        Raises :class:`AdapterError` when it cannot be reached or answers badly.
        """
        await self._upstream.json("GET", self.health_path)
        return None

    async def check(self) -> Health:
        try:
            problem = await self.probe()
        except AdapterError as exc:
            return Health(False, exc.detail)
        return Health(problem is None, problem or "")

    async def aclose(self) -> None:
        await self._upstream.aclose()


async def rest_lookup_many(
    agency: str,
    identifier_sets: tuple[tuple[Identifier, ...], ...],
    param_of_scheme: Mapping[str, str],
    post: Callable[[dict[str, Any]], Awaitable[Any]],
    match: Callable[[dict[str, str], Any], Match | None],
) -> list[Match | None]:
    """A batch of REST lookups in one ``POST /<collection>/lookup``; first found wins.

    One query per identifier in a scheme of ``param_of_scheme`` (``{parameter:
    value}``), each person's identifiers in their order; ``post`` sends
    ``{"queries": [...]}`` and returns ``{"results": [[record, ...], ...]}`` (one
    list per query, in order); ``match(query, records)`` reads one query's records
    as the adapter's one-person lookup does.
    """
    asked = [
        (person, {param_of_scheme[ident.scheme]: ident.value})
        for person, identifiers in enumerate(identifier_sets)
        for ident in identifiers
        if ident.scheme in param_of_scheme
    ]
    found: list[Match | None] = [None] * len(identifier_sets)
    if not asked:
        return found
    reply = await post({"queries": [query for _, query in asked]})
    results = reply.get("results") if isinstance(reply, dict) else None
    if not isinstance(results, list) or len(results) != len(asked):
        raise UpstreamBadReply(agency, "batch lookup reply has an unexpected shape")
    for (person, query), records in zip(asked, results, strict=True):
        if found[person] is None:
            found[person] = match(query, records)
    return found
