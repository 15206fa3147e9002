"""The gateway's GraphQL schema: ``Query.person`` and one section per enabled adapter."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, Optional, TypeGuard

import strawberry
from graphql import DocumentNode, ExecutionResult, GraphQLSchema, execute
from graphql.pyutils import AwaitableOrValue, is_awaitable
from strawberry.tools import create_type

from adapters.sdk import Adapter, AdapterError
from gateway.identity import match_token
from gateway.policy import Decision, RequestedField
from gateway.purposes import Purpose
from resolvers import audit_api, search
from resolvers.catalogue import build_catalogue_field
from resolvers.context import RequestContext, person_key
from resolvers.coordinates import requested_coordinates
from resolvers.errors import (
    ForbiddenField,
    InvalidReference,
    PersonNotFound,
    TooManyPeople,
    UpstreamFailure,
)
from resolvers.fanout import PersonFetch
from resolvers.household import build_household_types, household_field
from resolvers.labels import apply_record_labels
from resolvers.policy_filter import PolicyFilter
from resolvers.references import normalised
from resolvers.sections import SectionRecord, SectionType, compose_section, household_coordinate
from resolvers.timeline import build_timeline_field, implied_coordinates

MAX_PEOPLE = 500


@strawberry.type(description="An identifier in one scheme, e.g. NI_NUMBER QQ123456C.")
class PersonIdentifier:
    scheme: str
    value: str


@strawberry.enum(description="Whether an agency system holds a record for the person.")
class MatchStatus(enum.Enum):
    MATCHED = "matched"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"


@strawberry.enum(description="How the gateway found the person's record in an agency.")
class MatchMethod(enum.Enum):
    IDENTIFIER = "identifier"
    DEMOGRAPHICS = "demographics"


@strawberry.type(
    description="A record that may be the person but is too close to call: a person must "
    "confirm it (e.g. by looking the person up by an identifier); nothing of it is disclosed."
)
class PossibleMatch:
    probability: float


@strawberry.type(description="How the person was found in one agency system.")
class AgencyMatch:
    agency: str
    status: MatchStatus
    method: MatchMethod | None = strawberry.field(
        default=None, description="Identifier lookup, or demographic matching."
    )
    confidence: float | None = strawberry.field(
        default=None,
        description="Match probability (1.0 for an identifier). Below the policy's threshold "
        "nothing from the agency is disclosed.",
    )
    possible_matches: list[PossibleMatch] = strawberry.field(
        default_factory=list,
        description="When not matched: candidates too close to call, needing confirmation.",
    )


@strawberry.type(name="Purpose", description="A purpose of use a request may declare.")
class PurposeType:
    id: str
    title: str
    lawful_basis: str


EVERY_AGENCY_COORDINATES = frozenset({"Person.matches", "Person.household"})
"""Fields that need every agency asked: where each agency stands, and household
members, who may be known only to agencies the rest of the query does not ask."""


@dataclass(frozen=True)
class QueryPlan:
    """What a checked document needs, worked out once per document (``gateway.documents``)."""

    requested: tuple[RequestedField, ...]
    """Every governed coordinate it asks for, with what it implies: what the policy decides on."""
    agencies: frozenset[str] | None
    """The agencies whose records it needs; None for all of them
    (:data:`EVERY_AGENCY_COORDINATES`). Identity resolution asks the others only to
    learn an identifier a needed agency finds people by (``FanOut``): data minimisation."""

    def needing(self, also: frozenset[str]) -> frozenset[str] | None:
        """The agencies to resolve people in when the request needs ``also`` as well."""
        return None if self.agencies is None else self.agencies | also


@dataclass(frozen=True)
class GatewaySchema:
    """The composed schema plus what the policy step needs to know about it."""

    strawberry_schema: strawberry.Schema
    sections: Mapping[str, SectionType]
    governed_types: frozenset[str]
    agency_of: Mapping[str, str]
    policy_filter: PolicyFilter
    """Installed on every governed field of the schema (see ``resolvers.policy_filter``)."""

    @property
    def graphql_schema(self) -> GraphQLSchema:
        return self.strawberry_schema._schema

    def execute(
        self,
        document: DocumentNode,
        query: str,
        context: RequestContext,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> AwaitableOrValue[ExecutionResult]:
        """Run a checked document (``query`` is its text) under the schema's policy filter."""
        return execute(
            self.graphql_schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            middleware=self.policy_filter.middleware_for(query),
            is_awaitable=_is_awaitable,
        )

    def plan(self, document: DocumentNode) -> QueryPlan:
        """What the document needs: the fields the policy decides on, the agencies to ask."""
        named = requested_coordinates(self.graphql_schema, document)
        requested = self._requested_fields(named)
        if not EVERY_AGENCY_COORDINATES.isdisjoint(named):
            return QueryPlan(requested, None)
        return QueryPlan(requested, frozenset(f.agency for f in requested if f.agency))

    def _requested_fields(self, named: frozenset[str]) -> tuple[RequestedField, ...]:
        """Every governed coordinate the document asks for, including what it implies.

        ``Person.timeline`` is built from section list fields, so asking for it asks
        for those too: the policy decides on them like on any other field.
        """
        wanted = {
            c: self.agency_of.get(c)
            for c in named
            if c.split(".")[0] in self.governed_types or c == search.COORDINATE
        }
        if "Person.timeline" in wanted or "Household.timeline" in named:
            wanted.update(implied_coordinates(self.sections))
        if "Person.household" in wanted:
            wanted.update(
                (household_coordinate(agency), agency)
                for agency, section in self.sections.items()
                if section.spec.household_links
            )
        return tuple(RequestedField(c, agency) for c, agency in sorted(wanted.items()))

    def readable_fields(
        self, requested: tuple[RequestedField, ...], decision: Decision
    ) -> dict[str, frozenset[str]]:
        """Per agency, the top-level section fields to read: requested and not denied.

        Only these are asked of the adapter, so withheld data never enters the gateway.
        """
        open_sections = {
            agency
            for agency in self.sections
            if decision.for_field(f"Person.{agency}").effect != "deny"
        }
        readable: dict[str, set[str]] = {}
        for field in requested:
            if field.agency not in open_sections:
                continue
            section = self.sections[field.agency]
            type_name, _, field_name = field.coordinate.partition(".")
            if (
                type_name == section.type_name
                and decision.for_field(field.coordinate).effect != "deny"
            ):
                readable.setdefault(section.agency, set()).add(field_name)
        return {agency: frozenset(names) for agency, names in readable.items()}


