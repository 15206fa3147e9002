"""The policy filter is part of the schema: no field of a governed type resolves around it.

It is installed on each governed field's resolver when the schema is built (not run as
a middleware around every field), so these tests pin down that nothing can reach a
governed field without it: every such field refuses when nothing is decided, and a
governed field asked for through an alias, a fragment or an inline fragment is
decided, masked, withheld and audited exactly like one asked for by name.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from graphql import GraphQLObjectType, GraphQLResolveInfo
from graphql.pyutils import Path as ResponsePath

from gateway.adapters import build_adapters
from gateway.config import REPO_ROOT, agency_settings
from gateway.policy import Decision
from gateway.policy.decision import NOT_DECIDED
from gateway.purposes import load_purposes
from resolvers.context import RequestContext
from resolvers.errors import ForbiddenField
from resolvers.schema import GatewaySchema, build_schema
from resolvers.sections import SectionRecord
from simulators.launcher import DemoWorld
from tests.conftest import GatewayProcess, ref


@pytest.fixture(scope="module")
def schema(demo_world: DemoWorld) -> GatewaySchema:
    agencies = {name: agency_settings(name, e) for name, e in demo_world.endpoints().items()}
    return build_schema(build_adapters(agencies, 5.0), load_purposes(REPO_ROOT / "policies"))


class _Untouchable:
    """A root whose every attribute read fails: a resolver that touches it was called."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a withheld field's resolver read {name!r}")


def test_every_field_of_every_governed_type_is_refused_when_nothing_is_decided(
    schema: GatewaySchema,
) -> None:
    context = RequestContext(
        request_id="r",
        caller=None,  # type: ignore[arg-type]  # not read by the filter
        purpose="p",
        decision=Decision({}),
        fields_by_agency={},
        fanout=None,  # type: ignore[arg-type]
    )
    record_types = frozenset().union(*(s.type_names for s in schema.sections.values()))
    values = _ValuesThatFail()
    checked = 0
    for type_name in schema.governed_types:
        governed = schema.graphql_schema.get_type(type_name)
        assert isinstance(governed, GraphQLObjectType)
        for field_name, field in governed.fields.items():
            info: GraphQLResolveInfo[RequestContext] = SimpleNamespace(  # type: ignore[assignment]
                context=context, path=ResponsePath(None, "person", None).add_key(field_name)
            )
            root = SectionRecord(values, "person") if type_name in record_types else _Untouchable()
            assert field.resolve is not None, f"{type_name}.{field_name} has no filtered resolver"
            with pytest.raises(ForbiddenField, match=f"{type_name}.{field_name}.*{NOT_DECIDED}"):
                field.resolve(root, info)
            checked += 1
    assert checked > 100, "every section field, Person, search and audit types are governed"


def test_a_schema_is_filtered_once(schema: GatewaySchema) -> None:
    """Installed twice, a masked value would be masked again (a year is no date)."""
    record_types = frozenset().union(*(s.type_names for s in schema.sections.values()))

    with pytest.raises(ValueError, match="already filtered"):
        schema.policy_filter.install(schema.graphql_schema, record_types)


class _ValuesThatFail(dict[str, Any]):
    def get(self, key: str, default: Any = None) -> Any:
        raise AssertionError(f"a withheld field's value {key!r} was read")


def test_the_typename_filter_runs_only_for_documents_that_name_it(
    schema: GatewaySchema,
) -> None:
    policy_filter = schema.policy_filter

    assert policy_filter.middleware_for("{ person(reference: $r) { council { name } } }") is None
    assert policy_filter.middleware_for("{ person(reference: $r) { __typename } }") is not None


ALIASED = """
query($ref: PersonReference!) {
  p: person(reference: $ref) {
    c: council {
      where: address
      born: dateOfBirth
      ...Home
      ... on CouncilSection { address postcode }
      cases { id: caseId }
    }
  }
}
fragment Home on CouncilSection { home: address district: postcode }
"""


def test_aliases_and_fragments_reach_governed_fields_only_through_the_policy(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    variables = ref("NI_NUMBER", person_in_both["ni_number"])
    by_name = gateway.query(variables, role="keyworker", purpose="early_help").json()
    aliased = gateway.query(variables, role="keyworker", purpose="early_help", query=ALIASED).json()

    council = aliased["data"]["p"]["c"]
    assert council["born"] == by_name["data"]["person"]["council"]["dateOfBirth"]
    assert council["born"] == person_in_both["date_of_birth"][:4], "masked to the year"
    assert council["district"] == council["postcode"] == person_in_both["postcode"].split()[0]
    assert council["where"] is council["home"] is council["address"] is None
    forbidden = {
        tuple(e["path"]): e["message"]
        for e in aliased["errors"]
        if e["extensions"]["code"] == "FORBIDDEN"
    }
    reason = next(
        e["message"] for e in by_name["errors"] if e["path"] == ["person", "council", "address"]
    )
    assert {
        ("p", "c", "where"): reason,
        ("p", "c", "home"): reason,
        ("p", "c", "address"): reason,
    }.items() <= forbidden.items()
    summary = aliased["extensions"]["joinedup"]
    assert {"CouncilSection.address"} <= {w["coordinate"] for w in summary["withheld"]}
    assert {"CouncilSection.dateOfBirth", "CouncilSection.postcode"} <= {
        m["coordinate"] for m in summary["masked"]
    }


TYPENAMES = """
query($ref: PersonReference!) {
  person(reference: $ref) {
    matches { __typename agency }
    council { __typename name }
  }
}
"""


def test_typename_of_a_governed_type_is_decided_like_its_fields(
    gateway: GatewayProcess, person_in_both: dict[str, Any]
) -> None:
    """``__typename`` is no catalogued coordinate, so on a governed type it is refused
    (undecided), which nulls its object (it is non-null); other types answer it."""
    variables = ref("NI_NUMBER", person_in_both["ni_number"])
    body = gateway.query(variables, query=TYPENAMES).json()
    person_typename = gateway.query(
        variables, query="query($ref: PersonReference!) { person(reference: $ref) { __typename } }"
    ).json()

    assert {m["__typename"] for m in body["data"]["person"]["matches"]} == {"AgencyMatch"}
    assert body["data"]["person"]["council"] is None
    assert [(e["path"], e["message"]) for e in body["errors"]] == [
        (
            ["person", "council", "__typename"],
            f"Access to CouncilSection.__typename is denied: {NOT_DECIDED}",
        )
    ]
    assert person_typename["data"]["person"] is None
    assert [(e["path"], e["message"]) for e in person_typename["errors"]] == [
        (["person", "__typename"], f"Access to Person.__typename is denied: {NOT_DECIDED}")
    ]
