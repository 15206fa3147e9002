"""Schema and policy field catalogue kept consistent: every field an adapter contributes
should have an entry in its agency's catalogue (``policies/agencies/<agency>/data.json``).

The policy already denies a field with no catalogue entry (rule
``catalogue.unknown_field``), so a missing entry never leaks data; but a field
that is silently always denied is a bug for whoever added it. The gateway logs
the gaps at start-up and ``joinedup policy check`` lists them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from adapters.sdk import FieldSpec, SectionSpec
from resolvers.sections import household_coordinate, item_type_name, section_type_name

log = logging.getLogger("joinedup.catalogue")


def coordinates(spec: SectionSpec) -> Iterator[str]:
    """Every schema coordinate (``Type.field``) of the section, list items included."""
    section = section_type_name(spec.agency)
    for field in spec.fields:
        yield f"{section}.{field.name}"
        if field.kind == "list":
            yield from _item_coordinates(spec.agency, field)
    if spec.household_links:
        yield household_coordinate(spec.agency)


def _item_coordinates(agency: str, field: FieldSpec) -> Iterator[str]:
    item = item_type_name(agency, field)
    for inner in field.item_fields:
        yield f"{item}.{inner.name}"


def catalogue_path(policy_dir: Path, agency: str) -> Path:
    return policy_dir / "agencies" / agency / "data.json"


@dataclass(frozen=True)
class CatalogueGaps:
    """One agency's mismatch between its section and its policy field catalogue."""

    agency: str
    uncatalogued: tuple[str, ...]
    """Schema coordinates with no catalogue entry: always denied."""
    stale: tuple[str, ...]
    """Catalogue entries for coordinates the section no longer has."""
    catalogue_missing: bool

    def describe(self) -> str:
        if self.catalogue_missing:
            return (
                f"{self.agency}: no field catalogue at policies/agencies/{self.agency}/data.json, "
                f"so all {len(self.uncatalogued)} of its fields are denied"
            )
        parts = []
        if self.uncatalogued:
            parts.append(
                "fields with no catalogue entry, always denied: " + ", ".join(self.uncatalogued)
            )
        if self.stale:
            parts.append("catalogue entries for no schema field: " + ", ".join(self.stale))
        return f"{self.agency}: " + "; ".join(parts)


def catalogue_gaps(sections: Iterable[SectionSpec], policy_dir: Path) -> list[CatalogueGaps]:
    """The agencies whose section and catalogue disagree (empty when all are consistent)."""
    gaps = []
    for spec in sections:
        schema = list(coordinates(spec))
        path = catalogue_path(policy_dir, spec.agency)
        try:
            catalogued = set(json.loads(path.read_text()).get("fields", {}))
        except FileNotFoundError:
            gaps.append(CatalogueGaps(spec.agency, tuple(schema), (), catalogue_missing=True))
            continue
        uncatalogued = tuple(c for c in schema if c not in catalogued)
        stale = tuple(sorted(catalogued - set(schema)))
        if uncatalogued or stale:
            gaps.append(CatalogueGaps(spec.agency, uncatalogued, stale, catalogue_missing=False))
    return gaps


def warn_about_gaps(sections: Iterable[SectionSpec], policy_dir: Path) -> list[CatalogueGaps]:
    """Log one warning per inconsistent agency (at start-up); returns the gaps."""
    gaps = catalogue_gaps(sections, policy_dir)
    for gap in gaps:
        log.warning("field catalogue: %s", gap.describe())
    return gaps
