"""Adapter for the benefits agency's REST/JSON API, over one pooled httpx client.

Replies are treated as hostile until parsed: the body is streamed with a size
cap (:data:`MAX_REPLY_BYTES`), the whole exchange (connect, headers and every
chunk of a trickling body) runs under one deadline, and anything that is not
a JSON object of the expected shape is ``UPSTREAM_BAD_REPLY``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.sdk import (
    Adapter,
    FieldSpec,
    Health,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.sdk.deadline import remaining_s

AGENCY = "benefits"

MAX_REPLY_BYTES = 4_000_000
"""A batch of 100 claimants is well under 100 kB; anything near this cap is not a real reply."""

_CLAIM_FIELDS = (
    FieldSpec("type", "string", "Benefit claimed."),
    FieldSpec("status", "string", "in payment, suspended or closed."),
    FieldSpec("startDate", "date", "Date the claim started."),
)

SECTION = SectionSpec(
    agency=AGENCY,
    title="Benefits agency",
    lookup_schemes=("NI_NUMBER",),
    fields=(
        FieldSpec("niNumber", "string", "National Insurance number."),
        FieldSpec("name", "string", "Claimant name."),
        FieldSpec("dateOfBirth", "date", "Date of birth."),
        FieldSpec("postcode", "string", "Postcode held by the agency."),
        FieldSpec("claims", "list", "Benefit claims.", item_fields=_CLAIM_FIELDS),
        FieldSpec("sanctions", "int", "Number of sanctions applied."),
        FieldSpec("workCoach", "string", "Assigned work coach."),
    ),
)


@dataclass
class BenefitsAdapter(Adapter):
    base_url: str
    _client: httpx.AsyncClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 1.0)),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            # Compressed replies could expand past the size cap inside one chunk.
            headers={"Accept-Encoding": "identity"},
        )

    def discover(self) -> SectionSpec:
        return SECTION

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        budget = remaining_s(self.timeout_s)
        if budget <= 0:
            raise UpstreamTimeout(AGENCY, "the request's deadline passed before the call")
        try:
            async with asyncio.timeout(budget):
                status, content_type, body = await self._exchange(method, path, **kwargs)
        except TimeoutError as exc:
            raise UpstreamTimeout(AGENCY, f"no answer within {budget:.2g}s") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(AGENCY, f"no answer within {budget:.2g}s") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(AGENCY, "service is not reachable") from exc
        if status == 404:
            return None
        if status >= 500:
            raise UpstreamUnavailable(AGENCY, f"service answered HTTP {status}")
        if status != 200:
            raise UpstreamBadReply(AGENCY, f"unexpected HTTP {status}")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise UpstreamBadReply(AGENCY, "reply is not JSON (content type)")
        try:
            return json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise UpstreamBadReply(AGENCY, "reply is not valid UTF-8") from exc
        except RecursionError as exc:
            raise UpstreamBadReply(AGENCY, "reply is nested too deeply") from exc
        except ValueError as exc:
            raise UpstreamBadReply(AGENCY, "reply is not valid JSON") from exc

    async def _exchange(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, bytes]:
        """Send the request and read at most :data:`MAX_REPLY_BYTES` of the reply."""
        async with self._client.stream(method, path, **kwargs) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
                raise UpstreamBadReply(AGENCY, f"reply is larger than {MAX_REPLY_BYTES} bytes")
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise UpstreamBadReply(AGENCY, "reply is compressed although we asked it not to be")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > MAX_REPLY_BYTES:
                    raise UpstreamBadReply(AGENCY, f"reply is larger than {MAX_REPLY_BYTES} bytes")
            return response.status_code, response.headers.get("content-type", ""), bytes(body)

    async def check(self) -> Health:
        try:
            await self._call("GET", "/health")
        except (UpstreamUnavailable, UpstreamTimeout, UpstreamBadReply) as exc:
            return Health(False, exc.detail)
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        for ident in identifiers:
            if ident.scheme != "NI_NUMBER":
                continue
            reply = await self._call("GET", "/claimants", params={"ni_number": ident.value})
            try:
                found = [c["ni_number"] for c in reply["claimants"]]
            except (TypeError, KeyError) as exc:
                raise UpstreamBadReply(AGENCY, "lookup reply has an unexpected shape") from exc
            if found:
                return Match(AGENCY, found[0], (Identifier("NI_NUMBER", found[0]),))
        return None

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        reply = await self._call("POST", "/claimants/batch", json={"ni_numbers": list(local_ids)})
        try:
            return {
                claimant["ni_number"]: _section(claimant, fields) for claimant in reply["claimants"]
            }
        except (TypeError, KeyError, ValueError) as exc:
            raise UpstreamBadReply(AGENCY, "claimant reply has an unexpected shape") from exc

    async def aclose(self) -> None:
        await self._client.aclose()


def _section(claimant: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    record = {
        "niNumber": claimant["ni_number"],
        "name": claimant["name"],
        "dateOfBirth": claimant["date_of_birth"],
        "postcode": claimant["postcode"],
        "claims": [
            {"type": c["type"], "status": c["status"], "startDate": c["start_date"]}
            for c in claimant["claims"]
        ],
        "sanctions": int(claimant["sanctions"]),
        "workCoach": claimant["work_coach"],
    }
    return {name: value for name, value in record.items() if name in fields}
