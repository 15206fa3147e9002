"""Blocking: which records are worth scoring against a search at all.

Scoring every record in an agency against every search would be slow and
would give false matches more chances. A search is compared only with records
sharing a blocking key: the same date of birth (or the same with day and month
swapped), or the same family-name initial and year of birth. Agencies that
offer demographic search use the same keys (``adapters.sdk.demographics.block_keys``,
part of the adapter contract), so a search returns few candidates.
"""

from __future__ import annotations

from adapters.sdk.demographics import Demographics, block_keys


def in_block(search: Demographics, record: Demographics) -> bool:
    """Whether ``record`` is a candidate for ``search``."""
    return not block_keys(search).isdisjoint(block_keys(record))
