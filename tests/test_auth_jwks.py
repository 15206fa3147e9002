"""Production authentication: RS256/ES256 tokens verified with keys from a JWKS URL.

A real identity provider stand-in serves the key set on loopback; tokens are
signed with keys generated for the run.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.auth import issue_dev_token, load_dev_key
from gateway.config import AuthSettings
from gateway.purposes import PURPOSE_HEADER
from simulators.launcher import SimulatorProcess, free_port
from simulators.world import WorldPaths
from tests.inprocess import config_for, gateway_client
from tests.jwks_server import AUDIENCE, ISSUER, JwksServer, SigningKey, claims

QUERY = {"query": "{ purposes { id } }"}
MIN_REFRESH_S = 0.5


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.rsa()


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey.ec()


@pytest.fixture(scope="module")
def idp(rsa_key: SigningKey, ec_key: SigningKey) -> Iterator[JwksServer]:
    server = JwksServer([rsa_key, ec_key]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def client(
    tmp_path_factory: pytest.TempPathFactory,
    world: WorldPaths,
    benefits: SimulatorProcess,
    idp: JwksServer,
) -> AsyncIterator[httpx.AsyncClient]:
    config = config_for(
        tmp_path_factory.mktemp("production"),
        world,
        benefits.url,
        mode="production",
        auth=AuthSettings(
            jwks_url=idp.url, issuer=ISSUER, audience=AUDIENCE, jwks_min_refresh_s=MIN_REFRESH_S
        ),
    )
    async with gateway_client(config) as client:
        yield client


async def post(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = {PURPOSE_HEADER: "early_help"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json=QUERY, headers=headers)


def assert_401(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in error["message"]


@pytest.mark.parametrize("key_name", ["rsa_key", "ec_key"])
async def test_tokens_signed_by_the_identity_provider_are_accepted(
    client: httpx.AsyncClient, request: pytest.FixtureRequest, key_name: str
) -> None:
    key: SigningKey = request.getfixturevalue(key_name)

    response = await post(client, key.sign())

    assert response.status_code == 200, response.text
    assert response.json()["data"]["purposes"]


async def test_not_before_within_the_clock_skew_is_accepted(
    client: httpx.AsyncClient, rsa_key: SigningKey
) -> None:
    response = await post(client, rsa_key.sign(nbf=int(time.time()) + 10))

    assert response.status_code == 200


def hs256_signed_with_public_key(key: SigningKey) -> str:
    """The classic confusion attack, built by hand (PyJWT refuses to sign it)."""
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def b64(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    payload = b64(json.dumps(claims()).encode())
    signature = b64(hmac.new(pem, header + b"." + payload, hashlib.sha256).digest())
    return (header + b"." + payload + b"." + signature).decode()


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda k, e: k.sign(exp=int(time.time()) - 3600), "expired"),
        (lambda k, e: k.sign(nbf=int(time.time()) + 3600), "not valid yet"),
        (lambda k, e: k.sign(aud="another-service"), "audience"),
        (lambda k, e: k.sign(iss="https://evil.example"), "untrusted issuer"),
        (lambda k, e: k.sign(exp=None), "lacks the 'exp' claim"),
        (lambda k, e: "not.a.jwt", "not valid"),
        (lambda k, e: k.sign()[:-12] + "AAAAAAAAAAAA", "signature"),
        (
            lambda k, e: jwt.encode({"sub": "x"}, None, algorithm="none", headers={"kid": k.kid}),
            "algorithm 'none' is not accepted",
        ),
        # Algorithm confusion: HMAC "signed" with the provider's public key as the secret.
        (lambda k, e: hs256_signed_with_public_key(k), "algorithm 'HS256' is not accepted"),
        # An RS256 token that names the EC key.
        (lambda k, e: k.sign(kid=e.kid), "does not match its signing key"),
        (lambda k, e: k.sign(kid="no-such-key"), "signing key (kid) is not known"),
        (
            lambda k, e: jwt.encode(
                {"sub": "x"},
                SigningKey.rsa().private,
                algorithm="RS256",
            ),
            "names no signing key",
        ),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "audience",
        "issuer",
        "no-exp",
        "malformed",
        "bad-signature",
        "alg-none",
        "hs256-confusion",
        "key-type-mismatch",
        "unknown-kid",
        "no-kid",
    ],
)
async def test_bad_tokens_get_401_with_a_clear_message(
    client: httpx.AsyncClient,
    rsa_key: SigningKey,
    ec_key: SigningKey,
    make_token: object,
    message: str,
) -> None:
    token = make_token(rsa_key, ec_key)  # type: ignore[operator]

    assert_401(await post(client, token), message)


async def test_dev_tokens_are_refused_in_production(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    token = issue_dev_token(load_dev_key(tmp_path), "u", "social_worker", "o", None)

    assert_401(await post(client, token), "algorithm 'HS256' is not accepted")


async def test_key_rotation_is_picked_up_from_the_jwks(
    client: httpx.AsyncClient, idp: JwksServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    rotated = SigningKey.rsa()
    idp.keys = [rotated, rsa_key, ec_key]
    await asyncio.sleep(MIN_REFRESH_S + 0.1)  # past the refresh cool-down

    response = await post(client, rotated.sign())

    assert response.status_code == 200, response.text


async def test_unknown_kids_do_not_hammer_the_identity_provider(
    client: httpx.AsyncClient, idp: JwksServer, rsa_key: SigningKey
) -> None:
    await asyncio.sleep(MIN_REFRESH_S + 0.1)
    before = idp.fetches

    for n in range(20):
        assert_401(await post(client, rsa_key.sign(kid=f"random-{n}")), "not known")

    assert idp.fetches - before <= 1


async def test_unreachable_jwks_is_503_not_401(
    tmp_path: Path, world: WorldPaths, benefits: SimulatorProcess, rsa_key: SigningKey
) -> None:
    config = config_for(
        tmp_path,
        world,
        benefits.url,
        mode="production",
        auth=AuthSettings(
            jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json", issuer=ISSUER, audience=AUDIENCE
        ),
    )
    async with gateway_client(config) as client:
        response = await post(client, rsa_key.sign())

    assert response.status_code == 503
    assert response.json()["errors"][0]["extensions"]["code"] == "AUTH_UNAVAILABLE"
