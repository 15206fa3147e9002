"""GraphQL object types composed from the section each adapter declares.

The gateway has no hand-written type per agency: an adapter's
:class:`~adapters.sdk.SectionSpec` is turned into a strawberry type at
start-up, so a new agency needs no gateway code. Every field is nullable,
because policy may withhold any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import strawberry

from adapters.sdk import FieldSpec, SectionSpec

_SCALARS: dict[str, type] = {
    "string": str,
    "date": str,
    "address": str,
    "int": int,
    "float": float,
    "bool": bool,
}


@dataclass(frozen=True)
class SectionType:
    """A composed section type and the names of every type it owns (for policy)."""

    spec: SectionSpec
    type_name: str
    graphql_type: Any
    type_names: frozenset[str]
    item_type_names: Mapping[str, str]

    @property
    def agency(self) -> str:
        return self.spec.agency

    def build(self, record: Mapping[str, Any]) -> Any:
        return _instantiate(self.graphql_type, record)


def section_type_name(agency: str) -> str:
    return "".join(part.capitalize() for part in agency.split("_")) + "Section"


def household_coordinate(agency: str) -> str:
    """The catalogued coordinate that governs an agency's household links (a policy
    coordinate: the links are shown as ``HouseholdMember``, see ``resolvers.household``)."""
    return section_type_name(agency).removesuffix("Section") + "Household.relationship"


def item_type_name(agency: str, spec: FieldSpec) -> str:
    singular = spec.name[:-1] if spec.name.endswith("s") else spec.name
    prefix = section_type_name(agency).removesuffix("Section")
    return prefix + singular[:1].upper() + singular[1:]


def _object_type(
    name: str, description: str, fields: tuple[FieldSpec, ...], agency: str, owned: set[str]
) -> Any:
    owned.add(name)
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for spec in fields:
        if spec.kind == "string_list":
            annotations[spec.name] = Optional[list[Optional[str]]]  # noqa: UP045 - runtime type
        elif spec.kind == "list":
            item = _object_type(
                item_type_name(agency, spec), spec.description, spec.item_fields, agency, owned
            )
            annotations[spec.name] = Optional[list[Optional[item]]]  # type: ignore[valid-type]  # noqa: UP045
        else:
            annotations[spec.name] = Optional[_SCALARS[spec.kind]]  # noqa: UP045 - runtime type
        namespace[spec.name] = strawberry.field(default=None, description=spec.description)
    namespace["__annotations__"] = annotations
    cls = type(name, (), namespace)
    return strawberry.type(cls, name=name, description=description)


def compose_section(spec: SectionSpec) -> SectionType:
    owned: set[str] = set()
    name = section_type_name(spec.agency)
    graphql_type = _object_type(name, spec.title, spec.fields, spec.agency, owned)
    items = {f.name: item_type_name(spec.agency, f) for f in spec.fields if f.kind == "list"}
    return SectionType(spec, name, graphql_type, frozenset(owned), items)


WITHHELD_KEY = "@withheld"
"""Set on a record (by the label step) that policy withholds; the reason is kept on the
built object as :data:`WITHHELD_ATTRIBUTE` so the policy filter denies each of its fields."""
WITHHELD_ATTRIBUTE = "_joinedup_withheld"


def _instantiate(cls: Any, record: Mapping[str, Any]) -> Any:
    definition = cls.__strawberry_definition__
    if WITHHELD_KEY in record:
        instance = cls(**{f.python_name: None for f in definition.fields})
        object.__setattr__(instance, WITHHELD_ATTRIBUTE, str(record[WITHHELD_KEY]))
        return instance
    values: dict[str, Any] = {}
    for field in definition.fields:
        value = record.get(field.python_name)
        item_cls = _list_item_class(field.type)
        if item_cls is not None and isinstance(value, list):
            value = [_instantiate(item_cls, item) for item in value]
        values[field.python_name] = value
    return cls(**values)


def _list_item_class(field_type: Any) -> Any:
    """For ``Optional[list[Optional[T]]]`` field types, return T; otherwise None."""
    of_type = getattr(field_type, "of_type", None)
    while of_type is not None:
        if hasattr(of_type, "__strawberry_definition__"):
            return of_type
        of_type = getattr(of_type, "of_type", None)
    return None
