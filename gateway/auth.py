"""Authenticate the caller from a bearer JWT.

In demo mode tokens are signed with a local HS256 key that ``joinedup token``
and ``joinedup serve`` share through the state folder. Production key
handling (JWKS, RS256/ES256) builds on :class:`Authenticator`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

ISSUER = "joinedup-dev"
AUDIENCE = "joinedup"
ALGORITHM = "HS256"
CLOCK_SKEW_S = 30
DEFAULT_TOKEN_TTL_S = 8 * 3600


class AuthError(Exception):
    """The request carries no usable credentials; the message is safe to show."""


@dataclass(frozen=True)
class Caller:
    user: str
    org: str
    roles: tuple[str, ...]
    team: str | None

    def as_policy_input(self) -> dict[str, Any]:
        return {"user": self.user, "org": self.org, "roles": list(self.roles), "team": self.team}


def load_dev_key(state_dir: Path) -> bytes:
    """The demo signing key, created on first use and kept private to this user."""
    path = state_dir / "dev-signing-key"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def issue_dev_token(
    key: bytes, user: str, role: str, org: str, team: str | None, ttl_s: int = DEFAULT_TOKEN_TTL_S
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user,
        "org": org,
        "roles": [role],
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
    }
    if team:
        claims["team"] = team
    return jwt.encode(claims, key, algorithm=ALGORITHM)


class Authenticator:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            raise AuthError("missing bearer token: send 'Authorization: Bearer <token>'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError("the Authorization header must be 'Bearer <token>'")
        try:
            claims = jwt.decode(
                token.strip(),
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=CLOCK_SKEW_S,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the bearer token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError("the bearer token is not meant for this gateway (audience)") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError("the bearer token was issued by an untrusted issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("the bearer token's signature is not valid") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"the bearer token is not valid ({type(exc).__name__})") from exc
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise AuthError("the bearer token has no list of roles")
        return Caller(
            user=str(claims["sub"]),
            org=str(claims.get("org", "")),
            roles=tuple(roles),
            team=str(claims["team"]) if claims.get("team") else None,
        )