_NEVER_AWAITABLE = frozenset({str, int, float, bool, type(None), list, dict, SectionRecord})


def _is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    """graphql-core's check, without its attribute lookups for the plain values most fields
    return (graphql-core asks ~460 times per full person view); exact types only, so a
    subclass that is awaitable still gets the full check."""
    return type(value) not in _NEVER_AWAITABLE and is_awaitable(value)


def _section_resolver(section: SectionType) -> Any:
    """``Person.<agency>``: the person's section, built once from its settled read.

    Every read has settled before execution starts (``gateway.http``), so the section is
    built at once, with no awaitable per section; a read still pending is awaited.
    Strawberry types the field from it; graphql-core calls it (``build_schema``).
    """

    def resolve(root: PersonFetch, info: strawberry.Info) -> Any:
        error = root.lookup_errors.get(section.agency)
        if error is not None:
            raise UpstreamFailure(error)
        if section.agency not in root.matches:
            return None
        read = root.reads.get(section.agency)
        if read is None:
            return section.build({}, info.context.key_at(info.path.as_list()))
        if isinstance(read, asyncio.Future) and read.done() and not read.cancelled():
            exception = read.exception()
            if isinstance(exception, AdapterError):
                raise UpstreamFailure(exception)
            return _section(section, root, info, read.result())
        return _section_later(section, root, info, read)

    resolve.__annotations__["return"] = Optional[section.graphql_type]  # noqa: UP045
    resolve.__name__ = section.agency  # create_type keys fields by resolver name
    return resolve


