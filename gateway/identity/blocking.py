"""Blocking: which records are worth scoring against a search at all.

Scoring every record in an agency against every search would be slow and
would give false matches more chances. A search is compared only with records
sharing a blocking key: the same date of birth (or the same with day and month
swapped), or the same family-name initial and year of birth. Agencies that
offer demographic search use the same keys, so a search returns few candidates.
"""

from __future__ import annotations

from datetime import date

from adapters.sdk.demographics import Demographics


def _transposed(dob: str) -> str | None:
    try:
        day = date.fromisoformat(dob)
        return day.replace(month=day.day, day=day.month).isoformat()
    except ValueError:
        return None


def block_keys(person: Demographics) -> frozenset[str]:
    """The keys under which a record (or a search) is indexed."""
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


def in_block(search: Demographics, record: Demographics) -> bool:
    """Whether ``record`` is a candidate for ``search``."""
    return not block_keys(search).isdisjoint(block_keys(record))
