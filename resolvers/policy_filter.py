"""Apply the request's policy decision to every governed field as it resolves.

This is the only place where values are allowed through, masked or withheld.
A withheld field's resolver is never called, so its value is never touched;
a masked field's value is replaced before it reaches the response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLString, get_named_type

from gateway.policy import FieldDecision
from gateway.policy.decision import NOT_DECIDED
from resolvers.context import Outcome, RequestContext
from resolvers.errors import ForbiddenField
from resolvers.masks import apply_mask
from resolvers.sections import WITHHELD_ATTRIBUTE

MASK_NEEDS_TEXT = "this field cannot be masked, so it is withheld"


@dataclass(frozen=True)
class _Coordinate:
    """What the filter needs to know about one schema field, worked out once per field."""

    name: str
    agency: str | None
    returns_text: bool
    person_gate: bool
    """``Person.<agency>``: the person's gate for that agency applies."""


class PolicyFilter:
    """graphql-core middleware: one decision lookup per governed field.

    The schema is fixed for the gateway's life, so each field's coordinate, agency and
    return type are looked up once (``_coordinates``), not on every resolve of every
    request (a full person view resolves ~140 governed fields).
    """

    def __init__(self, governed_types: frozenset[str], agency_of: Mapping[str, str]) -> None:
        self.governed_types = governed_types
        self.agency_of = agency_of
        self._coordinates: dict[tuple[str, str], _Coordinate] = {}

    def _coordinate(self, info: GraphQLResolveInfo[RequestContext]) -> _Coordinate:
        key = (info.parent_type.name, info.field_name)
        known = self._coordinates.get(key)
        if known is None:
            name = f"{key[0]}.{key[1]}"
            agency = self.agency_of.get(name)
            known = self._coordinates[key] = _Coordinate(
                name,
                agency,
                get_named_type(info.return_type) is GraphQLString,
                agency is not None and name == f"Person.{agency}",
            )
        return known

    def resolve(
        self,
        next_: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[RequestContext],
        **args: Any,
    ) -> Any:
        if info.parent_type.name not in self.governed_types:
            return next_(root, info, **args)
        context: RequestContext = info.context
        field = self._coordinate(info)
        coordinate, agency = field.name, field.agency
        person_key = context.key_at(info.path.as_list())
        decision = self._decide(context, root, field, person_key)

        if decision.effect == "mask" and not field.returns_text:
            decision = FieldDecision("deny", reason=MASK_NEEDS_TEXT)
        if decision.effect == "deny":
            reason = decision.reason or "denied by policy"
            if agency:
                context.record_for(person_key, agency, coordinate, "withheld", reason)
            raise ForbiddenField(coordinate, reason)

        def finish(value: Any) -> Any:
            if decision.effect == "mask":
                value = apply_mask(decision.mask or "withheld", value)
            if agency and value is not None:
                outcome: Outcome = "masked" if decision.effect == "mask" else "disclosed"
                context.record_for(person_key, agency, coordinate, outcome)
            return value

        value = next_(root, info, **args)
        if isawaitable(value):
            return _finish_later(value, finish)
        return finish(value)

    @staticmethod
    def _decide(
        context: RequestContext, root: Any, field: _Coordinate, person_key: str
    ) -> FieldDecision:
        """Labels first (they override roles), then the person's gate, then the field."""
        withheld_record = getattr(root, WITHHELD_ATTRIBUTE, None)
        if withheld_record is not None:
            return FieldDecision("deny", reason=withheld_record)
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


async def _finish_later(value: Awaitable[Any], finish: Callable[[Any], Any]) -> Any:
    return finish(await value)
