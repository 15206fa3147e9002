"""What each agency system holds about the synthetic population.

Every agency knows a realistic subset of people (most are registered with a
GP, children go to school, few are known to police or probation), keeps its
own identifiers (some missing, e.g. no NI number for children), records names,
dates and addresses with its own noise, and marks sensitive records with the
labels the policies use (``@labels`` vocabulary in ``adapters/sdk/contract.py``).
People flagged ``known_to_all`` are in all seven systems with their linking
identifiers intact, so demos and tests can follow one person everywhere.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from simulators.council import SCHEMA
from simulators.world import identifiers
from simulators.world.noise import RecordedIdentity, recorded_identity
from simulators.world.population import WORLD_DAY, Household, Person, World, relationship

_SOCIAL_WORKERS = ["Priya Shah", "Tom Hughes", "Maria Lopez", "Ben Carter", "Ruth Okafor"]
_COUNCIL_TEAMS = ["children-east", "children-west", "early-help", "adults-north"]
_WORK_COACHES = ["Dev Patel", "Karen Moss", "Ian Price", "Lucy Chen"]
_GP_PRACTICES = [
    ("A81001", "The Health Centre"),
    ("B82005", "Station Road Surgery"),
    ("C83019", "Riverside Medical Practice"),
    ("D84002", "Park View Group Practice"),
]
_GPS = ["Dr Anna Reid", "Dr Sanjay Mehta", "Dr Claire Dunn", "Dr Kwame Mensah"]
_SCHOOLS = [
    "St Mary's CE Primary",
    "Oakfield Primary",
    "Hillside Academy",
    "Northgate High School",
    "Kingsway Sixth Form",
]
_PROBATION_PRACTITIONERS = [
    ("Helen Ward", "Probation Delivery Unit North"),
    ("Marcus Bell", "Probation Delivery Unit South"),
    ("Aaliyah Noor", "Youth Justice Transition Team"),
]
_LICENCE_CONDITIONS = [
    "Not to contact the victim directly or indirectly",
    "Reside at approved premises",
    "Curfew 19:00-07:00, electronically monitored",
    "Attend substance-misuse treatment appointments",
    "Not to enter the exclusion zone shown on the map",
]
_REFUGE = ("Refuge address withheld (confidential)", "ZZ99 9ZZ")

Record = dict[str, Any]


def _identity(rng: random.Random, person: Person, rate: float) -> RecordedIdentity:
    previous = (
        (person.previous_address, person.previous_postcode)
        if person.previous_address and person.previous_postcode
        else None
    )
    return recorded_identity(
        rng,
        person.given_name,
        person.family_name,
        person.date_of_birth,
        (person.address, person.postcode),
        person.former_family_name,
        previous,
        rate,
    )


def _held(rng: random.Random, person: Person, value: str | None, rate: float) -> str | None:
    """An identifier as an agency holds it: sometimes never captured."""
    if value is None or person.known_to_all:
        return value
    return value if rng.random() < rate else None


def _days_ago(rng: random.Random, low: int, high: int) -> str:
    return (WORLD_DAY - timedelta(days=rng.randint(low, high))).isoformat()


def _labels(*pairs: tuple[bool, str]) -> list[str]:
    return [label for applies, label in pairs if applies]


def _in_refuge(world: World) -> set[str]:
    return {h.household_id for h in world.households if h.in_refuge}


def _domestic_abuse(world: World) -> set[str]:
    return {h.household_id for h in world.households if h.domestic_abuse}


def write_council(rng: random.Random, world: World, path: Path) -> None:
    """Council social care: a case-management database keyed by council id."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    refuge, abuse = _in_refuge(world), _domestic_abuse(world)
    known = {
        p.household_id
        for p in world.people
        if p.known_to_all
        or rng.random() < (0.15 if p.is_child else 0.07)
        or (p.household_id in abuse and p.is_child)
    }
    case_no = referral_no = consent_no = 0
    for person in world.people:
        if person.household_id not in known:
            continue
        person.council_id = identifiers.council_id(rng)
        person.records["council"] = person.council_id
        seen = _identity(rng, person, 0.1)
        in_refuge = person.household_id in refuge
        street, postcode = _REFUGE if in_refuge else (seen.address, seen.postcode)
        on_plan = person.is_child and (person.known_to_all or rng.random() < 0.2)
        adopted = person.is_child and rng.random() < 0.03
        db.execute(
            "INSERT INTO person VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                person.council_id,
                seen.given_name,
                seen.family_name,
                seen.date_of_birth,
                street,
                postcode,
                _held(rng, person, person.ni_number, 0.85),
                _held(rng, person, person.nhs_number, 0.9),
                rng.choice(_SOCIAL_WORKERS),
                rng.choice(_COUNCIL_TEAMS[:3] if person.is_child else _COUNCIL_TEAMS[2:]),
                int(on_plan),
                rng.choice(["neglect", "emotional abuse", "physical abuse"]) if on_plan else None,
                _days_ago(rng, 20, 400) if on_plan else None,
                ",".join(_labels((in_refuge, "refuge_address"), (adopted, "sealed_adoption"))),
            ),
        )
        for _ in range(rng.choice([0, 1, 1, 2]) + int(person.known_to_all)):
            case_no += 1
            case_type = rng.choice(
                ["child in need", "early help", "child protection"]
                if person.is_child
                else ["adult social care", "early help"]
            )
            db.execute(
                "INSERT INTO social_case VALUES (?,?,?,?,?,?)",
                (
                    f"SC{case_no:06d}",
                    person.council_id,
                    case_type,
                    "open" if person.known_to_all else rng.choice(["open", "open", "closed"]),
                    _days_ago(rng, 10, 1500),
                    ",".join(_labels((case_type == "child protection", "safeguarding_flag"))),
                ),
            )
        for _ in range(rng.choice([0, 1, 2])):
            referral_no += 1
            db.execute(
                "INSERT INTO referral VALUES (?,?,?,?,?,?)",
                (
                    f"RF{referral_no:06d}",
                    person.council_id,
                    _days_ago(rng, 5, 900),
                    rng.choice(["police", "school", "health visitor", "GP", "self", "housing"]),
                    rng.choice(
                        ["domestic abuse", "neglect", "school attendance", "parental mental health"]
                    ),
                    rng.choice(["assessment", "early help offered", "no further action"]),
                ),
            )
        for purpose in ("early_help", "safeguarding_children"):
            if rng.random() < 0.6:
                consent_no += 1
                db.execute(
                    "INSERT INTO consent VALUES (?,?,?,?,?)",
                    (
                        f"CN{consent_no:06d}",
                        person.council_id,
                        purpose,
                        int(rng.random() < 0.8),
                        _days_ago(rng, 5, 700),
                    ),
                )
    for household in world.households:
        recorded = [p for p in household.members if p.council_id is not None]
        db.executemany(
            "INSERT INTO relationship VALUES (?,?,?)",
            [
                (person.council_id, other.council_id, relationship(person, other))
                for person in recorded
                for other in recorded
                if other is not person
            ],
        )
    db.commit()
    db.close()


