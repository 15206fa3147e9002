"""The adapter SDK: the small contract an agency adapter implements.

An adapter is modelled on a connector (check, discover, read): it says what
section of a person it contributes (:meth:`Adapter.discover`), whether its
upstream is healthy (:meth:`Adapter.check`), how to find a person from the
identifiers it holds (:meth:`Adapter.lookup`) and how to read the section
(:meth:`Adapter.read`). It never sees gateway internals: no GraphQL, no policy.

Shared machinery adapters reuse: :class:`HttpUpstream` (pooled aiohttp client,
timeouts, error mapping), :mod:`adapters.sdk.xml` (safe XML parsing) and
:mod:`adapters.sdk.fhir` (FHIR search with Bundle paging).
"""

from adapters.sdk.contract import (
    LABELS_KEY,
    SENSITIVITY_LABELS,
    Adapter,
    EventSpec,
    FieldSpec,
    Health,
    HouseholdLink,
    Identifier,
    Match,
    SectionSpec,
    requested_only,
)
from adapters.sdk.demographics import Candidate, Demographics
from adapters.sdk.errors import (
    AdapterError,
    UpstreamBadReply,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from adapters.sdk.http import HttpUpstream
from adapters.sdk.http_adapter import HttpAdapter

__all__ = [
    "LABELS_KEY",
    "SENSITIVITY_LABELS",
    "Adapter",
    "AdapterError",
    "Candidate",
    "Demographics",
    "EventSpec",
    "FieldSpec",
    "Health",
    "HouseholdLink",
    "HttpAdapter",
    "HttpUpstream",
    "Identifier",
    "Match",
    "SectionSpec",
    "UpstreamBadReply",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "requested_only",
]
