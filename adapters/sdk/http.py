"""A pooled HTTP client for adapters, with explicit timeouts and SDK error mapping.

Every HTTP adapter needs the same things: one connection pool per upstream,
a time budget per call, and every way the upstream can fail turned into an
:class:`~adapters.sdk.errors.AdapterError` whose message carries no agency
data. Adapters call :meth:`HttpUpstream.request` (raw reply, content type
checked) or :meth:`HttpUpstream.json` (parsed JSON).

Replies are hostile until parsed: the body is streamed with a size cap
(:data:`MAX_REPLY_BYTES`), compressed replies are refused (they could expand
past the cap inside one chunk), and the whole exchange - connect, headers and
every chunk of a trickling body - runs under one deadline: the agency's
timeout, cut to what is left of the request's deadline.

The exchange runs on aiohttp: on loopback it costs about a quarter of the CPU of
httpx's client per call (``bench/http_client.py``; an agency call is made ~18 times
per full person view). Raw replies are handed to adapters as :class:`httpx.Response`
(status, headers and the capped body), the type adapters and error readers take;
:meth:`HttpUpstream.json` parses the body without building one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from adapters.sdk.correlation import correlation_headers
from adapters.sdk.deadline import remaining_s
from adapters.sdk.errors import UpstreamBadReply, UpstreamTimeout, UpstreamUnavailable

MAX_REPLY_BYTES = 4_000_000
"""A batch of 100 people's sections is well under 1 MB; anything near this is not a real reply."""

ErrorDetail = Callable[[httpx.Response], str | None]
"""Reads an upstream's own error document (e.g. a FHIR OperationOutcome) into a
short, data-free detail for the error; None when the reply is not one."""


