"""Adapter for the benefits agency's REST/JSON API, over one pooled httpx client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.sdk import (
    Adapter,
    EventSpec,
    FieldSpec,
    Health,
    Identifier,
    Match,
    SectionSpec,
    UpstreamBadReply,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.sdk.correlation import propagate_correlation

AGENCY = "benefits"

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
    events=(EventSpec("claims", "startDate", "benefit claim started", ("type", "status")),),
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
            event_hooks={"request": [propagate_correlation]},
        )

    def discover(self) -> SectionSpec:
        return SECTION

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(AGENCY, f"no answer within {self.timeout_s:g}s") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(AGENCY, "service is not reachable") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise UpstreamUnavailable(AGENCY, f"service answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise UpstreamBadReply(AGENCY, f"unexpected HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamBadReply(AGENCY, "reply is not valid JSON") from exc

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
