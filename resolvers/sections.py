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


@dataclass(slots=True)
class SectionRecord:
    """A section (or list item) record as its fields read it, built once per record.

    graphql-core passes it as the root of the section type's fields, whose resolvers
    (installed by :class:`~resolvers.policy_filter.PolicyFilter`) read ``values``
    directly: no object per field, no resolver wrapper per leaf. ``person_key`` is
    whose record it is (worked out once, from the section's path); ``withheld`` is
    the reason policy withholds the whole record, so each of its fields is denied.
    """

    values: Mapping[str, Any]
    person_key: str
    withheld: str | None = None


_ListShapes = Mapping[str, "_ListShapes"]
"""Per list-of-records field (by its Python name), the same for the item's own fields."""


@dataclass(frozen=True)
class SectionType:
    """A composed section type and the names of every type it owns (for policy)."""

    spec: SectionSpec
    type_name: str
    graphql_type: Any
    type_names: frozenset[str]
    item_type_names: Mapping[str, str]
    list_shapes: _ListShapes

    @property
    def agency(self) -> str:
        return self.spec.agency

    def build(self, record: Mapping[str, Any], person_key: str) -> SectionRecord:
        """The section of ``person_key``'s record, list items included."""
        return _build(record, person_key, self.list_shapes)


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
    return SectionType(spec, name, graphql_type, frozenset(owned), items, _list_shapes(spec.fields))


def _list_shapes(fields: tuple[FieldSpec, ...]) -> _ListShapes:
    return {f.name: _list_shapes(f.item_fields) for f in fields if f.kind == "list"}


WITHHELD_KEY = "@withheld"
"""Set on a list item (by the label step) that policy withholds; the reason is kept as the
built record's :attr:`SectionRecord.withheld`, so the policy filter denies each of its fields."""


def _build(record: Mapping[str, Any], person_key: str, shapes: _ListShapes) -> SectionRecord:
    if not isinstance(record, Mapping):  # an adapter's list item that is no record
        raise TypeError(f"expected a record, got {type(record).__name__}")
    if WITHHELD_KEY in record:
        return SectionRecord({}, person_key, str(record[WITHHELD_KEY]))
    if not shapes:
        return SectionRecord(record, person_key)
    values = dict(record)
    for name, item_shapes in shapes.items():
        items = record.get(name)
        if isinstance(items, list):
            values[name] = [_build(item, person_key, item_shapes) for item in items]
    return SectionRecord(values, person_key)
