"""The synthetic population: households of people with their true identities.

Everything an agency records derives from these people (see ``records.py``);
``ground_truth.json`` is written from them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from simulators.world import identifiers

WORLD_DAY = date(2026, 11, 1)

_GIVEN = {
    "F": [
        "Olivia",
        "Amelia",
        "Isla",
        "Ava",
        "Mia",
        "Sophia",
        "Grace",
        "Lily",
        "Freya",
        "Emily",
        "Ella",
        "Chloe",
        "Jessica",
        "Sarah",
        "Rebecca",
        "Hannah",
        "Aisha",
        "Zara",
    ],
    "M": [
        "Oliver",
        "George",
        "Harry",
        "Noah",
        "Jack",
        "Leo",
        "Arthur",
        "Muhammad",
        "Oscar",
        "Charlie",
        "Jacob",
        "Thomas",
        "James",
        "Daniel",
        "William",
        "Samuel",
        "Joseph",
        "Ryan",
    ],
}
_FAMILY = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Khan",
    "Lewis",
    "Clarke",
    "Jackson",
    "Wood",
    "Harris",
    "Ahmed",
]
_STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Park Avenue",
    "Mill Lane",
    "Queens Road",
    "Kings Road",
    "Grange Road",
    "Manor Way",
]
_TOWNS = [
    ("Ashford", "TN23"),
    ("Barnsley", "S70"),
    ("Crewe", "CW1"),
    ("Dudley", "DY1"),
    ("Eastleigh", "SO50"),
    ("Gateshead", "NE8"),
]
_LA_CODES = {"Ashford": 886, "Barnsley": 370, "Crewe": 895, "Dudley": 332, "Eastleigh": 850}
_LA_CODES["Gateshead"] = 390
KNOWN_TO_ALL = 6
"""How many people (aged 16-17, so in school yet with an NI number) every agency knows."""


@dataclass
class Person:
    """One synthetic person: the ground truth every agency record derives from.

    ``records`` maps each agency that knows the person to the key of their
    record there; agencies record names, dates and addresses with noise.
    """

    person_id: str
    household_id: str
    given_name: str
    family_name: str
    sex: str
    date_of_birth: str
    address: str
    postcode: str
    town: str
    nhs_number: str
    ni_number: str | None
    former_family_name: str | None = None
    previous_address: str | None = None
    previous_postcode: str | None = None
    upn: str | None = None
    pnc_id: str | None = None
    case_reference: str | None = None
    housing_ref: str | None = None
    council_id: str | None = None
    known_to_all: bool = False
    records: dict[str, str] = field(default_factory=dict)

    @property
    def age(self) -> int:
        return age(self.date_of_birth)

    @property
    def is_child(self) -> bool:
        return self.age < 18


@dataclass
class Household:
    """People living together, and the circumstances agencies see them through."""

    household_id: str
    members: list[Person]
    domestic_abuse: bool
    in_refuge: bool


def relationship(person: Person, other: Person) -> str:
    """What ``other`` is to ``person``, both of one household.

    Households are one or two adults (partners) and their children, so age
    alone tells the relationship.
    """
    if person.is_child:
        return "sibling" if other.is_child else "parent"
    return "child" if other.is_child else "partner"


@dataclass
class World:
    people: list[Person] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)


def age(dob: str) -> int:
    return (WORLD_DAY - date.fromisoformat(dob)).days // 365


def _dob(rng: random.Random, min_age: int, max_age: int) -> date:
    return WORLD_DAY - timedelta(days=rng.randint(min_age * 365 + 1, max_age * 365 + 364))


def _address(rng: random.Random, town: str, district: str) -> tuple[str, str]:
    postcode = f"{district} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    postcode += rng.choice("ABDEFGHJLNPQRSTUWXYZ")
    return f"{rng.randint(1, 180)} {rng.choice(_STREETS)}, {town}", postcode


def households(rng: random.Random, people: int) -> World:
    world = World()
    household_no = 0
    while len(world.people) < people:
        household_no += 1
        family = rng.choice(_FAMILY)
        town, district = rng.choice(_TOWNS)
        address, postcode = _address(rng, town, district)
        moved = rng.random() < 0.2
        previous = _address(rng, town, district) if moved else None
        adults = rng.choice([1, 1, 2, 2, 2])
        children = rng.choice([0, 0, 1, 2, 3])
        members = [_dob(rng, 19, 70) for _ in range(adults)]
        members += [_dob(rng, 0, 17) for _ in range(children)]
        household = Household(f"H{household_no:05d}", [], rng.random() < 0.08, in_refuge=False)
        household.in_refuge = household.domestic_abuse and rng.random() < 0.3
        for index, dob in enumerate(members):
            if len(world.people) >= people:
                break
            sex = rng.choice("FM")
            is_adult = index < adults
            person = Person(
                person_id=f"P{len(world.people) + 1:06d}",
                household_id=household.household_id,
                given_name=rng.choice(_GIVEN[sex]),
                family_name=family,
                sex=sex,
                date_of_birth=dob.isoformat(),
                address=address,
                postcode=postcode,
                town=town,
                nhs_number=identifiers.nhs_number(rng),
                ni_number=identifiers.ni_number(rng) if age(dob.isoformat()) >= 16 else None,
            )
            if is_adult and sex == "F" and rng.random() < 0.3:
                person.former_family_name = rng.choice(_FAMILY)
            if previous is not None:
                person.previous_address, person.previous_postcode = previous
            if 4 <= person.age <= 17:
                entry_year = WORLD_DAY.year - person.age + 4
                person.upn = identifiers.upn(rng, _LA_CODES[town], entry_year)
            household.members.append(person)
            world.people.append(person)
        world.households.append(household)
    for person in [p for p in world.people if 16 <= p.age <= 17][:KNOWN_TO_ALL]:
        person.known_to_all = True
    return world
