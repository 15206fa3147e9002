"""Which schema coordinates (``Type.field``) a GraphQL document asks for.

The policy decides per coordinate, before anything is fetched, so the gateway
only reads from agencies what the caller may see.
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)
from graphql.type import get_named_type


def requested_coordinates(schema: GraphQLSchema, document: DocumentNode) -> frozenset[str]:
    type_info = TypeInfo(schema)
    found: set[str] = set()

    class Collector(Visitor):
        def enter_field(self, node: FieldNode, *_args: object) -> None:
            parent = type_info.get_parent_type()
            if parent is not None and not node.name.value.startswith("__"):
                found.add(f"{get_named_type(parent).name}.{node.name.value}")

    visit(document, TypeInfoVisitor(type_info, Collector()))
    return frozenset(found)
