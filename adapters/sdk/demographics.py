"""Demographics: how an agency records who a person is, for matching without identifiers.

Optional part of the adapter contract. An agency whose section sets
``SectionSpec.demographic_search`` answers :meth:`Adapter.search` with the few
records that could be the person (its own blocking, e.g. same date of birth),
each as a :class:`Candidate`: a local id, the identifiers and the demographics
it holds, never section data. The gateway scores the candidates itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from adapters.sdk.contract import Identifier
from adapters.sdk.errors import UpstreamBadReply


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


def _transposed(dob: str) -> str | None:
    try:
        day = date.fromisoformat(dob)
        return day.replace(month=day.day, day=day.month).isoformat()
    except ValueError:
        return None


def block_keys(person: Demographics) -> frozenset[str]:
    """The blocking keys of a record or a search: its date of birth, that date with day
    and month swapped, and its family name's first letter with the year of birth.

    An agency's search offers the records sharing a key with it; one that declares
    ``SectionSpec.search_by_block_keys`` offers the same records for the same keys.
    """
    keys: set[str] = set()
    dob = person.date_of_birth or ""
    if len(dob) == 10:
        keys.add(f"dob:{dob}")
        swapped = _transposed(dob)
        if swapped is not None:
            keys.add(f"dob:{swapped}")
        family = "".join(ch for ch in (person.family_name or "").lower() if ch.isalpha())
        if family:
            keys.add(f"name:{family[0]}:{dob[:4]}")
    return frozenset(keys)


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


def searchable(demographics: Demographics) -> bool:
    """Whether a search can block on these details (family name and date of birth).

    Without them no upstream is asked: a search by less finds nobody surely.
    """
    return bool(demographics.family_name and demographics.date_of_birth)


async def rest_search(
    agency: str,
    demographics: Demographics,
    post: Callable[[dict[str, Any]], Awaitable[Any]],
    records_key: str,
    candidates: Callable[[Any], list[Candidate]],
) -> list[Candidate]:
    """One REST demographic search (``POST /<collection>/search``): the reply's
    ``records_key`` list as candidates; nobody is asked without the details to block on."""
    if not searchable(demographics):
        return []
    reply = await post(search_params(demographics))
    if not isinstance(reply, dict):
        raise UpstreamBadReply(agency, "search reply has an unexpected shape")
    return candidates(reply.get(records_key))


async def rest_search_many(
    agency: str,
    demographics_list: Sequence[Demographics],
    post: Callable[[dict[str, Any]], Awaitable[Any]],
    candidates: Callable[[Any], list[Candidate]],
) -> list[list[Candidate]]:
    """A batch of REST demographic searches in one ``POST /<collection>/search/batch``.

    ``post`` sends ``{"queries": [search body, ...]}`` and returns the reply,
    ``{"results": [[record, ...], ...]}`` (one list per query, in order);
    ``candidates`` turns one query's records into candidates, as the adapter's
    one-person search does. People without the details to block on get no
    candidates without being sent, as in :func:`searchable`.
    """
    asked = [person for person, who in enumerate(demographics_list) if searchable(who)]
    found: list[list[Candidate]] = [[] for _ in demographics_list]
    if not asked:
        return found
    reply = await post({"queries": [search_params(demographics_list[p]) for p in asked]})
    results = reply.get("results") if isinstance(reply, dict) else None
    if not isinstance(results, list) or len(results) != len(asked):
        raise UpstreamBadReply(agency, "batch search reply has an unexpected shape")
    for person, records in zip(asked, results, strict=True):
        found[person] = candidates(records)
    return found
