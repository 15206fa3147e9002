"""British-style identifiers with valid check characters.

These follow the published format rules so that adapters and identity
matching can validate identifiers exactly as they would in production.
"""

from __future__ import annotations

import random

_NHS_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 check digit for an NHS number, or None if no valid digit exists."""
    total = sum(int(d) * w for d, w in zip(first_nine, _NHS_WEIGHTS, strict=True))
    check = 11 - (total % 11)
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid_nhs_number(value: str) -> bool:
    digits = value.replace(" ", "")
    if len(digits) != 10 or not digits.isdigit():
        return False
    return nhs_check_digit(digits[:9]) == int(digits[9])


def nhs_number(rng: random.Random) -> str:
    while True:
        first_nine = f"{rng.randrange(400_000_000, 999_999_999):09d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            return first_nine + str(check)


# HMRC rules: first letter not D F I Q U V; second not D F I O Q U V;
# prefixes BG GB KN NK NT TN ZZ are never issued.
_NI_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
_NI_SECOND = "ABCEGHJKLMNPRSTWXYZ"
_NI_BANNED = {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def is_valid_ni_number(value: str) -> bool:
    v = value.replace(" ", "").upper()
    return (
        len(v) == 9
        and v[0] in _NI_FIRST
        and v[1] in _NI_SECOND
        and v[:2] not in _NI_BANNED
        and v[2:8].isdigit()
        and v[8] in "ABCD"
    )


def ni_number(rng: random.Random) -> str:
    while True:
        prefix = rng.choice(_NI_FIRST) + rng.choice(_NI_SECOND)
        if prefix not in _NI_BANNED:
            return f"{prefix}{rng.randrange(0, 1_000_000):06d}{rng.choice('ABCD')}"


def council_id(rng: random.Random) -> str:
    return f"C{rng.randrange(1_000_000, 9_999_999)}"