@dataclass
class HttpUpstream:
    """One upstream HTTP service: base URL, time budget and connection pool."""

    agency: str
    base_url: str
    timeout_s: float
    max_connections: int = 50
    error_detail: ErrorDetail | None = None
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    def _client(self) -> aiohttp.ClientSession:
        """The pool, opened on first use: an aiohttp session belongs to a running loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0),
                # The deadline is asyncio.timeout around the whole exchange; connect
                # alone may not take more than a second.
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=min(self.timeout_s, 1.0)),
                headers={"Accept-Encoding": "identity"},
                auto_decompress=False,
                raise_for_status=False,
            )
        return self._session

    def is_own_url(self, url: str) -> bool:
        """Whether ``url`` points at this upstream (e.g. a paging link it returned)."""
        target, own = httpx.URL(url), httpx.URL(self.base_url)
        return (target.scheme, target.host, target.port) == (own.scheme, own.host, own.port)

    async def request(
        self,
        method: str,
        url: str,
        *,
        content_types: tuple[str, ...],
        not_found_is_none: bool = False,
        params: Mapping[str, str | list[str]] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response | None:
        """Send one request; return the 2xx reply, or None for 404 when asked.

        ``url`` is a path under ``base_url`` or an absolute URL of this upstream;
        ``params`` values that are lists repeat the key; ``json`` is a JSON body,
        ``data`` form fields, ``content`` a raw body (as httpx names them). Raises UpstreamTimeout,
        UpstreamUnavailable (unreachable, 5xx) or UpstreamBadReply (other status,
        or a content type not in ``content_types``).
        """
        reply = await self._checked(
            method,
            url,
            content_types=content_types,
            not_found_is_none=not_found_is_none,
            params=params,
            json=json,
            content=content,
            data=data,
            headers=headers,
        )
        return None if reply is None else reply.response()

    async def json(
        self,
        method: str,
        url: str,
        *,
        content_types: tuple[str, ...] = ("application/json",),
        not_found_is_none: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Like :meth:`request`, returning the parsed JSON body (None for a 404 when asked)."""
        reply = await self._checked(
            method, url, content_types=content_types, not_found_is_none=not_found_is_none, **kwargs
        )
        if reply is None:
            return None
        try:
            return json.loads(reply.body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise UpstreamBadReply(self.agency, "reply is not valid UTF-8") from exc
        except RecursionError as exc:
            raise UpstreamBadReply(self.agency, "reply is nested too deeply") from exc
        except ValueError as exc:
            raise UpstreamBadReply(self.agency, "reply is not valid JSON") from exc

    async def _checked(
        self,
        method: str,
        url: str,
        *,
        content_types: tuple[str, ...],
        not_found_is_none: bool,
        params: Mapping[str, str | list[str]] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Reply | None:
        """The exchange under its deadline, its failures mapped, status and content type checked."""
        budget = remaining_s(self.timeout_s)
        if budget <= 0:
            raise UpstreamTimeout(self.agency, "the request's deadline passed before the call")
        try:
            async with asyncio.timeout(budget):
                reply = await self._exchange(
                    method,
                    url,
                    params=_query_pairs(params),
                    json=json,
                    data=content if data is None else data,
                    headers={**correlation_headers(), **(headers or {})},
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(self.agency, f"no answer within {budget:.2g}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(self.agency, "service is not reachable") from exc
        if reply.status == 404 and not_found_is_none:
            return None
        if not 200 <= reply.status < 300:
            detail = self.error_detail(reply.response()) if self.error_detail else None
            suffix = f": {detail}" if detail else ""
            if reply.status >= 500:
                raise UpstreamUnavailable(
                    self.agency, f"service answered HTTP {reply.status}{suffix}"
                )
            raise UpstreamBadReply(self.agency, f"unexpected HTTP {reply.status}{suffix}")
        media_type = reply.content_type.split(";")[0].strip().lower()
        if media_type not in content_types:
            raise UpstreamBadReply(
                self.agency, f"reply has content type {media_type or 'none'!r}, not {content_types}"
            )
        return reply

    async def _exchange(self, method: str, url: str, **kwargs: Any) -> _Reply:
        """Send the request and read at most :data:`MAX_REPLY_BYTES` of the reply.

        Every call carries the gateway's request id and trace context (``headers``).
        """
        target = url if "://" in url else self.base_url.rstrip("/") + "/" + url.lstrip("/")
        async with self._client().request(
            method, target, allow_redirects=False, **kwargs
        ) as response:
            declared = response.content_length
            if declared is not None and declared > MAX_REPLY_BYTES:
                raise UpstreamBadReply(self.agency, f"reply is larger than {MAX_REPLY_BYTES} bytes")
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise UpstreamBadReply(self.agency, "reply is compressed although we asked not")
            body = bytearray()
            async for chunk in response.content.iter_any():
                body += chunk
                if len(body) > MAX_REPLY_BYTES:
                    raise UpstreamBadReply(
                        self.agency, f"reply is larger than {MAX_REPLY_BYTES} bytes"
                    )
            return _Reply(
                response.status,
                # Repeated, they read as one comma-joined value, as httpx reads them.
                ", ".join(response.headers.getall("content-type", ())),
                response.raw_headers,
                bytes(body),
            )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


@dataclass(frozen=True, slots=True)
class _Reply:
    """A reply as read off the wire: status, content type, headers and the capped body.

    :meth:`HttpUpstream.json` parses ``body`` straight from here; an
    :class:`httpx.Response` is built only for callers that take one (:meth:`request`,
    ``error_detail``): building one runs the body through httpx's decoders again,
    about a fifth of the CPU of a whole call on loopback.
    """

    status: int
    content_type: str
    raw_headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, headers=self.raw_headers, content=self.body)


def _query_pairs(params: Mapping[str, str | list[str]] | None) -> list[tuple[str, str]] | None:
    """Query parameters as pairs, a list value repeating its key (as httpx sends them)."""
    if params is None:
        return None
    return [
        (key, item)
        for key, value in params.items()
        for item in (value if isinstance(value, list) else [value])
    ]
