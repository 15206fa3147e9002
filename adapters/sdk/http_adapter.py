"""The base for adapters whose agency system is an HTTP service.

Every such adapter needs the same parts: one pooled :class:`HttpUpstream` for
its base URL, a health check that probes the service, and closing the pool.
Subclasses describe their section, say how to probe (:meth:`probe`) and how to
read the agency's own error documents (:meth:`upstream_error_detail`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


_Found = TypeVar("_Found")


@dataclass(frozen=True)
class RestLookups:
    """Batch lookups in a REST collection answering ``POST /<collection>/lookup`` (the demo's
    REST services): a batch of people in one call, with or without the records found.

    One query per identifier in a scheme of ``param_of_scheme`` (``{parameter: value}``),
    each person's identifiers in their order, the first found winning; the reply is
    ``{"results": [[summary, ...], ...]}``, one list per query, in order, and, asked with
    ``"records": true``, ``"records": [[whole record, ...], ...]`` parallel to it.
    ``match(query, summaries)`` reads one query's summaries as the adapter's one-person
    lookup does; ``sections({collection: records}, fields)`` reads whole records as the
    adapter's ``read`` does (``{local id: section}``, only the fields asked for).
    """

    agency: str
    collection: str
    param_of_scheme: Mapping[str, str]
    match: Callable[[Mapping[str, str], Any], Match | None]
    sections: Callable[[Any, frozenset[str]], Mapping[str, Mapping[str, Any]]]

    async def lookup_many(
        self, upstream: HttpUpstream, identifier_sets: tuple[tuple[Identifier, ...], ...]
    ) -> list[Match | None]:
        """:meth:`Adapter.lookup_many`: the people's matches."""
        return await self._batch(
            upstream,
            identifier_sets,
            lambda query, summaries, _: self.match(query, summaries),
            with_records=False,
        )

    async def lookup_and_read_many(
        self,
        upstream: HttpUpstream,
        identifier_sets: tuple[tuple[Identifier, ...], ...],
        fields: frozenset[str],
    ) -> list[tuple[Match, Mapping[str, Any]] | None]:
        """:meth:`Adapter.lookup_and_read_many`: each match with the section of ``fields`` of
        the record that matched, picked by local id (``match`` may pick any of a query's)."""

        def matched_and_read(
            query: Mapping[str, str], summaries: Any, records: Any
        ) -> tuple[Match, Mapping[str, Any]] | None:
            matched = self.match(query, summaries)
            if matched is None:
                return None
            section = self.sections({self.collection: records}, fields).get(matched.local_id)
            if section is None:
                raise UpstreamBadReply(self.agency, "batch lookup reply lacks the matched record")
            return matched, section

        return await self._batch(upstream, identifier_sets, matched_and_read, with_records=True)

    async def _batch(
        self,
        upstream: HttpUpstream,
        identifier_sets: tuple[tuple[Identifier, ...], ...],
        find: Callable[[Mapping[str, str], Any, Any], _Found | None],
        *,
        with_records: bool,
    ) -> list[_Found | None]:
        """The one ``POST /<collection>/lookup`` behind both batch lookups.

        ``find(query, summaries, records)`` reads one query's answer: its summaries and,
        ``with_records``, its whole records (else None). It is not asked about a person an
        earlier identifier of theirs already found.
        """
        asked = [
            (person, {self.param_of_scheme[ident.scheme]: ident.value})
            for person, identifiers in enumerate(identifier_sets)
            for ident in identifiers
            if ident.scheme in self.param_of_scheme
        ]
        found: list[_Found | None] = [None] * len(identifier_sets)
        if not asked:
            return found
        body: dict[str, Any] = {"queries": [query for _, query in asked]}
        if with_records:
            body["records"] = True
        reply = await upstream.json("POST", f"/{self.collection}/lookup", json=body)
        results = reply.get("results") if isinstance(reply, dict) else None
        if not isinstance(results, list) or len(results) != len(asked):
            raise UpstreamBadReply(self.agency, "batch lookup reply has an unexpected shape")
        records: list[Any] = [None] * len(asked)
        if with_records:
            records = reply.get("records")
            if not _parallel(results, records):
                raise UpstreamBadReply(self.agency, "batch lookup records do not match its results")
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
