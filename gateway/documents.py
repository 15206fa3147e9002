"""Checked GraphQL documents, kept by query text for the gateway's lifetime.

Clients send the same few queries over and over; parsing and validating them
took about half the gateway's CPU per request (profile of the full-person
view, bench/README.md). Parsing, the query limits and validation are pure
functions of the query text, the schema and the configuration, all fixed for
the gateway's life, so a query that passed them once passes again: it is kept.
The cache is bounded in entries and only holds queries up to
``MAX_CACHED_QUERY_CHARS``; queries that fail are never kept (and are answered
with their error every time). The governed coordinates a kept document asks for
(what the policy decides on) are kept with it: walking the document for them was
the largest remaining cost of the request handler's own work.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from graphql import DocumentNode

from resolvers.schema import QueryPlan

MAX_CACHED_DOCUMENTS = 256
MAX_CACHED_QUERY_CHARS = 16_384


@dataclass
class _Checked:
    document: DocumentNode
    plan: QueryPlan | None = None


class DocumentCache:
    def __init__(self, size: int = MAX_CACHED_DOCUMENTS) -> None:
        self._size = size
        self._documents: OrderedDict[str, _Checked] = OrderedDict()

    def get(self, query: str) -> DocumentNode | None:
        checked = self._documents.get(query)
        if checked is None:
            return None
        self._documents.move_to_end(query)
        return checked.document

    def put(self, query: str, document: DocumentNode) -> None:
        """Keep a document that passed every check (least recently used goes first)."""
        if len(query) > MAX_CACHED_QUERY_CHARS:
            return
        self._documents[query] = _Checked(document)
        if len(self._documents) > self._size:
            self._documents.popitem(last=False)

    def plan(
        self,
        query: str,
        document: DocumentNode,
        compute: Callable[[DocumentNode], QueryPlan],
    ) -> QueryPlan:
        """``compute(document)``, worked out once while this very document is kept."""
        checked = self._documents.get(query)
        if checked is None or checked.document is not document:
            return compute(document)
        if checked.plan is None:
            checked.plan = compute(document)
        return checked.plan
