"""Bearer tokens: dev tokens from the CLI work; anything else is a clear 401."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import jwt
import pytest

from gateway.auth import AUDIENCE, ISSUER, load_dev_key
from gateway.purposes import PURPOSE_HEADER
from tests.conftest import GatewayProcess

QUERY = {"query": "{ purposes { id } }"}


def post(gateway: GatewayProcess, authorization: str | None) -> httpx.Response:
    headers = {PURPOSE_HEADER: "early_help"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.post(gateway.url + "/graphql", json=QUERY, headers=headers)


def test_token_printed_by_cli_is_accepted(gateway: GatewayProcess) -> None:
    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "token",
            "--state-dir",
            str(gateway.state_dir),
            "--user",
            "amy",
            "--role",
            "keyworker",
            "--org",
            "council",
            "--team",
            "early-help",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()

    response = post(gateway, f"Bearer {token}")

    assert response.status_code == 200
    assert "safeguarding_children" in {p["id"] for p in response.json()["data"]["purposes"]}


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "u",
        "roles": ["keyworker"],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("make_header", "message"),
    [
        (lambda key: None, "missing bearer token"),
        (lambda key: "Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
        (lambda key: "Bearer not.a.jwt", "not valid"),
        (lambda key: "Bearer " + jwt.encode(claims(exp=int(time.time()) - 3600), key), "expired"),
        (lambda key: "Bearer " + jwt.encode(claims(aud="someone-else"), key), "audience"),
        (lambda key: "Bearer " + jwt.encode(claims(iss="evil"), key), "untrusted issuer"),
        (
            lambda key: "Bearer " + jwt.encode(claims(), b"another-key-of-32-bytes-length!!"),
            "signature",
        ),
        (
            lambda key: "Bearer " + jwt.encode(claims(), None, algorithm="none"),
            "algorithm 'none' is not accepted",
        ),
        (lambda key: "Bearer " + jwt.encode(claims(roles="admin"), key), "no list of roles"),
        (lambda key: "Bearer " + jwt.encode(claims(exp=None), key), "lacks the 'exp' claim"),
        (
            lambda key: "Bearer " + jwt.encode(claims(nbf=int(time.time()) + 3600), key),
            "not valid yet",
        ),
    ],
    ids=[
        "missing",
        "basic",
        "garbage",
        "expired",
        "audience",
        "issuer",
        "signature",
        "alg-none",
        "roles",
        "no-exp",
        "not-yet-valid",
    ],
)
def test_bad_credentials_get_401_with_clear_message(
    gateway: GatewayProcess, make_header: object, message: str
) -> None:
    header = make_header(load_dev_key(gateway.state_dir))  # type: ignore[operator]

    response = post(gateway, header)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in error["message"]