async def _section_later(
    section: SectionType,
    root: PersonFetch,
    info: strawberry.Info,
    read: Awaitable[Mapping[str, Any] | None],
) -> SectionRecord | None:
    try:
        record = await read
    except AdapterError as exc:
        raise UpstreamFailure(exc) from None
    return _section(section, root, info, record)


def _section(
    section: SectionType,
    root: PersonFetch,
    info: strawberry.Info,
    record: Mapping[str, Any] | None,
) -> SectionRecord | None:
    """The record as the caller may see it: labels applied, or withheld whole."""
    if record is None:
        return None
    context: RequestContext = info.context
    person_key = context.key_at(info.path.as_list())
    labelled = apply_record_labels(context.labels, root, section.agency, record)
    if isinstance(labelled, str):
        coordinate = f"Person.{section.agency}"
        context.record_for(person_key, section.agency, coordinate, "withheld", labelled)
        raise ForbiddenField(coordinate, labelled)
    return section.build(labelled, person_key)


def _person_type(sections: Mapping[str, SectionType], section_resolvers: Mapping[str, Any]) -> Any:
    def reference(root: PersonFetch) -> PersonIdentifier:
        return PersonIdentifier(scheme=root.reference.scheme, value=root.reference.value)

    def matches(root: PersonFetch) -> list[AgencyMatch]:
        def status(agency: str) -> MatchStatus:
            if agency in root.matches:
                return MatchStatus.MATCHED
            if agency in root.lookup_errors:
                return MatchStatus.UNAVAILABLE
            return MatchStatus.NOT_FOUND

        def agency_match(agency: str) -> AgencyMatch:
            found = root.matches.get(agency)
            return AgencyMatch(
                agency=agency,
                status=status(agency),
                method=MatchMethod(found.method) if found else None,
                confidence=found.confidence if found else None,
                possible_matches=[
                    PossibleMatch(probability=round(p.probability, 4))
                    for p in root.possible.get(agency, ())
                ],
            )

        return [agency_match(a) for a in sections]

    fields: list[Any] = [
        strawberry.field(
            resolver=reference,
            name="reference",
            description="The reference the person was looked up by.",
        ),
        strawberry.field(
            resolver=matches,
            name="matches",
            description="Per agency, whether the person was found, how and how surely.",
        ),
    ]
    fields += [
        strawberry.field(
            resolver=section_resolvers[agency],
            name=agency,
            description=s.graphql_type.__strawberry_definition__.description,
        )
        for agency, s in sections.items()
    ]
    fields.append(build_timeline_field(sections))
    household = build_household_types(sections)
    fields.append(household_field(household.household))
    person_type = create_type(
        "Person", fields, description="One person, seen across agency systems."
    )
    household.complete(person_type)
    return person_type


