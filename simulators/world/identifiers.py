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


# DfE "A guide to UPN": weights 2..13 over characters 2..13, remainder mod 23
# picks the check letter (I, O and S are never used).
_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn_check_letter(last_twelve: str) -> str:
    total = sum(int(d) * w for d, w in zip(last_twelve, range(2, 14), strict=True))
    return _UPN_LETTERS[total % 23]


def is_valid_upn(value: str) -> bool:
    v = value.strip().upper()
    return len(v) == 13 and v[1:].isdigit() and v[0] == upn_check_letter(v[1:])


def upn(rng: random.Random, la_code: int, entry_year: int) -> str:
    """LA code (3) + establishment (4) + year allocated (2) + serial (3), check letter first."""
    body = f"{la_code:03d}{rng.randrange(1000, 7000):04d}{entry_year % 100:02d}"
    body += f"{rng.randrange(0, 1000):03d}"
    return upn_check_letter(body) + body


# PNC ids are YYYY/NNNNNNNX: X is picked by (two-digit year followed by the
# seven-digit serial) mod 23.
_PNC_LETTERS = "ZABCDEFGHJKLMNPQRTUVWXY"


def pnc_check_character(year: int, serial: int) -> str:
    return _PNC_LETTERS[int(f"{year % 100:02d}{serial:07d}") % 23]


def is_valid_pnc_id(value: str) -> bool:
    v = value.strip().upper()
    year, _, rest = v.partition("/")
    if len(year) != 4 or not year.isdigit() or len(rest) < 2 or not rest[:-1].isdigit():
        return False
    return pnc_check_character(int(year), int(rest[:-1])) == rest[-1]


def pnc_id(rng: random.Random, year: int) -> str:
    serial = rng.randrange(1, 10_000_000)
    return f"{year}/{serial:07d}{pnc_check_character(year, serial)}"


def case_reference(rng: random.Random) -> str:
    """Probation case reference number (CRN): one letter and six digits."""
    return f"{rng.choice('ABCDEFGHJKLMNPRSTVWX')}{rng.randrange(100_000, 1_000_000)}"


def is_valid_case_reference(value: str) -> bool:
    v = value.strip().upper()
    return len(v) == 7 and v[0].isalpha() and v[1:].isdigit()


def luhn_check_digit(digits: str) -> int:
    total = 0
    for position, char in enumerate(reversed(digits)):
        d = int(char) * (2 if position % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def housing_reference(rng: random.Random) -> str:
    """Housing reference: ``HR`` + seven digits + a Luhn check digit."""
    body = f"{rng.randrange(1_000_000, 10_000_000)}"
    return f"HR{body}{luhn_check_digit(body)}"


def is_valid_housing_reference(value: str) -> bool:
    v = value.strip().upper()
    return (
        len(v) == 10
        and v.startswith("HR")
        and v[2:].isdigit()
        and luhn_check_digit(v[2:9]) == int(v[9])
    )
