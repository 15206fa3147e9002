"""The base for adapters whose agency system is an HTTP service.

Every such adapter needs the same parts: one pooled :class:`HttpUpstream` for
its base URL, a health check that probes the service, and closing the pool.
Subclasses describe their section, say how to probe (:meth:`probe`) and how to
read the agency's own error documents (:meth:`upstream_error_detail`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import httpx

from adapters.sdk.contract import Adapter, Health
from adapters.sdk.errors import AdapterError
from adapters.sdk.http import HttpUpstream


@dataclass
class HttpAdapter(Adapter):
    base_url: str
    _upstream: HttpUpstream = field(init=False, repr=False)

    health_path: ClassVar[str] = "/health"

    def __post_init__(self) -> None:
        self._upstream = HttpUpstream(
            self.discover().agency,
            self.base_url,
            self.timeout_s,
            error_detail=self.upstream_error_detail,
        )

    def upstream_error_detail(self, response: httpx.Response) -> str | None:
        """A short, data-free detail from the agency's own error document, if it has one."""
        return None

    async def probe(self) -> str | None:
        """Ask the service whether it is up: None if healthy, else what is wrong.

        Raises :class:`AdapterError` when it cannot be reached or answers badly.
        """
        await self._upstream.json("GET", self.health_path)
        return None

    async def check(self) -> Health:
        try:
            problem = await self.probe()
        except AdapterError as exc:
            return Health(False, exc.detail)
        return Health(problem is None, problem or "")

    async def aclose(self) -> None:
        await self._upstream.aclose()
