"""The benchmark's GraphQL queries, built from the running gateway's own schema.

Asking the gateway which agency sections ``Person`` has (by introspection) means
the scenarios cover every agency the world runs, today two and later seven,
without editing the benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INTROSPECT_TYPES = """
{ __schema { types { name kind fields { name args { name } type { kind name ofType { kind name
  ofType { kind name ofType { kind name } } } } } } } }
"""


def named_type(type_ref: dict[str, Any]) -> tuple[str, str]:
    """The innermost (kind, name) under NON_NULL/LIST wrappers."""
    while type_ref.get("ofType"):
        type_ref = type_ref["ofType"]
    return type_ref["kind"], type_ref["name"]


@dataclass(frozen=True)
class Section:
    """One agency's section of ``Person`` and the selection that asks for all of it."""

    agency: str
    # (field name, scalar sub-fields): sub-fields are empty for a scalar field.
    fields: tuple[tuple[str, tuple[str, ...]], ...]

    def selection(self, limit: int | None = None) -> str:
        chosen = self.fields if limit is None else self.fields[:limit]
        parts = [f"{name} {{ {' '.join(subs)} }}" if subs else name for name, subs in chosen]
        return f"{self.agency} {{ {' '.join(parts)} }}"

    def leaf_count(self, limit: int | None = None) -> int:
        chosen = self.fields if limit is None else self.fields[:limit]
        return sum(len(subs) or 1 for _, subs in chosen)


def selection_of(
    types: dict[str, dict[str, Any]], type_name: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every field of a type: scalars by name, objects with their scalar fields."""
    chosen = []
    for field in types[type_name]["fields"] or []:
        kind, name = named_type(field["type"])
        if kind == "OBJECT":
            leaves = tuple(
                f["name"]
                for f in types[name]["fields"] or []
                if named_type(f["type"])[0] in ("SCALAR", "ENUM")
            )
            chosen.append((field["name"], leaves))
        else:
            chosen.append((field["name"], ()))
    return tuple(chosen)


def person_sections(introspection: dict[str, Any]) -> list[Section]:
    """The agency sections of ``Person``, in schema order."""
    types = {t["name"]: t for t in introspection["data"]["__schema"]["types"]}
    sections = []
    for field in types["Person"]["fields"]:
        kind, name = named_type(field["type"])
        if kind == "OBJECT" and name.endswith("Section"):
            sections.append(Section(field["name"], selection_of(types, name)))
    return sections


INTROSPECT_SCHEMES = '{ __type(name: "IdentifierScheme") { enumValues { name } } }'


def identifier_schemes(reply: dict[str, Any]) -> list[str]:
    """Schemes ``PersonReference`` accepts; named like the ground truth's keys (NI_NUMBER)."""
    return [value["name"] for value in reply["data"]["__type"]["enumValues"]]


def person_query(
    sections: list[Section], fields_per_section: int | None = None, matches: bool = True
) -> str:
    """One person's view of these sections; with ``matches``, where every agency stands
    too (which asks every agency about them, so leave it out to measure fewer agencies)."""
    return (
        "query Person($ref: PersonReference!) { person(reference: $ref) { "
        f"{_person_body(sections, fields_per_section, matches)} }} }}"
    )


def people_query(
    sections: list[Section], fields_per_section: int | None = None, matches: bool = True
) -> str:
    """:func:`person_query` for a list of people."""
    return (
        "query People($refs: [PersonReference!]!) { people(references: $refs) { "
        f"{_person_body(sections, fields_per_section, matches)} }} }}"
    )


def _person_body(sections: list[Section], fields_per_section: int | None, matches: bool) -> str:
    body = " ".join(s.selection(fields_per_section) for s in sections)
    return f"matches {{ agency status }} {body}" if matches else body
