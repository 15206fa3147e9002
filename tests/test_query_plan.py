"""Query planning: a query asks only the agencies it needs (resolvers/schema.py ``plan``,
resolvers/fanout.py ``needs``).

An agency whose section the query does not ask for is looked up only when its record
could teach an identifier a needed agency finds people by, and is never searched. The
answers must be exactly those of a query that asks every agency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from graphql import parse

from adapters.sdk import Adapter, Health, Identifier, Match, SectionSpec
from bench.queries import INTROSPECT_TYPES, Section, person_query, person_sections
from gateway.adapters import build_adapters
from gateway.config import DEMO_AGENCIES, REPO_ROOT, agency_settings
from gateway.purposes import load_purposes
from resolvers.fanout import FanOut
from resolvers.schema import GatewaySchema, build_schema
from tests.conftest import GatewayProcess

# Asked by NI number about someone every agency knows, a query needing one agency's
# section asks the council (the case register) and that agency, and besides them only
# agencies that hold an identifier scheme the agency finds people by and nobody gave:
# police and probation both find people by PNC id, which only they hold.
TEACHERS: dict[str, set[str]] = {a: set() for a in DEMO_AGENCIES} | {
    "police": {"probation"},
    "probation": {"police"},
}


@pytest.fixture(scope="module")
def adapters() -> dict[str, Adapter]:
    return build_adapters({n: agency_settings(n, "unused") for n in DEMO_AGENCIES}, 1.0)


@pytest.fixture(scope="module")
def schema(adapters: dict[str, Adapter]) -> GatewaySchema:
    return build_schema(adapters, load_purposes(REPO_ROOT / "policies"))


def agencies_of(schema: GatewaySchema, query: str) -> frozenset[str] | None:
    return schema.plan(parse(query)).agencies


def test_a_plan_names_the_agencies_whose_fields_the_query_asks_for(schema: GatewaySchema) -> None:
    def person(fields: str) -> str:
        return f'{{ person(reference: {{scheme: NI_NUMBER, value: "X"}}) {{ {fields} }} }}'

    assert agencies_of(schema, person("benefits { niNumber }")) == frozenset({"benefits"})
    both = person("nhs { nhsNumber } schools { upn }")
    assert agencies_of(schema, both) == frozenset({"nhs", "schools"})
    assert agencies_of(schema, person("reference { value }")) == frozenset()
    # The timeline is built from every agency's events.
    timeline = agencies_of(schema, person("timeline { events { date } }"))
    assert timeline is not None and timeline >= {"council", "nhs", "police"}


@pytest.mark.parametrize(
    "fields", ["matches { agency status }", "household { members { relationship } }"]
)
def test_where_each_agency_stands_and_households_need_every_agency(
    schema: GatewaySchema, fields: str
) -> None:
    query = f'{{ person(reference: {{scheme: NI_NUMBER, value: "X"}}) {{ {fields} }} }}'
    assert agencies_of(schema, query) is None


def asked(body: dict[str, Any], operation: str = "lookup") -> set[str]:
    """The agencies the request asked, in this operation (a lookup that reads is a lookup)."""
    operations = {operation, f"{operation}_read"}
    calls = body["extensions"]["joinedup"]["upstream"]
    return {c["agency"] for c in calls if c["operation"] in operations}


def errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors, without where in the query text each arose."""
    return [{k: v for k, v in e.items() if k != "locations"} for e in body.get("errors", [])]


@pytest.fixture(scope="module")
def sections(gateway: GatewayProcess) -> dict[str, Section]:
    introspection = gateway.query({}, query=INTROSPECT_TYPES).json()
    return {s.agency: s for s in person_sections(introspection)}


def test_a_section_asked_alone_is_the_section_of_the_whole_view(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]], sections: dict[str, Section]
) -> None:
    everyone = list(sections.values())
    people = [p for p in ground_truth if p["known_to_all"]][:2] + [
        p for p in ground_truth if p["ni_number"] and len(p["records"]) in (3, 4)
    ][:2]
    assert len(people) == 4, "precondition: people known to all and to a few agencies"
    for person in people:
        ref = {"ref": {"scheme": "NI_NUMBER", "value": person["ni_number"]}}
        whole = gateway.query(ref, query=person_query(everyone)).json()
        for agency, section in sections.items():
            alone = gateway.query(ref, query=person_query([section], matches=False)).json()
            assert alone["data"]["person"][agency] == whole["data"]["person"][agency], agency
            assert errors(alone) == [
                e for e in errors(whole) if e["path"][:2] == ["person", agency]
            ]
            for operation in ("lookup", "search"):
                assert asked(alone, operation) <= asked(whole, operation)
            if person["known_to_all"] and agency != "council":
                assert asked(alone) == {"council", agency} | TEACHERS[agency], agency


