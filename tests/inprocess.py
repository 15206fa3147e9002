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
from gateway.config import GatewayConfig, agency_settings
from simulators.world import WorldPaths


def config_for(
    state_dir: Path, world: WorldPaths, benefits_url: str, **settings: Any
) -> GatewayConfig:
    agencies = {
        "council": agency_settings("council", str(world.council_db)),
        "benefits": agency_settings("benefits", benefits_url),
    }
    return GatewayConfig(state_dir=state_dir, agencies=agencies, **settings)


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
