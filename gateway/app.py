"""The ASGI application: routes and the gateway's lifetime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.config import GatewayConfig
from gateway.demo_login import demo_login_routes
from gateway.http import STATIC_DIR, graphql_endpoint
from gateway.runtime import Gateway
from gateway.ui import caseworker_page

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug answers with a bare code: no exception text, no trace, no hostnames."""
    log.exception("unhandled error on %s", request.url.path)
    return JSONResponse(
        {"errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL"}}]},
        status_code=500,
    )


def create_app(config: GatewayConfig) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway = Gateway.start(config)
        app.state.gateway = gateway
        try:
            yield
        finally:
            await gateway.stop()

    return Starlette(
        routes=[
            Route("/", caseworker_page),
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
            *(demo_login_routes() if not config.production else []),
        ],
        lifespan=lifespan,
        exception_handlers={Exception: internal_error},
    )
