"""How a person's identifier is written to the audit: in clear, or as a keyed hash.

The identifier a request looked the person up by follows the field catalogue
(``policies/data.json``, ``audit.identifiers``): a scheme marked ``"clear"`` is
stored as given; every other scheme, including any the catalogue does not
name, is stored as ``hmac-sha256:<hex>`` of ``SCHEME:VALUE`` under a key kept
in the state folder (``audit-identifier-key``). Identifiers the gateway
resolved the person to are always hashed (see :meth:`IdentifierPolicy.resolved`).
A keyed hash, not a plain one, because national identifiers have few enough
values to be guessed by hashing them all. The
same key lets the audit tools find a person's records from their identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.keyfile import read_or_create

KEY_FILE = "audit-identifier-key"
HASH_PREFIX = "hmac-sha256:"


@dataclass(frozen=True)
class StoredIdentifier:
    scheme: str
    ref: str
    hashed: bool


class IdentifierPolicy:
    def __init__(self, key: bytes, clear_schemes: frozenset[str]) -> None:
        self._key = key
        self.clear_schemes = clear_schemes

    @classmethod
    def load(cls, state_dir: Path, policy_dir: Path) -> IdentifierPolicy:
        return cls(_load_key(state_dir), clear_schemes(policy_dir))

    def stored(self, scheme: str, value: str) -> StoredIdentifier:
        if scheme in self.clear_schemes:
            return StoredIdentifier(scheme, value, hashed=False)
        return StoredIdentifier(scheme, self.hashed(scheme, value), hashed=True)

    def resolved(self, scheme: str, value: str) -> str:
        """``SCHEME:hmac-sha256:<hex>``: an identifier the agencies resolved the person to.

        Always hashed, whatever the catalogue says: the caller did not give it
        and may not be entitled to see it, and the audit must not hold what
        policy withheld.
        """
        return f"{scheme}:{self.hashed(scheme, value)}"

    def hashed(self, scheme: str, value: str) -> str:
        digest = hmac.new(self._key, f"{scheme}:{value}".encode(), hashlib.sha256).hexdigest()
        return HASH_PREFIX + digest


def clear_schemes(policy_dir: Path) -> frozenset[str]:
    catalogue = json.loads((policy_dir / "data.json").read_text())
    rules: Mapping[str, str] = catalogue.get("audit", {}).get("identifiers", {})
    return frozenset(scheme for scheme, rule in rules.items() if rule == "clear")


def _load_key(state_dir: Path) -> bytes:
    return read_or_create(state_dir / KEY_FILE, lambda: secrets.token_bytes(32))