def benefits(rng: random.Random, world: World) -> Record:
    """Benefits agency: claimants keyed by National Insurance number."""
    claimants = []
    for person in world.people:
        if person.ni_number is None or not (person.known_to_all or rng.random() < 0.45):
            continue
        person.records["benefits"] = person.ni_number
        seen = _identity(rng, person, 0.08)
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
                "name": f"{seen.given_name} {seen.family_name}",
                "date_of_birth": seen.date_of_birth,
                "postcode": seen.postcode,
                "claims": claims,
                "sanctions": rng.choice([0, 0, 0, 1, 2]),
                "work_coach": rng.choice(_WORK_COACHES),
            }
        )
    return {"claimants": claimants}


def nhs(rng: random.Random, world: World) -> Record:
    """NHS: FHIR-shaped patients, encounters, flags and conditions."""
    refuge, abuse = _in_refuge(world), _domestic_abuse(world)
    patients: list[Record] = []
    encounters: list[Record] = []
    flags: list[Record] = []
    conditions: list[Record] = []
    for person in world.people:
        if not (person.known_to_all or rng.random() < 0.97):
            continue
        patient_id = f"pat-{len(patients) + 1:06d}"
        person.records["nhs"] = patient_id
        seen = _identity(rng, person, 0.05)
        in_refuge = person.household_id in refuge
        street, postcode = _REFUGE if in_refuge else (seen.address, seen.postcode)
        ods, practice = rng.choice(_GP_PRACTICES)
        patients.append(
            {
                "id": patient_id,
                "nhs_number": person.nhs_number,
                "given": seen.given_name,
                "family": seen.family_name,
                "birth_date": seen.date_of_birth,
                "gender": "female" if person.sex == "F" else "male",
                "address": street,
                "postcode": postcode,
                "gp": rng.choice(_GPS),
                "practice_ods": ods,
                "practice": practice,
                "labels": _labels((in_refuge, "refuge_address")),
            }
        )
        for _ in range(rng.choice([0, 0, 0, 1, 2]) + int(person.known_to_all)):
            encounters.append(
                {
                    "patient": patient_id,
                    "class": "EMER",
                    "type": "A&E attendance",
                    "reason": rng.choice(["injury", "chest pain", "overdose", "fall", "asthma"]),
                    "date": _days_ago(rng, 1, 700),
                }
            )
        if rng.random() < 0.12 or person.known_to_all:
            for _ in range(rng.choice([1, 2, 3])):
                encounters.append(
                    {
                        "patient": patient_id,
                        "class": "AMB",
                        "type": "Mental health contact",
                        "reason": rng.choice(
                            ["community mental health team", "IAPT talking therapy", "crisis team"]
                        ),
                        "date": _days_ago(rng, 1, 700),
                    }
                )
        if person.household_id in abuse or rng.random() < 0.02:
            flags.append(
                {
                    "patient": patient_id,
                    "category": "safeguarding",
                    "text": "Safeguarding concern: domestic abuse in household",
                    "start": _days_ago(rng, 10, 500),
                    "labels": ["safeguarding_flag"],
                }
            )
        if not person.is_child or person.age >= 16:
            if rng.random() < 0.05 or person.known_to_all:
                conditions.append(
                    {
                        "patient": patient_id,
                        "category": "sexual-health",
                        "text": "Attended sexual health clinic",
                        "recorded": _days_ago(rng, 10, 900),
                        "labels": ["sexual_health"],
                    }
                )
            if rng.random() < 0.06 or person.known_to_all:
                conditions.append(
                    {
                        "patient": patient_id,
                        "category": "substance-misuse",
                        "text": rng.choice(["Alcohol dependence", "Opioid dependence"]),
                        "recorded": _days_ago(rng, 10, 900),
                        "labels": ["substance_misuse"],
                    }
                )
    return {
        "patients": patients,
        "encounters": encounters,
        "flags": flags,
        "conditions": conditions,
    }


