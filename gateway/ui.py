"""The caseworker page, served at ``/`` from vendored files (no front-end server).

The page is plain HTML, CSS and JavaScript modules under ``static/ui``; it talks
to the gateway only through ``/graphql`` (and ``/demo`` to sign in, in demo mode).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from gateway.http import STATIC_DIR

CASEWORKER_PAGE = STATIC_DIR / "ui" / "index.html"


async def caseworker_page(request: Request) -> Response:
    return FileResponse(CASEWORKER_PAGE, media_type="text/html")
