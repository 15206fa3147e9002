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
from resolvers.context import Outcome, RequestContext
from resolvers.errors import ForbiddenField
from resolvers.masks import apply_mask

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
        decision = context.decision.for_field(coordinate)

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


async def _finish_later(value: Awaitable[Any], finish: Callable[[Any], Any]) -> Any:
    return finish(await value)