def test_an_agency_outside_the_query_is_asked_only_to_learn_an_identifier(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]], sections: dict[str, Section]
) -> None:
    person = next(p for p in ground_truth if p["known_to_all"])
    schools_only = person_query([sections["schools"]], matches=False)

    # By NI number: the council (needed for the case register) gives the NHS number
    # schools finds pupils by; nobody else could teach anything schools or the council need.
    by_ni = gateway.query(
        {"ref": {"scheme": "NI_NUMBER", "value": person["ni_number"]}}, query=schools_only
    ).json()
    assert asked(by_ni) == {"council", "schools"}
    assert by_ni["data"]["person"]["schools"] is not None

    # By probation case reference: probation is outside the query but holds the NI number
    # the council finds people by, so it is asked; the police, who hold nothing new, are not.
    by_crn = gateway.query(
        {"ref": {"scheme": "CASE_REFERENCE", "value": person["case_reference"]}},
        query=schools_only,
    ).json()
    assert asked(by_crn) == {"probation", "council", "schools"}
    assert by_crn["data"]["person"]["schools"] == by_ni["data"]["person"]["schools"]


def test_someone_no_needed_agency_knows_is_looked_for_everywhere(
    gateway: GatewayProcess, ground_truth: list[dict[str, Any]], sections: dict[str, Section]
) -> None:
    """Found or not found is the whole view's answer: a person the council does not
    know, asked about for the council section alone, is found with no council record."""
    person = next(
        p for p in ground_truth if "benefits" in p["records"] and "council" not in p["records"]
    )
    ref = {"ref": {"scheme": "NI_NUMBER", "value": person["ni_number"]}}

    body = gateway.query(ref, query=person_query([sections["council"]], matches=False)).json()
    whole = gateway.query(ref, query=person_query(list(sections.values()))).json()

    assert "errors" not in body, body.get("errors")
    assert body["data"]["person"] == {"council": None}
    assert asked(body) == asked(whole), "every agency the whole view asks by identifiers"


class Directory(Adapter):
    """Knows one person: found by ``finds_by``, carrying ``holds``; notes each lookup."""

    def __init__(
        self, section: SectionSpec, finds_by: Identifier, holds: tuple[Identifier, ...]
    ) -> None:
        self.section, self.finds_by, self.holds = section, finds_by, holds
        self.asked = 0

    def discover(self) -> SectionSpec:
        return self.section

    async def check(self) -> Health:
        return Health(True)

    async def lookup(self, identifiers: tuple[Identifier, ...]) -> Match | None:
        self.asked += 1
        if self.finds_by not in identifiers:
            return None
        return Match(self.section.agency, "1", self.holds)

    async def read(
        self, local_ids: tuple[str, ...], fields: frozenset[str]
    ) -> Mapping[str, Mapping[str, Any]]:
        return {}


async def test_an_identifier_held_but_not_searchable_by_is_learnt_from_where_it_is_held() -> None:
    ni, passport = Identifier("NI_NUMBER", "QQ1"), Identifier("PASSPORT", "P1")
    # Finds people by NI number and holds their passport number, which it cannot search by.
    registry = Directory(
        SectionSpec("registry", "R", ("NI_NUMBER",), (), other_identifier_schemes=("PASSPORT",)),
        ni,
        (ni, passport),
    )
    bystander = Directory(SectionSpec("bystander", "B", ("NI_NUMBER",), ()), ni, (ni,))
    borders = Directory(SectionSpec("borders", "X", ("PASSPORT",), ()), passport, (passport,))
    adapters = {"registry": registry, "bystander": bystander, "borders": borders}

    person = await FanOut(adapters, needs=frozenset({"borders"})).find(ni)

    assert set(person.matches) == {"registry", "borders"}
    assert (registry.asked, bystander.asked, borders.asked) == (1, 0, 1)


async def test_once_someone_nobody_needed_knows_is_found_only_teachers_are_asked() -> None:
    """Asking everyone settles whether the person is found at all; after the first match,
    an agency that could teach only agencies outside the query is not asked."""
    ni, pnc = Identifier("NI_NUMBER", "QQ1"), Identifier("PNC_ID", "P1")
    wanted = Directory(SectionSpec("wanted", "W", ("NI_NUMBER",), ()), Identifier("NI", "-"), ())
    # Knows the person by NI number and holds a PNC id, which the wanted agency cannot use.
    police = Directory(SectionSpec("police", "P", ("NI_NUMBER", "PNC_ID"), ()), ni, (ni, pnc))
    # Finds people by that PNC id only: it could teach the wanted agency nothing.
    custody = Directory(SectionSpec("custody", "C", ("PNC_ID",), ()), pnc, (pnc,))
    adapters = {"wanted": wanted, "police": police, "custody": custody}

    person = await FanOut(adapters, needs=frozenset({"wanted"})).find(ni)

    assert set(person.matches) == {"police"}
    assert (wanted.asked, police.asked, custody.asked) == (1, 1, 0)
    everyone = await FanOut(adapters).find(ni)
    assert set(everyone.matches) == {"police", "custody"}, "the whole view asks custody"
