"""Authenticate the caller from a bearer JWT.

Production: tokens signed RS256 or ES256 by the identity provider, whose public
keys come from its JWKS URL (PyJWT's ``PyJWKClient``: cached, re-fetched when a
token names an unknown ``kid``, at most once per cool-down so random ``kid``s
cannot hammer the provider). Issuer, audience, expiry and not-before are
checked with a bounded clock skew. The algorithm is taken from a fixed list and
must match the key, so an HS256 token cannot be verified with a public key
(algorithm confusion) and ``alg: none`` is refused.

Demo mode additionally accepts tokens signed with a local HS256 key that
``joinedup token`` and ``joinedup serve`` share through the state folder; in
production mode that key is never loaded.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from gateway.config import AuthSettings

ISSUER = "joinedup-dev"
AUDIENCE = "joinedup"
ALGORITHM = "HS256"
JWKS_ALGORITHMS = ("RS256", "ES256")
DEFAULT_TOKEN_TTL_S = 8 * 3600


class AuthError(Exception):
    """The request carries no usable credentials; the message is safe to show."""


class AuthUnavailable(AuthError):
    """The token could not be checked because the key service did not answer."""


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
    """Verifies bearer tokens: JWKS keys if configured, the dev key if given (demo only)."""

    def __init__(self, settings: AuthSettings, dev_key: bytes | None) -> None:
        self._settings = settings
        self._dev_key = dev_key
        self._jwks = (
            jwt.PyJWKClient(
                settings.jwks_url,
                cache_keys=False,
                lifespan=settings.jwks_cache_s,
                timeout=5,
                cooldown_duration=settings.jwks_min_refresh_s,
            )
            if settings.jwks_url
            else None
        )

    async def authenticate(self, authorization: str | None) -> Caller:
        if not authorization:
            raise AuthError("missing bearer token: send 'Authorization: Bearer <token>'")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("the Authorization header must be 'Bearer <token>'")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"the bearer token is not valid ({type(exc).__name__})") from exc
        algorithm = header.get("alg")
        if algorithm == ALGORITHM and self._dev_key is not None:
            key: Any = self._dev_key
            issuer = ISSUER
            audience = AUDIENCE
        elif algorithm in JWKS_ALGORITHMS and self._jwks is not None:
            key = await self._signing_key(header, algorithm)
            issuer = self._settings.issuer or ""
            audience = self._settings.audience
        else:
            accepted = ([ALGORITHM] if self._dev_key is not None else []) + (
                list(JWKS_ALGORITHMS) if self._jwks is not None else []
            )
            raise AuthError(
                f"the bearer token's algorithm {str(algorithm)[:16]!r} is not accepted here "
                f"(accepted: {', '.join(accepted) or 'none'})"
            )
        return _caller(self._verify(token, key, algorithm, issuer, audience))

    async def _signing_key(self, header: dict[str, Any], algorithm: str) -> Any:
        assert self._jwks is not None
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("the bearer token names no signing key (kid)")
        try:
            signing_key = await asyncio.to_thread(self._jwks.get_signing_key, kid)
        except jwt.PyJWKClientConnectionError as exc:
            raise AuthUnavailable(
                "the identity provider's signing keys could not be fetched"
            ) from exc
        except jwt.PyJWKClientError as exc:
            raise AuthError("the bearer token's signing key (kid) is not known") from exc
        if signing_key.algorithm_name != algorithm:
            raise AuthError("the bearer token's algorithm does not match its signing key")
        return signing_key.key

    def _verify(
        self, token: str, key: Any, algorithm: str, issuer: str, audience: str
    ) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=audience,
                issuer=issuer,
                leeway=self._settings.clock_skew_s,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the bearer token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("the bearer token is not valid yet (nbf)") from exc
        except jwt.InvalidAudienceError as exc:
            raise AuthError("the bearer token is not meant for this gateway (audience)") from exc
        except jwt.InvalidIssuerError as exc:
            raise AuthError("the bearer token was issued by an untrusted issuer") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("the bearer token's signature is not valid") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"the bearer token lacks the '{exc.claim}' claim") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"the bearer token is not valid ({type(exc).__name__})") from exc
        return claims


def _caller(claims: dict[str, Any]) -> Caller:
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise AuthError("the bearer token has no list of roles")
    return Caller(
        user=str(claims["sub"]),
        org=str(claims.get("org", "")),
        roles=tuple(roles),
        team=str(claims["team"]) if claims.get("team") else None,
    )
