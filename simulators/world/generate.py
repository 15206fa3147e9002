"""Generate the demo world: households of people, and what each agency holds.

The same seed always gives byte-identical files, so tests and benchmarks can
name people by identifier. ``ground_truth.json`` records which agency record
belongs to which synthetic person; the gateway never reads it.
"""

from __future__ import annotations

import json
import random
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

from simulators.world import identifiers
from simulators.world.register import add_consent_and_labels

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
_SOCIAL_WORKERS = ["Priya Shah", "Tom Hughes", "Maria Lopez", "Ben Carter", "Ruth Okafor"]
_COUNCIL_TEAMS = ["children-east", "children-west", "early-help", "adults-north"]
_WORK_COACHES = ["Dev Patel", "Karen Moss", "Ian Price", "Lucy Chen"]


@dataclass
class Person:
    """One synthetic person: the ground truth every agency record derives from."""

    person_id: str
    household_id: str
    given_name: str
    family_name: str
    sex: str
    date_of_birth: str
    address: str
    postcode: str
    nhs_number: str
    ni_number: str | None
    council_id: str | None = None
    in_benefits: bool = False


@dataclass(frozen=True)
class WorldPaths:
    """Where a generated world lives on disk."""

    root: Path

    @property
    def council_db(self) -> Path:
        return self.root / "council.sqlite"

    @property
    def benefits_json(self) -> Path:
        return self.root / "benefits.json"

    @property
    def ground_truth(self) -> Path:
        return self.root / "ground_truth.json"


@dataclass
class _World:
    people: list[Person] = field(default_factory=list)


def _age(dob: date) -> int:
    return (WORLD_DAY - dob).days // 365


def _dob(rng: random.Random, min_age: int, max_age: int) -> date:
    return WORLD_DAY - timedelta(days=rng.randint(min_age * 365 + 1, max_age * 365 + 364))


def _households(rng: random.Random, people: int) -> _World:
    world = _World()
    household = 0
    while len(world.people) < people:
        household += 1
        family = rng.choice(_FAMILY)
        town, district = rng.choice(_TOWNS)
        postcode = f"{district} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        postcode += rng.choice("ABDEFGHJLNPQRSTUWXYZ")
        address = f"{rng.randint(1, 180)} {rng.choice(_STREETS)}, {town}"
        adults = rng.choice([1, 1, 2, 2, 2])
        children = rng.choice([0, 0, 1, 2, 3])
        members = [("adult", _dob(rng, 19, 70)) for _ in range(adults)]
        members += [("child", _dob(rng, 0, 17)) for _ in range(children)]
        for _role, dob in members:
            if len(world.people) >= people:
                break
            sex = rng.choice("FM")
            world.people.append(
                Person(
                    person_id=f"P{len(world.people) + 1:06d}",
                    household_id=f"H{household:05d}",
                    given_name=rng.choice(_GIVEN[sex]),
                    family_name=family,
                    sex=sex,
                    date_of_birth=dob.isoformat(),
                    address=address,
                    postcode=postcode,
                    nhs_number=identifiers.nhs_number(rng),
                    ni_number=identifiers.ni_number(rng) if _age(dob) >= 16 else None,
                )
            )
    return world


def _council(rng: random.Random, world: _World, path: Path) -> None:
    """Council social care: a case-management database keyed by council id."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE person (
            council_id TEXT PRIMARY KEY, given_name TEXT NOT NULL, family_name TEXT NOT NULL,
            date_of_birth TEXT NOT NULL, address TEXT NOT NULL, postcode TEXT NOT NULL,
            ni_number TEXT, nhs_number TEXT, allocated_worker TEXT, team TEXT,
            child_protection_plan INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX person_ni ON person (ni_number);
        CREATE INDEX person_nhs ON person (nhs_number);
        CREATE TABLE social_case (
            case_id TEXT PRIMARY KEY, council_id TEXT NOT NULL REFERENCES person(council_id),
            case_type TEXT NOT NULL, status TEXT NOT NULL, opened_on TEXT NOT NULL
        );
        CREATE INDEX case_person ON social_case (council_id);
        """
    )
    households_known = {
        p.household_id
        for p in world.people
        if rng.random() < (0.35 if _age(date.fromisoformat(p.date_of_birth)) < 18 else 0.15)
    }
    case_no = 0
    for person in world.people:
        if person.household_id not in households_known:
            continue
        person.council_id = identifiers.council_id(rng)
        is_child = _age(date.fromisoformat(person.date_of_birth)) < 18
        worker = rng.choice(_SOCIAL_WORKERS)
        team = rng.choice(_COUNCIL_TEAMS[:3] if is_child else _COUNCIL_TEAMS[2:])
        db.execute(
            "INSERT INTO person VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                person.council_id,
                person.given_name,
                person.family_name,
                person.date_of_birth,
                person.address,
                person.postcode,
                person.ni_number if rng.random() < 0.85 else None,
                person.nhs_number if rng.random() < 0.9 else None,
                worker,
                team,
                int(is_child and rng.random() < 0.2),
            ),
        )
        for _ in range(rng.choice([0, 1, 1, 2])):
            case_no += 1
            opened = WORLD_DAY - timedelta(days=rng.randint(10, 1500))
            db.execute(
                "INSERT INTO social_case VALUES (?,?,?,?,?)",
                (
                    f"SC{case_no:06d}",
                    person.council_id,
                    rng.choice(
                        ["child in need", "early help", "child protection"]
                        if is_child
                        else ["adult social care", "early help"]
                    ),
                    rng.choice(["open", "open", "closed"]),
                    opened.isoformat(),
                ),
            )
    db.commit()
    db.close()


def _benefits(rng: random.Random, world: _World, path: Path) -> None:
    """Benefits agency: claimants keyed by National Insurance number."""
    claimants = []
    for person in world.people:
        if person.ni_number is None or rng.random() > 0.45:
            continue
        person.in_benefits = True
        start = WORLD_DAY - timedelta(days=rng.randint(30, 2000))
        claims = [
            {
                "type": rng.choice(
                    ["Universal Credit", "PIP", "Carer's Allowance", "Pension Credit", "ESA"]
                ),
                "status": rng.choice(["in payment", "in payment", "suspended", "closed"]),
                "start_date": (start + timedelta(days=120 * i)).isoformat(),
            }
            for i in range(rng.choice([1, 1, 2]))
        ]
        claimants.append(
            {
                "ni_number": person.ni_number,
                "name": f"{person.given_name} {person.family_name}",
                "date_of_birth": person.date_of_birth,
                "postcode": person.postcode,
                "claims": claims,
                "sanctions": rng.choice([0, 0, 0, 1, 2]),
                "work_coach": rng.choice(_WORK_COACHES),
            }
        )
    path.write_text(json.dumps({"claimants": claimants}, indent=1, sort_keys=True))


def generate_world(root: Path, people: int = 2000, seed: int = 7) -> WorldPaths:
    """Write a fresh world under ``root`` and return where its files are."""
    rng = random.Random(seed)
    paths = WorldPaths(root)
    root.mkdir(parents=True, exist_ok=True)
    world = _households(rng, people)
    _council(rng, world, paths.council_db)
    add_consent_and_labels(paths.council_db, seed)
    _benefits(rng, world, paths.benefits_json)
    paths.ground_truth.write_text(
        json.dumps({"seed": seed, "people": [asdict(p) for p in world.people]}, indent=1)
    )
    return paths
