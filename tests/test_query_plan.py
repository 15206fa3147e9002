"""Query planning: a query asks only the agencies it needs (resolvers/schema.py ``plan``,
resolvers/fanout.py ``needs``).

An agency whose section the query does not ask for is looked up only when its record
could teach an identifier a needed agency finds people by, and is never searched. The
answers must be exactly those of a query that asks every agency.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from adapters.sdk import Adapter
from bench.queries import INTROSPECT_TYPES, Section, person_query, person_sections
from gateway.adapters import build_adapters
from gateway.config import DEMO_AGENCIES, REPO_ROOT, agency_settings
from gateway.purposes import load_purposes
from resolvers.schema import GatewaySchema, build_schema
from tests.conftest import GatewayProcess

# Asked by NI number about someone every agency knows, a query needing one agency's
# section asks the council (the case register) and that agency, and besides them only
# agencies that hold an identifier scheme the agency finds people by and nobody gave:
# police and probation both find people by PNC id, which only they hold.
TEACHERS = {a: set() for a in DEMO_AGENCIES} | {"police": {"probation"}, "probation": {"police"}}


@pytest.fixture(scope="module")
def adapters() -> dict[str, Adapter]:
    return build_adapters({n: agency_settings(n, "unused") for n in DEMO_AGENCIES}, 1.0)


@pytest.fixture(scope="module")
def schema(adapters: dict[str, Adapter]) -> GatewaySchema:
    return build_schema(adapters, load_purposes(REPO_ROOT / "policies"))


def agencies_of(schema: GatewaySchema, query: str) -> frozenset[str] | None:
    return schema.plan(parse(query)).agencies


def test_a_plan_names_the_agencies_whose_fields_the_query_asks_for(schema: GatewaySchema) -> None:
    ref = '(reference: {scheme: NI_NUMBER, value: "X"})'

    assert agencies_of(schema, f"{{ person{ref} {{ benefits {{ niNumber }} }} }}") == {"benefits"}
    assert agencies_of(
        schema, f"{{ person{ref} {{ nhs {{ nhsNumber }} schools {{ upn }} }} }}"
    ) == {"nhs", "schools"}
    assert agencies_of(schema, f"{{ person{ref} {{ reference {{ value }} }} }}") == frozenset()
    # The timeline is built from every agency's events.
    timeline = agencies_of(schema, f"{{ person{ref} {{ timeline {{ events {{ date }} }} }} }}")
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
    """The agencies the request asked, in this operation."""
    calls = body["extensions"]["joinedup"]["upstream"]
    return {c["agency"] for c in calls if c["operation"] == operation}


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
