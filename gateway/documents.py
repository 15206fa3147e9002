"""Parsed, validated GraphQL documents, kept by query text for the gateway's lifetime.

Clients send the same few queries over and over; parsing, validating and working
out the requested coordinates took about half the gateway's CPU per request
(profile of the full-person view, bench/README.md). All three are pure functions
of the query text and the schema, which is fixed for the gateway's life, so their
result is computed once per distinct query. The cache is bounded in entries and
only holds queries up to ``MAX_CACHED_QUERY_CHARS``, so it cannot grow without
limit; failures are not cached (bad queries are rare and answered with an error).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, parse, validate

from gateway.policy import RequestedField
from resolvers.schema import GatewaySchema

MAX_CACHED_DOCUMENTS = 256
MAX_CACHED_QUERY_CHARS = 16_384


class InvalidDocument(Exception):
    """The query does not parse or does not validate against the schema."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PreparedDocument:
    document: DocumentNode
    requested: tuple[RequestedField, ...]


class DocumentCache:
    def __init__(self, schema: GatewaySchema, size: int = MAX_CACHED_DOCUMENTS) -> None:
        self._schema = schema
        self._size = size
        self._documents: OrderedDict[str, PreparedDocument] = OrderedDict()

    def prepare(self, query: str) -> PreparedDocument:
        """The parsed, validated document and the coordinates it asks for.

        Raises ``InvalidDocument`` with GRAPHQL_PARSE_FAILED or GRAPHQL_VALIDATION_FAILED.
        """
        prepared = self._documents.get(query)
        if prepared is not None:
            self._documents.move_to_end(query)
            return prepared
        try:
            document = parse(query)
        except GraphQLError as exc:
            raise InvalidDocument("GRAPHQL_PARSE_FAILED", exc.message) from None
        errors = validate(self._schema.graphql_schema, document)
        if errors:
            raise InvalidDocument(
                "GRAPHQL_VALIDATION_FAILED", "; ".join(e.message for e in errors[:10])
            )
        prepared = PreparedDocument(document, self._schema.requested_fields(document))
        if len(query) <= MAX_CACHED_QUERY_CHARS:
            self._documents[query] = prepared
            if len(self._documents) > self._size:
                self._documents.popitem(last=False)
        return prepared
