"""JSON replies assembled from parts encoded once, byte for byte what ``JSONResponse`` sends.

The simulators' records never change while they run, so each record (or each
search summary, or FHIR Bundle entry) is encoded once at start-up and a reply
is the encoded parts joined: encoding the same records on every call was most
of a simulator's CPU per call, taken on the benchmark machine from the gateway
under test. Parts are encoded exactly as Starlette's ``JSONResponse`` encodes a
whole document (compact separators, UTF-8, no ASCII escaping), so a joined reply
is the bytes the whole document would have been.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from starlette.responses import Response


def encode(content: Any) -> bytes:
    """``content`` as ``JSONResponse`` renders it."""
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def array(items: Iterable[bytes]) -> bytes:
    """A JSON array of encoded items."""
    return b"[" + b",".join(items) + b"]"


@cache
def _key(name: str) -> bytes:
    return encode(name) + b":"


def members(**encoded: bytes) -> bytes:
    """A JSON object of already encoded values, in the order given."""
    return b"{" + b",".join(_key(key) + value for key, value in encoded.items()) + b"}"


def json_reply(body: bytes, status: int = 200, media_type: str = "application/json") -> Response:
    """An encoded JSON body sent as it is."""
    return Response(body, status, media_type=media_type)
