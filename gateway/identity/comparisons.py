"""Compare two sets of demographics field by field, each into a discrete agreement level.

Levels follow how identities actually drift between agencies: nicknames and
spelling variants in given names, typos and former surnames in family names,
day/month transposed or mistyped dates of birth, moves between postcodes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import jellyfish
from nicknames import NickNamer

from adapters.sdk.demographics import Demographics

_NICKNAMES = NickNamer()


def _norm(name: str | None) -> str:
    return "".join(ch for ch in (name or "").lower() if ch.isalpha())


@lru_cache(maxsize=4096)
def _name_forms(name: str) -> frozenset[str]:
    """A given name with its nicknames and the names it is a nickname of."""
    forms = {name} | set(_NICKNAMES.nicknames_of(name)) | set(_NICKNAMES.canonicals_of(name))
    return frozenset(_norm(f) for f in forms)


def given_name_level(a: Demographics, b: Demographics) -> str:
    x, y = _norm(a.given_name), _norm(b.given_name)
    if not x or not y:
        return "missing"
    if x == y:
        return "exact"
    if y in _name_forms(x) or x in _name_forms(y):
        return "nickname"
    if jellyfish.jaro_winkler_similarity(x, y) >= 0.88:
        return "similar"
    return "different"


def family_name_level(a: Demographics, b: Demographics) -> str:
    x, y = _norm(a.family_name), _norm(b.family_name)
    if not x or not y:
        return "missing"
    if x == y:
        return "exact"
    former = {_norm(n) for n in a.former_family_names} | {_norm(n) for n in b.former_family_names}
    if x in former or y in former:
        return "former"
    if jellyfish.jaro_winkler_similarity(x, y) >= 0.9 or jellyfish.metaphone(
        x
    ) == jellyfish.metaphone(y):
        return "similar"
    return "different"


def date_of_birth_level(a: Demographics, b: Demographics) -> str:
    x, y = a.date_of_birth or "", b.date_of_birth or ""
    if len(x) != 10 or len(y) != 10:
        return "missing"
    if x == y:
        return "exact"
    (xy, xm, xd), (yy, ym, yd) = x.split("-"), y.split("-")
    if xy == yy and xm == yd and xd == ym:
        return "transposed"
    if sum(c1 != c2 for c1, c2 in zip(x, y, strict=True)) == 1:
        return "one_digit"
    if xy == yy:
        return "same_year"
    return "different"


def postcode_level(a: Demographics, b: Demographics) -> str:
    x = (a.postcode or "").replace(" ", "").upper()
    y = (b.postcode or "").replace(" ", "").upper()
    if not x or not y:
        return "missing"
    if x == y:
        return "exact"
    if x[:-3] == y[:-3]:
        return "district"
    return "different"


COMPARISONS: dict[str, Callable[[Demographics, Demographics], str]] = {
    "given_name": given_name_level,
    "family_name": family_name_level,
    "date_of_birth": date_of_birth_level,
    "postcode": postcode_level,
}
"""Comparison name → function giving the agreement level; 'missing' carries no evidence."""


def comparison_vector(a: Demographics, b: Demographics) -> dict[str, str]:
    return {name: compare(a, b) for name, compare in COMPARISONS.items()}
