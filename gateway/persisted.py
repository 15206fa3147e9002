"""Persisted queries: a front end sends a query's sha256 instead of (or with) its text.

The manifest is a JSON object ``{sha256 hex: query text}`` shipped with the
front end's build. Requests use the APQ extension shape
``{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "..."}}}``.
In allow-list mode (production with a manifest) only queries in the manifest
run, so a stolen token cannot be used to send arbitrary queries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config import ConfigError


class PersistedQueryError(Exception):
    """The persisted-query part of the request cannot be honoured; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PersistedQueries:
    queries: Mapping[str, str]
    allow_list_only: bool

    @classmethod
    def load(cls, manifest: Path | None, allow_list_only: bool) -> PersistedQueries:
        if manifest is None:
            return cls({}, allow_list_only=False)
        try:
            entries = json.loads(manifest.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"persisted-query manifest {manifest} is not readable JSON") from exc
        if not isinstance(entries, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in entries.items()
        ):
            raise ConfigError("the persisted-query manifest must map sha256 hashes to queries")
        for digest, query in entries.items():
            if sha256_hex(query) != digest.lower():
                raise ConfigError(f"persisted query {digest[:12]}… does not match its hash")
        return cls({k.lower(): v for k, v in entries.items()}, allow_list_only)

    def resolve(self, query: str | None, extensions: Any) -> str | None:
        """The query text to run, from the request's ``query`` and ``extensions``."""
        digest = _requested_hash(extensions)
        if digest is None:
            if self.allow_list_only and query is not None:
                if sha256_hex(query) in self.queries:
                    return query
                raise PersistedQueryError(
                    "PERSISTED_QUERY_REQUIRED",
                    "this gateway only runs persisted queries: send "
                    "extensions.persistedQuery.sha256Hash of a query in its manifest",
                )
            return query
        if query is not None:
            if sha256_hex(query) != digest:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_HASH_MISMATCH",
                    "extensions.persistedQuery.sha256Hash is not the sha256 of the query",
                )
            if self.allow_list_only and digest not in self.queries:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_ALLOWED", "this query is not in the persisted-query list"
                )
            return query
        known = self.queries.get(digest)
        if known is None:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound: no query with this hash"
            )
        return known


def _requested_hash(extensions: Any) -> str | None:
    if extensions is None:
        return None
    if not isinstance(extensions, dict):
        raise PersistedQueryError("BAD_REQUEST", "'extensions' must be a JSON object")
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if not isinstance(digest, str) or len(digest) != 64:
        raise PersistedQueryError(
            "BAD_REQUEST", "extensions.persistedQuery.sha256Hash must be a sha256 hex string"
        )
    try:
        int(digest, 16)
    except ValueError:
        raise PersistedQueryError(
            "BAD_REQUEST", "extensions.persistedQuery.sha256Hash must be a sha256 hex string"
        ) from None
    return digest.lower()
