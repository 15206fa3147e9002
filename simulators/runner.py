"""The command line every simulator shares: ``python -m simulators.X --data FILE --port N``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import uvicorn
from starlette.applications import Starlette

from simulators.faults import Faults

AppFactory = Callable[[Path, Faults], Starlette]


def simulator_command(create_app: AppFactory) -> click.Command:
    """A click command that serves ``create_app(data, faults)`` on a loopback port."""

    @click.command()
    @click.option(
        "--data", "data_file", type=click.Path(exists=True, path_type=Path), required=True
    )
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, required=True)
    @click.option("--latency-ms", type=float, default=0.0, show_default=True)
    @click.option("--jitter-ms", type=float, default=0.0, show_default=True)
    @click.option("--error-rate", type=float, default=0.0, show_default=True)
    def main(
        data_file: Path,
        host: str,
        port: int,
        latency_ms: float,
        jitter_ms: float,
        error_rate: float,
    ) -> None:
        """Serve one agency simulator; faults can be changed later with PUT /_sim/faults."""
        faults = Faults(latency_ms=latency_ms, jitter_ms=jitter_ms, error_rate=error_rate)
        app = create_app(data_file, faults)
        # Access lines are logged at INFO, below this level, so none was ever written; off,
        # uvicorn no longer formats one per request (CPU the benchmark's gateway shares).
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

    return main
