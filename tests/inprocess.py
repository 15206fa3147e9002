"""The gateway app in this test process (lifespan included), for tests that need a
configuration the shared gateway process does not have (production mode, tight limits)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from gateway.app import create_app
from gateway.config import AgencyEndpoints, GatewayConfig
from simulators.world import WorldPaths


def config_for(
    state_dir: Path, world: WorldPaths, benefits_url: str, **settings: Any
) -> GatewayConfig:
    return GatewayConfig(
        state_dir=state_dir, agencies=AgencyEndpoints(world.council_db, benefits_url), **settings
    )


@asynccontextmanager
async def gateway_client(config: GatewayConfig) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway", timeout=30
        ) as client,
    ):
        client.app = app  # type: ignore[attr-defined]
        yield client


__all__ = ["config_for", "gateway_client", "replace"]
