"""A cache of identity links: which record in each agency a reference resolved to.

Resolving a person means a lookup (and perhaps a search) in every agency; a
caseworker asks about the same person many times in a session. The cache keeps
only identifiers and how surely they were linked, never demographics or agency
data, and forgets each entry after ``ttl_s``. It is off unless configured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from adapters.sdk import Identifier, Match


@dataclass(frozen=True)
class _Entry:
    expires: float
    matches: Mapping[str, Match]


class LinkCache:
    """Reference → per-agency matches (identifiers only), each entry for ``ttl_s`` seconds."""

    def __init__(
        self, ttl_s: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("a link cache needs a positive TTL (leave it out to disable)")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[Identifier, _Entry] = {}

    def get(self, reference: Identifier) -> Mapping[str, Match] | None:
        entry = self._entries.get(reference)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            del self._entries[reference]
            return None
        return entry.matches

    def put(self, reference: Identifier, matches: Mapping[str, Match]) -> None:
        """Keep the links with their demographics stripped: identifiers only."""
        if len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))
        links = {agency: replace(m, demographics=None) for agency, m in matches.items()}
        self._entries[reference] = _Entry(self._clock() + self.ttl_s, links)
