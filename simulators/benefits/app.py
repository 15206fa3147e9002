"""The benefits agency's REST/JSON API, as its own Starlette application.

Endpoints (all JSON):
- ``GET /health``
- ``GET /claimants?ni_number=...`` → ``{"claimants": [{"ni_number": ...}]}`` (lookup)
- ``GET /claimants/{ni_number}`` → the claimant record, 404 if unknown
- ``POST /claimants/batch`` with ``{"ni_numbers": [...]}`` → ``{"claimants": [...]}``
  (the records found; at most 100 numbers per call)
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.faults import Faults, faults_endpoint


def create_app(data_file: Path, faults: Faults | None = None, seed: int = 0) -> Starlette:
    claimants: dict[str, dict[str, Any]] = {
        c["ni_number"]: c for c in json.loads(data_file.read_text())["claimants"]
    }
    rng = random.Random(seed)
    active_faults = faults or Faults()

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "claimants": len(claimants)})

    async def search(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        ni = request.query_params.get("ni_number", "").replace(" ", "").upper()
        found = [{"ni_number": ni}] if ni in claimants else []
        return JSONResponse({"claimants": found})

    async def claimant(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        record = claimants.get(request.path_params["ni_number"].upper())
        if record is None:
            return JSONResponse({"error": "no such claimant"}, status_code=404)
        return JSONResponse(record)

    async def batch(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        try:
            wanted = (await request.json())["ni_numbers"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send {'ni_numbers': [...]}"}, status_code=400)
        if not isinstance(wanted, list) or len(wanted) > 100:
            return JSONResponse({"error": "ni_numbers: a list of at most 100"}, status_code=400)
        found = [claimants[n] for n in wanted if isinstance(n, str) and n in claimants]
        return JSONResponse({"claimants": found})

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/claimants", search),
            Route("/claimants/batch", batch, methods=["POST"]),
            Route("/claimants/{ni_number}", claimant),
            Route("/_sim/faults", faults_endpoint, methods=["GET", "PUT"]),
        ]
    )
    app.state.faults = active_faults
    return app
