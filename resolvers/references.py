"""The person references an operation asks about, read before it executes.

The gateway resolves every person's identity first, so the one request
decision can take each person's context (match confidence, relationship,
consent) into account.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_operation_ast,
)
from graphql.execution.values import get_argument_values, get_variable_values

from adapters.sdk import Identifier
from gateway.identity import match_token


def requested_references(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> list[Identifier]:
    operation = get_operation_ast(document, operation_name)
    query_type = schema.query_type
    if operation is None or query_type is None:
        return []
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):  # the variables do not fit: execution reports it
        return []
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments[definition.name.value] = definition
    found: list[Identifier] = []

    def walk(selections: SelectionSetNode, seen: frozenset[str]) -> None:
        for node in selections.selections:
            if isinstance(node, FieldNode) and node.name.value in ("person", "people"):
                args = get_argument_values(query_type.fields[node.name.value], node, coerced)
                refs = [args["reference"]] if node.name.value == "person" else args["references"]
                found.extend(_identifier(r) for r in refs)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                fragment = fragments.get(node.name.value)
                if fragment is not None:
                    walk(fragment.selection_set, seen | {node.name.value})

    walk(operation.selection_set, frozenset())
    return found


def _identifier(reference: Any) -> Identifier:
    scheme = reference["scheme"] if isinstance(reference, dict) else reference.scheme
    value = reference["value"] if isinstance(reference, dict) else reference.value
    return normalised(str(getattr(scheme, "value", scheme)), str(value))


def normalised(scheme: str, value: str) -> Identifier:
    """Identifiers are upper case; a MATCH token is kept as issued (it is signed)."""
    value = value.strip()
    return Identifier(scheme, value if scheme == match_token.SCHEME else value.upper())
