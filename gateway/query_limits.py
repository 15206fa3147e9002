"""Limits on a GraphQL document, checked after parsing and before validation.

Validation and execution cost grows with what a document expands to, not
with its length: fragments spread twice in each of ten levels expand a
hundred-token document into a thousand-fold selection. So depth and cost are
measured on the expanded selection (memoised per fragment, so measuring is
linear in the document), and measuring stops as soon as a limit is passed.
Each rejection names the limit, its value and the setting that controls it.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    visit,
)

from gateway.config import RequestLimits


class LimitExceeded(Exception):
    """The document goes past one of :class:`RequestLimits`; the message names which."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass(frozen=True)
class _Size:
    depth: int
    cost: int


class _AliasCounter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.aliases = 0

    def enter_field(self, node: FieldNode, *_: object) -> None:
        if node.alias is not None:
            self.aliases += 1


def check_limits(document: DocumentNode, limits: RequestLimits) -> None:
    """Raise :class:`LimitExceeded` if the document is too deep, too costly or too aliased."""
    counter = _AliasCounter()
    visit(document, counter)
    if counter.aliases > limits.max_aliases:
        raise LimitExceeded(
            "max_aliases",
            f"the query uses {counter.aliases} aliases; the limit (max_aliases) is "
            f"{limits.max_aliases}",
        )
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    measure = _Measure(fragments, limits)
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total += measure.selection(definition.selection_set, 0).cost
            measure.check_cost(total)


class _Measure:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], limits: RequestLimits) -> None:
        self.fragments = fragments
        self.limits = limits
        self.memo: dict[str, _Size] = {}
        self.visiting: set[str] = set()

    def check_cost(self, cost: int) -> None:
        if cost > self.limits.max_cost:
            raise LimitExceeded(
                "max_cost",
                f"the query selects more than {self.limits.max_cost} fields once fragments are "
                f"expanded; the limit (max_cost) is {self.limits.max_cost}",
            )

    def selection(self, selection_set: SelectionSetNode, above: int) -> _Size:
        """Depth below and cost of a selection set that sits ``above`` fields deep."""
        depth = cost = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                if above + 1 > self.limits.max_depth:
                    raise LimitExceeded(
                        "max_depth",
                        f"the query nests fields more than {self.limits.max_depth} deep; "
                        f"the limit (max_depth) is {self.limits.max_depth}",
                    )
                inner = (
                    self.selection(node.selection_set, above + 1)
                    if node.selection_set
                    else _Size(0, 0)
                )
                depth, cost = max(depth, inner.depth + 1), cost + 1 + inner.cost
            elif isinstance(node, InlineFragmentNode):
                inner = self.selection(node.selection_set, above)
                depth, cost = max(depth, inner.depth), cost + inner.cost
            elif isinstance(node, FragmentSpreadNode):
                inner = self.fragment(node.name.value, above)
                depth, cost = max(depth, inner.depth), cost + inner.cost
            self.check_cost(cost)
        return _Size(depth, cost)

    def fragment(self, name: str, above: int) -> _Size:
        # Unknown or cyclic fragments are left to validation, which rejects them.
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return _Size(0, 0)
        size = self.memo.get(name)
        if size is None:
            self.visiting.add(name)
            try:
                size = self.selection(definition.selection_set, 0)
            finally:
                self.visiting.discard(name)
            self.memo[name] = size
        if above + size.depth > self.limits.max_depth:
            raise LimitExceeded(
                "max_depth",
                f"the query nests fields more than {self.limits.max_depth} deep; "
                f"the limit (max_depth) is {self.limits.max_depth}",
            )
        return size
