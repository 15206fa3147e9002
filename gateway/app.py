"""The ASGI application: routes, observation and the gateway's lifetime.

:func:`app_from_environment` is the import string uvicorn's worker processes
use (``gateway.app:app_from_environment``, a factory): each worker reads the
same configuration file and ``JOINEDUP_…`` environment the CLI validated.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gateway.config import GatewayConfig
from gateway.demo_login import demo_login_routes
from gateway.health import healthz, readyz
from gateway.http import STATIC_DIR, graphql_endpoint
from gateway.observability.logs import configure_logging
from gateway.observability.metrics import metrics_endpoint, report_agencies
from gateway.observability.requests import ObserveRequests
from gateway.observability.tracing import configure_tracing, flush_tracing
from gateway.runtime import Gateway, freeze_start_up_objects
from gateway.settings import gateway_config, load_settings
from gateway.ui import caseworker_page

log = logging.getLogger(__name__)


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug answers with a bare code: no exception text, no trace, no hostnames."""
    log.exception("unhandled error on %s", request.url.path)
    return JSONResponse(
        {"errors": [{"message": "Internal error", "extensions": {"code": "INTERNAL"}}]},
        status_code=500,
    )


def create_app(config: GatewayConfig, *, serving: bool = False) -> Starlette:
    """The gateway's ASGI app over ``config``.

    ``serving``: the app is a served worker's, alive for the process's life, so once
    started it freezes its start-up objects (:func:`~gateway.runtime.freeze_start_up_objects`).
    Apps built in tests and benchmarks come and go within one process: frozen, their
    start-up objects would never be collected.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway = Gateway.start(config)
        report_agencies(gateway.adapters)
        app.state.gateway = gateway
        if serving:
            freeze_start_up_objects()
        try:
            yield
        finally:
            # uvicorn runs this only after in-flight requests have finished (or the
            # shutdown grace period ran out), so every audit write has completed.
            await gateway.stop()
            flush_tracing()
            log.info("gateway stopped; audit store closed")

    routes = [
        Route("/", caseworker_page),
        Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        *(demo_login_routes() if not config.production else []),
    ]
    if config.observability.metrics:
        routes.append(Route("/metrics", metrics_endpoint))
    return Starlette(
        routes=routes,
        middleware=[Middleware(ObserveRequests)],
        lifespan=lifespan,
        exception_handlers={Exception: internal_error},
    )


def app_from_environment() -> Starlette:
    """Build the app from ``$JOINEDUP_CONFIG_FILE`` and ``JOINEDUP_…`` variables."""
    config = gateway_config(load_settings())
    configure_logging(config.observability)
    configure_tracing(config.observability)
    return create_app(config, serving=True)
