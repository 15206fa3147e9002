"""Demo sign-in for the caseworker page: pick a demo user, get a dev token.

Demo mode only (``GatewayConfig.mode``): anyone who can reach the gateway
could become any demo user, which is the point of a demo and never acceptable
in production, where tokens come from the organisation's identity provider.
The users are a small data file; their roles are the roles in the policy data.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.auth import issue_dev_token, load_dev_key
from gateway.runtime import Gateway

DEMO_USERS_FILE = Path(__file__).resolve().parent / "demo_users.json"
DEMO_TOKEN_TTL_S = 3600


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str
    role: str
    role_title: str
    org: str
    team: str | None


def load_demo_users(policy_dir: Path) -> dict[str, DemoUser]:
    """Demo users, each with its role's title from the policy data."""
    roles: dict[str, Any] = json.loads((policy_dir / "data.json").read_text())["access"]["roles"]
    users: list[dict[str, Any]] = json.loads(DEMO_USERS_FILE.read_text())["users"]
    return {
        u["id"]: DemoUser(
            id=u["id"],
            name=u["name"],
            role=u["role"],
            role_title=roles.get(u["role"], {}).get("title", u["role"]),
            org=u["org"],
            team=u["team"],
        )
        for u in users
    }


def _public(user: DemoUser) -> dict[str, Any]:
    fields = asdict(user)
    return {
        "id": fields["id"],
        "name": fields["name"],
        "role": fields["role"],
        "roleTitle": fields["role_title"],
        "org": fields["org"],
        "team": fields["team"],
    }


async def demo_users(request: Request) -> Response:
    """The demo users, and the purposes of use a request can declare.

    Purposes are listed here because the page needs them before its first
    GraphQL request, and every GraphQL request must already declare one.
    """
    gateway: Gateway = request.app.state.gateway
    users = load_demo_users(gateway.config.policy_dir)
    purposes = [
        {"id": p.id, "title": p.title, "lawfulBasis": p.lawful_basis}
        for p in gateway.purposes.values()
    ]
    return JSONResponse({"users": [_public(u) for u in users.values()], "purposes": purposes})


async def demo_token(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        body = await request.json()
    except ValueError:
        body = None
    user_id = body.get("user") if isinstance(body, dict) else None
    if not isinstance(user_id, str):
        return _error(400, "BAD_REQUEST", 'send {"user": "<demo user id>"} as JSON')
    user = load_demo_users(gateway.config.policy_dir).get(user_id)
    if user is None:
        return _error(404, "UNKNOWN_DEMO_USER", f"'{user_id[:64]}' is not a demo user")
    token = issue_dev_token(
        load_dev_key(gateway.config.state_dir),
        user.id,
        user.role,
        user.org,
        user.team,
        ttl_s=DEMO_TOKEN_TTL_S,
    )
    return JSONResponse({"token": token, "expiresIn": DEMO_TOKEN_TTL_S, "user": _public(user)})


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


def demo_login_routes() -> list[BaseRoute]:
    return [
        Route("/demo/users", demo_users, methods=["GET"]),
        Route("/demo/token", demo_token, methods=["POST"]),
    ]
