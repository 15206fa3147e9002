"""FHIR R4 search over HTTP: Bundle paging and OperationOutcome errors.

A FHIR search answers with a ``searchset`` Bundle of one page; further pages
are linked with relation ``next``. :func:`search` follows them (only to the
same server, and at most ``max_pages``) and returns every entry's resource.
An OperationOutcome, in place of a Bundle or with an error status, becomes
:class:`~adapters.sdk.errors.UpstreamBadReply` naming the issue code (never its
free-text diagnostics, which may quote data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters.sdk.errors import UpstreamBadReply
from adapters.sdk.http import HttpUpstream

FHIR_JSON = "application/fhir+json"


def operation_outcome_detail(response: httpx.Response) -> str | None:
    """For :class:`HttpUpstream`'s ``error_detail``: the issue codes of an OperationOutcome."""
    try:
        body = response.json()
    except ValueError:
        return None
    return _outcome_codes(body)


def _outcome_codes(body: Any) -> str | None:
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    issues = body.get("issue")
    if not isinstance(issues, list):
        issues = []
    codes = sorted(
        {
            f"{issue.get('severity', '?')}/{issue.get('code', '?')}"
            for issue in issues
            if isinstance(issue, dict)
        }
    )
    return "OperationOutcome " + (", ".join(codes) or "without issues")


async def search(
    upstream: HttpUpstream,
    resource_type: str,
    params: Mapping[str, str | list[str]],
    max_pages: int = 50,
) -> list[dict[str, Any]]:
    """Run a FHIR search and return the resources of every entry on every page."""
    resources: list[dict[str, Any]] = []
    url: str | None = f"/{resource_type}"
    query: Mapping[str, str | list[str]] | None = params
    for _ in range(max_pages):
        if url is None:
            return resources
        bundle = await upstream.json("GET", url, content_types=(FHIR_JSON,), params=query)
        outcome = _outcome_codes(bundle)
        if outcome is not None:
            raise UpstreamBadReply(upstream.agency, outcome)
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise UpstreamBadReply(upstream.agency, "search reply is not a FHIR Bundle")
        try:
            resources += [entry["resource"] for entry in bundle.get("entry", [])]
            url = next(
                (link["url"] for link in bundle.get("link", []) if link["relation"] == "next"),
                None,
            )
        except (TypeError, KeyError) as exc:
            raise UpstreamBadReply(upstream.agency, "Bundle has an unexpected shape") from exc
        if url is not None and not upstream.is_own_url(url):
            raise UpstreamBadReply(upstream.agency, "Bundle links to another server")
        query = None
    raise UpstreamBadReply(upstream.agency, f"search has more than {max_pages} pages")
