"""``Query.agencies``: what each agency contributes to a person, as schema metadata.

Front ends (the caseworker page first) draw one panel per agency from this
instead of from introspection, which production mode turns off. It describes
fields only, never a person's data, so it is not governed by the policy: the
policy still decides on every field when a person is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

from adapters.sdk import FieldSpec
from resolvers.sections import SectionType, item_type_name


@strawberry.type(description="One field of an agency's section, or of the items of a list.")
class FieldInfo:
    name: str
    coordinate: str = strawberry.field(
        description="Schema coordinate (Type.field), as named by policy decisions and "
        "FORBIDDEN errors."
    )
    kind: str = strawberry.field(description="string, date, int, float, bool, address or list.")
    description: str
    item_fields: list[FieldInfo] = strawberry.field(
        description="For a list field, the fields of each item; empty otherwise."
    )


@strawberry.type(description="A dated event kind an agency puts on the chronology.")
class EventKindInfo:
    kind: str
    list_field: str = strawberry.field(description="The list field its events come from.")


@strawberry.type(description="An agency system and the section it contributes to a person.")
class AgencyInfo:
    name: str = strawberry.field(description="The Person field holding this agency's section.")
    title: str
    section_type: str = strawberry.field(description="GraphQL type name of the section.")
    lookup_schemes: list[str] = strawberry.field(
        description="Identifier schemes this agency can find a person by."
    )
    fields: list[FieldInfo]
    events: list[EventKindInfo]


def _field_info(agency: str, type_name: str, spec: FieldSpec) -> FieldInfo:
    items: list[FieldInfo] = []
    if spec.kind == "list":
        item_type = item_type_name(agency, spec)
        items = [_field_info(agency, item_type, item) for item in spec.item_fields]
    return FieldInfo(
        name=spec.name,
        coordinate=f"{type_name}.{spec.name}",
        kind=spec.kind,
        description=spec.description,
        item_fields=items,
    )


def agency_catalogue(sections: Mapping[str, SectionType]) -> list[AgencyInfo]:
    return [
        AgencyInfo(
            name=agency,
            title=section.spec.title,
            section_type=section.type_name,
            lookup_schemes=list(section.spec.lookup_schemes),
            fields=[_field_info(agency, section.type_name, f) for f in section.spec.fields],
            events=[
                EventKindInfo(kind=e.kind, list_field=e.list_field) for e in section.spec.events
            ],
        )
        for agency, section in sections.items()
    ]


def build_catalogue_field(sections: Mapping[str, SectionType]) -> Any:
    catalogue = agency_catalogue(sections)

    def agencies() -> list[AgencyInfo]:
        return catalogue

    return strawberry.field(
        resolver=agencies,
        name="agencies",
        description="Every agency system and the fields of its section (metadata, no person "
        "data): enough for a front end to draw a panel per agency without introspection.",
    )
