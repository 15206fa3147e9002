"""Apply the request's policy decision to every governed field as it resolves.

This is the only place where values are allowed through, masked or withheld.
A withheld field's resolver is never called, so its value is never touched;
a masked field's value is replaced before it reaches the response.

The filter is part of the schema: :meth:`PolicyFilter.install` wraps the resolver
of every field of every governed type, once, when the schema is built. So no
document, alias or fragment can reach a governed field around it, and fields
that are not governed pay nothing for it (a graphql-core middleware runs around
every field of every request: a full person view resolves ~140 fields).
``__typename`` is graphql-core's own field, shared by every type, so it cannot be
wrapped: it is filtered by a middleware, run only for documents that name it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLString,
    MiddlewareManager,
    default_field_resolver,
    get_named_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

from gateway.policy import FieldDecision
from gateway.policy.decision import NOT_DECIDED
from resolvers.context import Outcome, RequestContext
from resolvers.errors import ForbiddenField
from resolvers.masks import apply_mask
from resolvers.sections import SectionRecord

MASK_NEEDS_TEXT = "this field cannot be masked, so it is withheld"
TYPENAME = "__typename"

Resolver = Callable[..., Any]

_FILTERED: set[Resolver] = set()
"""Every resolver :meth:`PolicyFilter.install` made (kept for the schema's life anyway)."""


@dataclass(frozen=True)
class _Coordinate:
    """What the filter needs to know about one schema field, worked out once per field."""

    name: str
    agency: str | None
    returns_text: bool
    person_gate: bool
    """``Person.<agency>``: the person's gate for that agency applies."""


class PolicyFilter:
    """Wraps each governed field's resolver in one decision lookup per resolve."""

    def __init__(self, governed_types: frozenset[str], agency_of: Mapping[str, str]) -> None:
        self.governed_types = governed_types
        self.agency_of = agency_of
        self._typename = MiddlewareManager(_TypenameFilter(self))

    def coordinate(
        self, type_name: str, field_name: str, returns: GraphQLOutputType
    ) -> _Coordinate:
        """What the filter needs to know about ``type_name.field_name``."""
        name = f"{type_name}.{field_name}"
        agency = self.agency_of.get(name)
        return _Coordinate(
            name,
            agency,
            get_named_type(returns) is GraphQLString,
            agency is not None and name == f"Person.{agency}",
        )

    def install(self, schema: GraphQLSchema, record_types: frozenset[str]) -> None:
        """Wrap the resolver of every field of every governed type of ``schema``.

        Fields of ``record_types`` (section and list item types) read their value from
        the :class:`~resolvers.sections.SectionRecord` they belong to; the others keep
        their resolver, called only once the field is allowed.
        """
        for type_name in sorted(self.governed_types):
            governed = schema.get_type(type_name)
            if not isinstance(governed, GraphQLObjectType):
                raise ValueError(f"governed type {type_name} is not an object type of the schema")
            for field_name, field in governed.fields.items():
                if field.resolve in _FILTERED:  # filtered twice, a mask would apply twice
                    raise ValueError(f"{type_name}.{field_name} is already filtered")
                coordinate = self.coordinate(type_name, field_name, field.type)
                if type_name in record_types:
                    field.resolve = _record_field(coordinate, _python_name(field))
                else:
                    field.resolve = _wrapped_field(
                        coordinate, field.resolve or default_field_resolver
                    )
                _FILTERED.add(field.resolve)

    def middleware_for(self, query: str) -> MiddlewareManager | None:
        """The ``__typename`` filter, for a document whose text names it (a field's name
        is always spelt out in the text, so no other document can select it)."""
        return self._typename if TYPENAME in query else None


def _python_name(field: GraphQLField) -> str:
    """The key a section record holds the field's value under (its adapter's field name)."""
    return str(field.extensions[GraphQLCoreConverter.DEFINITION_BACKREF].python_name)


def _record_field(field: _Coordinate, key: str) -> Resolver:
    def resolve(root: SectionRecord, info: GraphQLResolveInfo[RequestContext], **_args: Any) -> Any:
        context: RequestContext = info.context
        person_key = root.person_key
        decision = _allowed(context, root.withheld, field, person_key)
        return _disclosed(context, field, person_key, decision, root.values.get(key))

    return resolve


def _wrapped_field(field: _Coordinate, inner: Resolver) -> Resolver:
    def resolve(root: Any, info: GraphQLResolveInfo[RequestContext], **args: Any) -> Any:
        context: RequestContext = info.context
        person_key = context.key_at(info.path.as_list())
        decision = _allowed(context, None, field, person_key)
        value = inner(root, info, **args)
        if isawaitable(value):
            return _disclosed_later(context, field, person_key, decision, value)
        return _disclosed(context, field, person_key, decision, value)

    return resolve


class _TypenameFilter:
    """graphql-core middleware: ``__typename`` of a governed type, decided like any field."""

    def __init__(self, policy_filter: PolicyFilter) -> None:
        self.policy_filter = policy_filter
        self._coordinates: dict[str, _Coordinate] = {}

    def resolve(
        self, next_: Resolver, root: Any, info: GraphQLResolveInfo[RequestContext], **args: Any
    ) -> Any:
        type_name = info.parent_type.name
        if info.field_name != TYPENAME or type_name not in self.policy_filter.governed_types:
            return next_(root, info, **args)
        field = self._coordinates.get(type_name)
        if field is None:
            field = self.policy_filter.coordinate(type_name, TYPENAME, info.return_type)
            self._coordinates[type_name] = field
        context: RequestContext = info.context
        if isinstance(root, SectionRecord):
            person_key, withheld = root.person_key, root.withheld
        else:
            person_key, withheld = context.key_at(info.path.as_list()), None
        decision = _allowed(context, withheld, field, person_key)
        return _disclosed(context, field, person_key, decision, next_(root, info, **args))


def _allowed(
    context: RequestContext, withheld: str | None, field: _Coordinate, person_key: str
) -> FieldDecision:
    """The field's decision if it may be shown (allow or mask); a denial is recorded and
    raised as ``FORBIDDEN``."""
    decision = _decide(context, withheld, field, person_key)
    if decision.effect == "mask" and not field.returns_text:
        decision = FieldDecision("deny", reason=MASK_NEEDS_TEXT)
    if decision.effect == "deny":
        reason = decision.reason or "denied by policy"
        if field.agency:
            context.record_for(person_key, field.agency, field.name, "withheld", reason)
        raise ForbiddenField(field.name, reason)
    return decision


def _disclosed(
    context: RequestContext,
    field: _Coordinate,
    person_key: str,
    decision: FieldDecision,
    value: Any,
) -> Any:
    """The value as the caller may see it, recorded in the disclosure ledger."""
    masked = decision.effect == "mask"
    if masked:
        value = apply_mask(decision.mask or "withheld", value)
    if field.agency and value is not None:
        outcome: Outcome = "masked" if masked else "disclosed"
        context.record_for(person_key, field.agency, field.name, outcome)
    return value


async def _disclosed_later(
    context: RequestContext,
    field: _Coordinate,
    person_key: str,
    decision: FieldDecision,
    value: Awaitable[Any],
) -> Any:
    return _disclosed(context, field, person_key, decision, await value)


def _decide(
    context: RequestContext, withheld: str | None, field: _Coordinate, person_key: str
) -> FieldDecision:
    """Labels first (they override roles), then the person's gate, then the field."""
    if withheld is not None:
        return FieldDecision("deny", reason=withheld)
    person = context.persons.get(person_key)
    if person is not None:
        protected = context.labels.persons.get(person.key, {}).get(field.name)
        if protected is not None:
            return FieldDecision("deny", reason=protected)
        if field.person_gate and field.agency in person.matches:
            gate = context.decision.for_person(person.key, field.agency)
            if gate.effect != "allow":
                return FieldDecision("deny", reason=gate.reason or NOT_DECIDED)
    return context.decision.for_field(field.name)
