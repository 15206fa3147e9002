"""HttpUpstream's reply checks, whichever way the reply is handed over.

``json()`` parses the body as read, ``request()`` and ``error_detail`` get an
``httpx.Response``: both must check status and content type alike. A stdlib HTTP
server on loopback answers with exactly the headers each test needs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from adapters.sdk import UpstreamBadReply, UpstreamUnavailable
from adapters.sdk.http import HttpUpstream

REPLIES: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {
    "/ok": (200, [("Content-Type", "application/json; charset=utf-8")], b'{"a": [1, 2]}'),
    "/twice": (
        200,
        [("Content-Type", "application/json"), ("Content-Type", "application/json")],
        b"{}",
    ),
    "/down": (503, [("Content-Type", "application/json")], b'{"code": "maintenance"}'),
    "/refused": (422, [("Content-Type", "application/json")], b'{"code": "bad-query"}'),
}


class _Scripted(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, headers, body = REPLIES[self.path]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def agency_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def code_of(response: httpx.Response) -> str | None:
    code = response.json().get("code")
    return code if isinstance(code, str) else None


async def test_json_and_request_hand_over_the_same_reply(agency_url: str) -> None:
    upstream = HttpUpstream("scripted", agency_url, 2.0)
    try:
        assert await upstream.json("GET", "/ok") == {"a": [1, 2]}
        response = await upstream.request("GET", "/ok", content_types=("application/json",))
        assert response is not None
        assert response.status_code == 200
        assert response.json() == {"a": [1, 2]}
        assert response.headers["content-type"] == "application/json; charset=utf-8"
    finally:
        await upstream.aclose()


async def test_a_repeated_content_type_is_refused_as_httpx_reads_it(agency_url: str) -> None:
    upstream = HttpUpstream("scripted", agency_url, 2.0)
    try:
        with pytest.raises(UpstreamBadReply, match="content type"):
            await upstream.json("GET", "/twice")
        with pytest.raises(UpstreamBadReply, match="content type"):
            await upstream.request("GET", "/twice", content_types=("application/json",))
    finally:
        await upstream.aclose()


async def test_error_documents_are_read_from_an_httpx_response(agency_url: str) -> None:
    upstream = HttpUpstream("scripted", agency_url, 2.0, error_detail=code_of)
    try:
        with pytest.raises(UpstreamUnavailable, match=r"HTTP 503: maintenance$"):
            await upstream.json("GET", "/down")
        with pytest.raises(UpstreamBadReply, match=r"HTTP 422: bad-query$"):
            await upstream.json("GET", "/refused")
    finally:
        await upstream.aclose()
