"""Apply the request's policy decision to every governed field as it resolves.

This is the only place where values are allowed through, masked or withheld.
A withheld field's resolver is never called, so its value is never touched;
a masked field's value is replaced before it reaches the response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
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


class PolicyFilter:
    """graphql-core middleware: one decision lookup per governed field."""

    def __init__(self, governed_types: frozenset[str], agency_of: Mapping[str, str]) -> None:
        self.governed_types = governed_types
        self.agency_of = agency_of

    def resolve(
        self,
        next_: Callable[..., Any],
        root: Any,
        info: GraphQLResolveInfo[RequestContext],
        **args: Any,
    ) -> Any:
        parent = info.parent_type.name
        if parent not in self.governed_types:
            return next_(root, info, **args)
        context: RequestContext = info.context
        coordinate = f"{parent}.{info.field_name}"
        agency = self.agency_of.get(coordinate)
        path = info.path.as_list()
        decision = self._decide(context, root, coordinate, agency, path)

        if decision.effect == "mask" and get_named_type(info.return_type) is not GraphQLString:
            decision = FieldDecision("deny", reason=MASK_NEEDS_TEXT)
        if decision.effect == "deny":
            reason = decision.reason or "denied by policy"
            if agency:
                context.record(path, agency, coordinate, "withheld", reason)
            raise ForbiddenField(coordinate, reason)

        def finish(value: Any) -> Any:
            if decision.effect == "mask":
                value = apply_mask(decision.mask or "withheld", value)
            if agency and value is not None:
                outcome: Outcome = "masked" if decision.effect == "mask" else "disclosed"
                context.record(path, agency, coordinate, outcome)
            return value

        value = next_(root, info, **args)
        if isawaitable(value):
            return _finish_later(value, finish)
        return finish(value)

    @staticmethod
    def _decide(
        context: RequestContext,
        root: Any,
        coordinate: str,
        agency: str | None,
        path: list[str | int],
    ) -> FieldDecision:
        """Labels first (they override roles), then the person's gate, then the field."""
        withheld_record = getattr(root, WITHHELD_ATTRIBUTE, None)
        if withheld_record is not None:
            return FieldDecision("deny", reason=withheld_record)
        person = context.person_at(path)
        if person is not None:
            protected = context.labels.persons.get(person.key, {}).get(coordinate)
            if protected is not None:
                return FieldDecision("deny", reason=protected)
            if agency and coordinate == f"Person.{agency}" and agency in person.matches:
                gate = context.decision.for_person(person.key, agency)
                if gate.effect != "allow":
                    return FieldDecision("deny", reason=gate.reason or NOT_DECIDED)
        return context.decision.for_field(coordinate)


async def _finish_later(value: Awaitable[Any], finish: Callable[[Any], Any]) -> Any:
    return finish(await value)