def schools(rng: random.Random, world: World) -> Record:
    """Schools: pupils keyed by the school system's own pupil id (UPN kept for education)."""
    abuse = _domestic_abuse(world)
    pupils: list[Record] = []
    for person in world.people:
        if person.upn is None or not (person.known_to_all or rng.random() < 0.95):
            continue
        pupil_id = f"PUP{len(pupils) + 1:06d}"
        person.records["schools"] = pupil_id
        seen = _identity(rng, person, 0.1)
        exclusions = [
            {
                "type": rng.choice(["suspension", "suspension", "permanent exclusion"]),
                "start_date": _days_ago(rng, 10, 600),
                "days": rng.randint(1, 5),
                "reason": rng.choice(["persistent disruption", "physical assault", "drugs"]),
            }
            for _ in range(rng.choice([0, 0, 0, 0, 1, 2]) + int(person.known_to_all))
        ]
        concern = person.household_id in abuse or rng.random() < 0.03
        pupils.append(
            {
                "pupil_id": pupil_id,
                "upn": person.upn,
                "nhs_number": _held(rng, person, person.nhs_number, 0.85),
                "given_name": seen.given_name,
                "family_name": seen.family_name,
                "date_of_birth": seen.date_of_birth,
                "postcode": seen.postcode,
                "school": rng.choice(_SCHOOLS[:3] if person.age < 11 else _SCHOOLS[3:]),
                "year_group": min(max(person.age - 4, 0), 13),
                "attendance_pct": round(rng.uniform(62.0, 99.5), 1),
                "sen_status": rng.choice(["none", "none", "none", "SEN support", "EHC plan"]),
                "exclusions": exclusions,
                "labels": _labels((concern, "safeguarding_flag")),
            }
        )
    return {"pupils": pupils}


