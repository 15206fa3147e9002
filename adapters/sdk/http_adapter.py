"""The base for adapters whose agency system is an HTTP service.

Every such adapter needs the same parts: one pooled :class:`HttpUpstream` for
its base URL, a health check that probes the service, and closing the pool.
Subclasses describe their section, say how to probe (:meth:`probe`) and how to
read the agency's own error documents (:meth:`upstream_error_detail`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

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
    return await _rest_batch_lookup(
        agency,
        identifier_sets,
        param_of_scheme,
        post,
        lambda query, summaries, _: match(query, summaries),
        with_records=False,
    )


async def rest_lookup_and_read_many(
    agency: str,
    identifier_sets: tuple[tuple[Identifier, ...], ...],
    param_of_scheme: Mapping[str, str],
    post: Callable[[dict[str, Any]], Awaitable[Any]],
    match: Callable[[dict[str, str], Any], Match | None],
    sections: Callable[[Any], Mapping[str, Mapping[str, Any]]],
) -> list[tuple[Match, Mapping[str, Any]] | None]:
    """:func:`rest_lookup_many` that also reads each person found, in the same one call.

    The queries go with ``"records": true``, so the reply carries, besides ``results``,
    ``"records": [[whole record, ...], ...]`` parallel to it. Each person's match is
    picked exactly as :func:`rest_lookup_many` picks it; ``sections(records)`` reads the
    whole records of the query that found them as the adapter's ``read`` does (``{local
    id: section}``, only the fields asked for), and the matched local id's section goes
    with the match. Keying by local id, rather than by position, keeps ``match`` free to
    pick any of a query's records.
    """

    def matched_and_read(
        query: dict[str, str], summaries: Any, records: Any
    ) -> tuple[Match, Mapping[str, Any]] | None:
        matched = match(query, summaries)
        if matched is None:
            return None
        section = sections(records).get(matched.local_id)
        if section is None:
            raise UpstreamBadReply(agency, "batch lookup reply lacks the matched record")
        return matched, section

    return await _rest_batch_lookup(
        agency, identifier_sets, param_of_scheme, post, matched_and_read, with_records=True
    )


_Found = TypeVar("_Found")


async def _rest_batch_lookup(
    agency: str,
    identifier_sets: tuple[tuple[Identifier, ...], ...],
    param_of_scheme: Mapping[str, str],
    post: Callable[[dict[str, Any]], Awaitable[Any]],
    find: Callable[[dict[str, str], Any, Any], _Found | None],
    *,
    with_records: bool,
) -> list[_Found | None]:
    """The one ``POST /<collection>/lookup`` behind both batch lookups; first found wins.

    ``find(query, summaries, records)`` reads one query's answer: its summaries from
    ``results`` and, ``with_records``, its whole records (else None). It is not asked about
    a person an earlier identifier of theirs already found.
    """
    asked = [
        (person, {param_of_scheme[ident.scheme]: ident.value})
        for person, identifiers in enumerate(identifier_sets)
        for ident in identifiers
        if ident.scheme in param_of_scheme
    ]
    found: list[_Found | None] = [None] * len(identifier_sets)
    if not asked:
        return found
    body: dict[str, Any] = {"queries": [query for _, query in asked]}
    if with_records:
        body["records"] = True
    reply = await post(body)
    results = reply.get("results") if isinstance(reply, dict) else None
    if not isinstance(results, list) or len(results) != len(asked):
        raise UpstreamBadReply(agency, "batch lookup reply has an unexpected shape")
    records: list[Any] = [None] * len(asked)
    if with_records:
        records = reply.get("records")
        if not _parallel(results, records):
            raise UpstreamBadReply(agency, "batch lookup records do not match its results")
    for (person, query), summaries, held in zip(asked, results, records, strict=True):
        if found[person] is None:
            found[person] = find(query, summaries, held)
    return found


def _parallel(results: list[Any], records: Any) -> bool:
    """Whether ``records`` holds, per query, as many records as ``results`` has summaries."""
    return (
        isinstance(records, list)
        and len(records) == len(results)
        and all(
            isinstance(summaries, list) and isinstance(held, list) and len(held) == len(summaries)
            for summaries, held in zip(results, records, strict=True)
        )
    )
