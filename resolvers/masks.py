"""Masks the policy can ask for: a coarser, safer form of a value.

A mask never fails open: a value it cannot mask becomes the withheld marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

WITHHELD = "[withheld]"

_POSTCODE_DISTRICT = re.compile(r"^\s*([A-Za-z]{1,2}\d[A-Za-z\d]?)\s*\d[A-Za-z]{2}\s*$")
_ISO_DATE = re.compile(r"^(\d{4})-\d{2}-\d{2}")


def _year(value: Any) -> str:
    match = _ISO_DATE.match(value) if isinstance(value, str) else None
    return match.group(1) if match else WITHHELD


def _postcode_district(value: Any) -> str:
    match = _POSTCODE_DISTRICT.match(value) if isinstance(value, str) else None
    return match.group(1).upper() if match else WITHHELD


def _initials(value: Any) -> str:
    names = value.split() if isinstance(value, str) else []
    return " ".join(f"{name[0].upper()}." for name in names) or WITHHELD


def _withheld(_value: Any) -> str:
    return WITHHELD


MASKS: dict[str, Callable[[Any], str]] = {
    "year": _year,
    "postcode_district": _postcode_district,
    "withheld": _withheld,
    "initials": _initials,
}


def apply_mask(mask: str, value: Any) -> Any:
    """Mask ``value``; unknown masks withhold. ``None`` stays ``None`` (nothing held)."""
    if value is None:
        return None
    return MASKS.get(mask, _withheld)(value)