def police(rng: random.Random, world: World) -> Record:
    """Police: nominals keyed by PNC id, with domestic-abuse incidents and missing episodes."""
    refuge, abuse = _in_refuge(world), _domestic_abuse(world)
    nominals = []
    incident_no = 0
    for person in world.people:
        in_abuse = person.household_id in abuse
        known = (
            person.known_to_all
            or (in_abuse and not person.is_child)
            or (person.is_child and person.age >= 10 and rng.random() < 0.03)
            or (not person.is_child and rng.random() < 0.04)
        )
        if not known:
            continue
        person.pnc_id = identifiers.pnc_id(rng, rng.randint(2005, 2026))
        person.records["police"] = person.pnc_id
        seen = _identity(rng, person, 0.15)
        incidents = []
        if in_abuse or person.known_to_all:
            for _ in range(rng.choice([1, 2, 3])):
                incident_no += 1
                incidents.append(
                    {
                        "reference": f"DA/{incident_no:06d}",
                        "date": _days_ago(rng, 1, 800),
                        "role": rng.choice(["victim", "perpetrator", "witness"]),
                        "risk": rng.choice(["standard", "medium", "high"]),
                    }
                )
        missing = [
            {
                "date": _days_ago(rng, 1, 600),
                "hours": rng.randint(2, 72),
                "found": rng.choice(["friend's address", "town centre", "returned home"]),
            }
            for _ in range(rng.choice([1, 2]) if person.is_child else 0)
        ]
        in_refuge = person.household_id in refuge
        street, postcode = _REFUGE if in_refuge else (seen.address, seen.postcode)
        nominals.append(
            {
                "pnc_id": person.pnc_id,
                "ni_number": _held(rng, person, person.ni_number, 0.7),
                "given_name": seen.given_name,
                "family_name": seen.family_name,
                "date_of_birth": seen.date_of_birth,
                "address": street,
                "postcode": postcode,
                "incidents": incidents,
                "missing_episodes": missing,
                "labels": _labels((in_refuge, "refuge_address")),
            }
        )
    return {"nominals": nominals}


def probation(rng: random.Random, world: World) -> Record:
    """Probation: offenders keyed by case reference number (CRN), holding PNC and NI numbers."""
    offenders = []
    for person in world.people:
        if person.pnc_id is None or not (person.known_to_all or rng.random() < 0.3):
            continue
        if person.age < 16:
            continue
        person.case_reference = identifiers.case_reference(rng)
        person.records["probation"] = person.case_reference
        seen = _identity(rng, person, 0.1)
        practitioner, team = rng.choice(_PROBATION_PRACTITIONERS)
        mappa = rng.choice([0, 0, 0, 1, 1, 2, 3]) if not person.known_to_all else 2
        status = rng.choice(["community order", "licence", "post-sentence supervision"])
        offenders.append(
            {
                "crn": person.case_reference,
                "pnc_id": person.pnc_id,
                "ni_number": _held(rng, person, person.ni_number, 0.9),
                "given_name": seen.given_name,
                "family_name": seen.family_name,
                "date_of_birth": seen.date_of_birth,
                "supervision_status": status,
                "practitioner": practitioner,
                "team": team,
                "licence_conditions": (
                    rng.sample(_LICENCE_CONDITIONS, rng.randint(1, 3))
                    if status == "licence"
                    else []
                ),
                "risk_level": rng.choice(["low", "medium", "high", "very high"]),
                "mappa_level": mappa,
                "labels": [f"mappa_level_{mappa}"] if mappa else [],
            }
        )
    return {"offenders": offenders}


