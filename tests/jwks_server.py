"""A tiny identity provider for tests: serves a JWKS on loopback and signs tokens.

Keys are generated per test run with ``cryptography``; the served key set can be
replaced at run time (key rotation) and counts how often it was fetched.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.launcher import free_port

ISSUER = "https://idp.joinedup.test"
AUDIENCE = "joinedup"


@dataclass
class SigningKey:
    algorithm: str
    private: Any
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @classmethod
    def rsa(cls) -> SigningKey:
        return cls("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def ec(cls) -> SigningKey:
        return cls("ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        codec = RSAAlgorithm if self.algorithm == "RS256" else ECAlgorithm
        public: dict[str, Any] = json.loads(codec.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def sign(self, kid: str | None = None, **overrides: Any) -> str:
        return jwt.encode(
            claims(**overrides),
            self.private,
            algorithm=self.algorithm,
            headers={"kid": kid or self.kid},
        )


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "idp.user",
        "org": "test-council",
        "roles": ["social_worker"],
        "team": "children-east",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


class JwksServer:
    """Serves ``/jwks.json`` from a uvicorn thread on a loopback port."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = keys
        self.fetches = 0
        self.port = free_port()
        app = Starlette(routes=[Route("/jwks.json", self._jwks)])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    async def _jwks(self, request: Request) -> Response:
        self.fetches += 1
        return JSONResponse({"keys": [k.jwk() for k in self.keys]})

    def start(self) -> JwksServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("JWKS server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
