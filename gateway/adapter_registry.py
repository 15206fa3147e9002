"""Adapters installed as Python packages: the ``joinedup.adapters`` entry-point group.

An agency can ship its adapter as its own package and declare it in its
``pyproject.toml``::

    [project.entry-points."joinedup.adapters"]
    youth_justice = "youth_justice_adapter:YouthJusticeAdapter"

Configuration then enables it by name (``adapter = "youth_justice"``), or by
nothing at all when the agency has the entry point's name. A ``module:Class``
reference still works for an adapter that is importable but not installed.
"""

from __future__ import annotations

from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "joinedup.adapters"


def installed_adapters() -> dict[str, str]:
    """Entry-point name → ``module:Class`` for every adapter installed in this environment."""
    return {found.name: found.value for found in entry_points(group=ENTRY_POINT_GROUP)}


def is_entry_point_name(reference: str) -> bool:
    """Whether an ``adapter`` setting names an entry point rather than ``module:Class``."""
    return ":" not in reference