def housing(rng: random.Random, world: World) -> Record:
    """Housing: tenants and applicants keyed by housing reference."""
    refuge = _in_refuge(world)
    tenants: list[Record] = []
    for household in world.households:
        in_refuge = household.household_id in refuge
        adults = [p for p in household.members if not p.is_child or p.known_to_all]
        if not (in_refuge or any(p.known_to_all for p in adults) or rng.random() < 0.3):
            continue
        tenancy_start = _days_ago(rng, 30, 4000)
        tenure = (
            "temporary accommodation"
            if in_refuge
            else rng.choice(["secure council tenancy", "housing association", "private rented"])
        )
        arrears = round(rng.choice([0.0, 0.0, rng.uniform(50, 2500)]), 2)
        for person in adults:
            person.housing_ref = identifiers.housing_reference(rng)
            person.records["housing"] = person.housing_ref
            seen = _identity(rng, person, 0.1)
            applications = [
                {
                    "date": _days_ago(rng, 30, 1200),
                    "status": rng.choice(["accepted", "under assessment", "closed"]),
                    "duty": rng.choice(["prevention", "relief", "main housing duty"]),
                }
                for _ in range(int(in_refuge or person.known_to_all or rng.random() < 0.1))
            ]
            street, postcode = _REFUGE if in_refuge else (seen.address, seen.postcode)
            tenants.append(
                {
                    "housing_ref": person.housing_ref,
                    "ni_number": _held(rng, person, person.ni_number, 0.85),
                    "name": f"{seen.given_name} {seen.family_name}",
                    "date_of_birth": seen.date_of_birth,
                    "address": street,
                    "postcode": postcode,
                    "tenancy": {"tenure": tenure, "start_date": tenancy_start},
                    "arrears": arrears,
                    "homelessness_applications": applications,
                    "labels": _labels((in_refuge, "refuge_address")),
                }
            )
        # Filled in once every joint tenant has a reference (and without the world's rng).
        for person, tenant in zip(adults, tenants[-len(adults) :], strict=True):
            tenant["tenancy"]["reference"] = f"TEN-{adults[0].housing_ref}"
            tenant["household"] = _tenancy_household(household, person, adults, tenant["postcode"])
    return {"tenants": tenants}


def _tenancy_household(
    household: Household, tenant: Person, tenants: list[Person], postcode: str
) -> list[Record]:
    """Who else lives at the tenancy, as the housing file lists them.

    Joint tenants by their housing references; other members (children) as
    the application form gives them, by name and date of birth only, which
    the gateway matches demographically. The names come from a form, so they
    carry a little noise from an rng of their own (the world's stream, and
    so every other agency's records, stay as they were).
    """
    form = random.Random(f"housing-form-{household.household_id}")
    listed: list[Record] = []
    for member in household.members:
        if member is tenant:
            continue
        if member in tenants:
            listed.append(
                {"housing_ref": member.housing_ref, "relationship": relationship(tenant, member)}
            )
            continue
        seen = _identity(form, member, 0.05)
        listed.append(
            {
                "given_name": seen.given_name,
                "family_name": seen.family_name,
                "date_of_birth": seen.date_of_birth,
                "postcode": postcode,
                "relationship": relationship(tenant, member),
            }
        )
    return listed


JSON_AGENCIES: dict[str, Callable[[random.Random, World], Record]] = {
    "benefits": benefits,
    "nhs": nhs,
    "schools": schools,
    "police": police,
    "probation": probation,
    "housing": housing,
}
"""The agencies whose simulators serve a JSON data file, in generation order."""
