"""Identity noise: how one person's details drift between agency systems.

Each agency keys in names and dates itself, at different times, so the same
person is recorded slightly differently: a nickname, a variant spelling, a
typo, day and month swapped, a surname from before marriage, an address they
have since left. The identity-matching work is measured against this noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

NICKNAMES = {
    "Thomas": "Tom",
    "James": "Jim",
    "William": "Bill",
    "Daniel": "Dan",
    "Samuel": "Sam",
    "Joseph": "Joe",
    "Charlie": "Charles",
    "Oliver": "Ollie",
    "Jacob": "Jake",
    "Harry": "Henry",
    "Rebecca": "Becky",
    "Jessica": "Jess",
    "Hannah": "Anna",
    "Emily": "Em",
    "Sophia": "Sophie",
    "Olivia": "Liv",
    "Amelia": "Millie",
}
SPELLINGS = {
    "Muhammad": "Mohammed",
    "Aisha": "Ayesha",
    "Zara": "Zarah",
    "Isla": "Islay",
    "Freya": "Freja",
    "Sarah": "Sara",
    "Chloe": "Chloë",
    "Davies": "Davis",
    "Clarke": "Clark",
    "Thompson": "Thomson",
    "Ahmed": "Ahmad",
    "Williams": "Williamson",
}


@dataclass(frozen=True)
class RecordedIdentity:
    """A person as one agency recorded them."""

    given_name: str
    family_name: str
    date_of_birth: str
    address: str
    postcode: str


def _typo(rng: random.Random, name: str) -> str:
    if len(name) < 4:
        return name
    at = rng.randrange(1, len(name) - 1)
    return name[:at] + name[at + 1] + name[at] + name[at + 2 :]


def _transposed(dob: str) -> str:
    day = date.fromisoformat(dob)
    if day.day > 12 or day.day == day.month:
        return dob
    return day.replace(month=day.day, day=day.month).isoformat()


def recorded_identity(
    rng: random.Random,
    given_name: str,
    family_name: str,
    date_of_birth: str,
    address: tuple[str, str],
    former_family_name: str | None,
    previous_address: tuple[str, str] | None,
    rate: float,
) -> RecordedIdentity:
    """Apply each kind of noise with probability ``rate`` (drawn in a fixed order)."""
    draws = [rng.random() for _ in range(6)]
    given, family, dob = given_name, family_name, date_of_birth
    if draws[0] < rate:
        given = NICKNAMES.get(given, SPELLINGS.get(given, given))
    if draws[1] < rate / 2:
        family = SPELLINGS.get(family, _typo(rng, family))
    if draws[2] < rate / 3:
        dob = _transposed(dob)
    if former_family_name and draws[3] < 0.5:
        family = former_family_name
    street, postcode = address
    if previous_address and draws[4] < 0.5:
        street, postcode = previous_address
    if draws[5] < rate / 4:
        given = _typo(rng, given)
    return RecordedIdentity(given, family, dob, street, postcode)
