"""Structured logs: every record carries the request id of the request it belongs to.

``log_format = "json"`` writes one JSON object per line (for log shippers);
``"text"`` is for people at a terminal. Log messages name requests, agencies and
outcomes, never people or field values.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from adapters.sdk.correlation import current_request_id
from gateway.config import ObservabilityConfig

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d] [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (or ``-`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


def configure_logging(config: ObservabilityConfig) -> None:
    """Send every logger (uvicorn's included) to stdout in the configured format."""
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestIdFilter())
    if config.log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # httpx logs every request URL at INFO, and agency lookup URLs carry identifiers.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
