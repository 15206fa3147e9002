"""Demographics: how an agency records who a person is, for matching without identifiers.

Optional part of the adapter contract. An agency whose section sets
``SectionSpec.demographic_search`` answers :meth:`Adapter.search` with the few
records that could be the person (its own blocking, e.g. same date of birth),
each as a :class:`Candidate`: a local id, the identifiers and the demographics
it holds, never section data. The gateway scores the candidates itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.sdk.contract import Identifier


@dataclass(frozen=True)
class Demographics:
    """What a person is recorded as, in one system (or in a search)."""

    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: str | None = None  # ISO yyyy-mm-dd
    postcode: str | None = None
    former_family_names: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Candidate:
    """A record a demographic search returned: its local id, identifiers and demographics."""

    local_id: str
    demographics: Demographics
    identifiers: tuple[Identifier, ...] = ()


def demographics_from(reply: Mapping[str, Any]) -> Demographics:
    """Demographics from a reply with ``given_name``, ``family_name``, ``date_of_birth``,
    ``postcode`` (any may be absent); values that are not strings count as absent."""

    def text(key: str) -> str | None:
        value = reply.get(key)
        return value if isinstance(value, str) and value else None

    return Demographics(
        text("given_name"), text("family_name"), text("date_of_birth"), text("postcode")
    )


def search_params(demographics: Demographics) -> dict[str, str]:
    """The body of a REST demographic search (only the details known)."""
    values = {
        "given_name": demographics.given_name,
        "family_name": demographics.family_name,
        "date_of_birth": demographics.date_of_birth,
        "postcode": demographics.postcode,
    }
    return {key: value for key, value in values.items() if value}
