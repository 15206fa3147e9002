"""MATCH tokens: an opaque reference to the records a demographic search found.

A search lists candidate people; the caller confirms one by passing its token
back as ``person(reference: {scheme: MATCH, value: ...})``. The token names
the matched records only by identifier links (agency, local id, the strong
identifiers the record holds), never agency data, and is an HMAC-signed JWT
(HS256, via PyJWT) that expires after a configured number of minutes and is
bound to the user it was issued to, so it cannot be replayed by someone else.

Keys live in the state folder (``match-token-keys``, one hex key per line, shared
by every gateway process like the audit keys). The first line signs; every line
verifies, each selected by its key id (``kid``). To rotate: put a new key on the
first line, and drop the old one once the token lifetime has passed.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jwt

from adapters.sdk import Identifier
from gateway.audit.keyfile import read_or_create

SCHEME = "MATCH"
KEY_FILE = "match-token-keys"
_ALGORITHM = "HS256"
_TYPE = "joinedup-match"
_NEVER_LINKED = frozenset({"UPN"})
"""Education use only: a token never carries it to another agency."""


class InvalidMatchToken(ValueError):
    """The token was forged, tampered with, expired, or issued to someone else."""


@dataclass(frozen=True)
class RecordLink:
    """One matched record: where it is and the identifiers it holds."""

    agency: str
    local_id: str
    identifiers: tuple[Identifier, ...]


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


class MatchTokens:
    """Issues and verifies MATCH tokens under the keys in the state folder."""

    def __init__(
        self, keys: Sequence[bytes], ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        if not keys:
            raise ValueError("MATCH tokens need at least one key")
        if ttl_s <= 0:
            raise ValueError("MATCH tokens need a positive lifetime")
        self._signing = keys[0]
        self._keys = {_key_id(key): key for key in keys}
        self.ttl_s = ttl_s
        self._clock = clock

    @classmethod
    def from_state_dir(cls, state_dir: Path, ttl_s: float) -> MatchTokens:
        raw = read_or_create(state_dir / KEY_FILE, lambda: secrets.token_hex(32).encode() + b"\n")
        keys = [bytes.fromhex(line.strip()) for line in raw.decode().splitlines() if line.strip()]
        return cls(keys, ttl_s)

    def issue(self, user: str, links: Sequence[RecordLink]) -> str:
        now = int(self._clock())
        claims = {
            "typ": _TYPE,
            "sub": user,
            "iat": now,
            "exp": now + int(self.ttl_s),
            "links": [
                [
                    link.agency,
                    link.local_id,
                    [
                        [i.scheme, i.value]
                        for i in link.identifiers
                        if i.scheme not in _NEVER_LINKED
                    ],
                ]
                for link in links
            ],
        }
        return jwt.encode(
            claims, self._signing, algorithm=_ALGORITHM, headers={"kid": _key_id(self._signing)}
        )

    def verify(self, token: str, user: str) -> tuple[RecordLink, ...]:
        """The links a valid token names; :class:`InvalidMatchToken` with a reason otherwise."""
        try:
            key = self._keys.get(str(jwt.get_unverified_header(token).get("kid")))
            if key is None:
                raise InvalidMatchToken("the match token was not issued by this gateway")
            # Expiry is checked below against our clock (a test may move it).
            claims = jwt.decode(
                token,
                key,
                algorithms=[_ALGORITHM],
                options={"require": ["exp", "iat", "sub"], "verify_exp": False},
            )
        except jwt.InvalidTokenError:
            raise InvalidMatchToken("the match token is not valid (forged or altered)") from None
        if not isinstance(claims["exp"], int) or claims["exp"] <= self._clock():
            raise InvalidMatchToken("the match token has expired: search again")
        if claims.get("typ") != _TYPE or not isinstance(claims.get("links"), list):
            raise InvalidMatchToken("the match token is not valid (forged or altered)")
        if claims["sub"] != user:
            raise InvalidMatchToken("the match token was issued to another user")
        try:
            return tuple(
                RecordLink(
                    str(agency),
                    str(local_id),
                    tuple(Identifier(str(s), str(v)) for s, v in identifiers),
                )
                for agency, local_id, identifiers in claims["links"]
            )
        except (TypeError, ValueError):
            raise InvalidMatchToken("the match token is not valid (forged or altered)") from None