def build_schema(adapters: Mapping[str, Adapter], purposes: Mapping[str, Purpose]) -> GatewaySchema:
    sections = {name: compose_section(adapter.discover()) for name, adapter in adapters.items()}
    # MATCH: a token from findPerson, naming the records a search found.
    schemes = sorted(
        {match_token.SCHEME}.union(*(a.discover().lookup_schemes for a in adapters.values()))
    )
    scheme_values: Any = enum.Enum("IdentifierScheme", {s: s for s in schemes})  # type: ignore[misc]
    scheme_enum: Any = strawberry.enum(
        scheme_values, description="Identifier schemes a person can be looked up by."
    )
    section_resolvers = {agency: _section_resolver(s) for agency, s in sections.items()}
    person_type = _person_type(sections, section_resolvers)

    # Built with type() because the scheme enum exists only at run time.
    reference_input: Any = strawberry.input(
        type("PersonReference", (), {"__annotations__": {"scheme": scheme_enum, "value": str}}),
        description="A person's identifier in one scheme.",
    )

    async def person(info: strawberry.Info, reference: Any) -> Any:
        context: RequestContext = info.context
        found = await context.fanout.find(normalised(reference.scheme.value, reference.value))
        if found.refused is not None:
            raise InvalidReference(found.refused)
        if not found.matches and not found.lookup_errors:
            raise PersonNotFound()
        context.persons[person_key(info.path.as_list())] = found
        context.start_reads(found)
        return found

    person.__annotations__["return"] = Optional[person_type]  # noqa: UP045
    person.__annotations__["reference"] = reference_input

    async def people(info: strawberry.Info, references: Any) -> Any:
        """All identities are resolved first, so each agency gets one batched read."""
        context: RequestContext = info.context
        if len(references) > MAX_PEOPLE:
            raise TooManyPeople(MAX_PEOPLE)
        found = await asyncio.gather(
            *(context.fanout.find(normalised(r.scheme.value, r.value)) for r in references)
        )
        refused = next((p.refused for p in found if p.refused is not None), None)
        if refused is not None:
            raise InvalidReference(refused)
        response_key = info.path.key
        for index, person_found in enumerate(found):
            context.persons[person_key([response_key, index])] = person_found
            context.start_reads(person_found)
        return [p if p.matches or p.lookup_errors else None for p in found]

    people.__annotations__["return"] = list[Optional[person_type]]  # type: ignore[valid-type]  # noqa: UP045
    people.__annotations__["references"] = list[reference_input]

    def purposes_field() -> list[PurposeType]:
        return [
            PurposeType(id=p.id, title=p.title, lawful_basis=p.lawful_basis)
            for p in purposes.values()
        ]

    query_fields: list[Any] = [
        strawberry.field(
            resolver=person,
            name="person",
            description="Everything the caller may see about one person.",
        ),
        strawberry.field(
            resolver=people,
            name="people",
            description=f"Several people at once (at most {MAX_PEOPLE}), e.g. a caseload; "
            "null for a reference no agency knows.",
        ),
        strawberry.field(
            resolver=purposes_field,
            name="purposes",
            description="Purposes of use a request may declare.",
        ),
        search.query_field(PersonIdentifier),
        *audit_api.query_fields(),
        build_catalogue_field(sections),
    ]
    schema = strawberry.Schema(
        query=create_type("Query", query_fields),
        mutation=create_type("Mutation", audit_api.mutation_fields()),
    )

    agency_of: dict[str, str] = {f"Person.{agency}": agency for agency in sections}
    for agency, section in sections.items():
        for type_name in section.type_names:
            graphql_type: Any = schema._schema.get_type(type_name)
            for field_name in graphql_type.fields:
                agency_of[f"{type_name}.{field_name}"] = agency
    # The audit API is governed like an agency of its own ("audit" in the policy data), so
    # only a role with an agreement for it (data protection officers) may use it.
    for type_name in audit_api.GOVERNED_TYPES:
        audit_type: Any = schema._schema.get_type(type_name)
        for field_name in audit_type.fields:
            agency_of[f"{type_name}.{field_name}"] = audit_api.POLICY_AGENCY
    governed = frozenset(
        {"Person"}.union(
            audit_api.GOVERNED_TYPES,
            search.GOVERNED_TYPES,
            *(s.type_names for s in sections.values()),
        )
    )
    # graphql-core calls each section's resolver itself, without strawberry's per-call
    # Info and argument handling: the resolver takes no arguments and reads only
    # info.context and info.path, which graphql-core's info has as well.
    person_fields = schema._schema.get_type("Person").fields  # type: ignore[union-attr]
    for agency, resolve in section_resolvers.items():
        person_fields[agency].resolve = resolve
    policy_filter = PolicyFilter(governed, agency_of)
    policy_filter.install(
        schema._schema, frozenset().union(*(s.type_names for s in sections.values()))
    )
    return GatewaySchema(schema, sections, governed, agency_of, policy_filter)
