"""The benefits agency's REST/JSON API (OpenAPI at ``/openapi.json``), keyed by NI number.

- ``GET /claimants?ni_number=...`` → ``{"claimants": [{"ni_number": ...}]}`` (lookup)
- ``POST /claimants/lookup`` with ``{"queries": [{"ni_number": ...}, ...]}``
  → ``{"results": [[identifiers], ...]}``: many lookups in one call, in order; with
  ``"records": true`` also ``"records": [[record], ...]``, the whole records found
- ``POST /claimants/batch`` with ``{"ids": [...]}`` → ``{"claimants": [...]}``
- ``POST /claimants/search`` with ``{family_name, given_name, date_of_birth}`` → candidates with
  identifiers and demographics (blocked on date of birth, or family initial and birth year)
- ``POST /claimants/search/batch`` with ``{"queries": [{family_name, ...}, ...]}``
  → ``{"results": [[candidates], ...]}``: many searches in one call, in order
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette

from simulators.faults import Faults
from simulators.rest import Collection, records_app

CLAIMANTS = Collection(
    title="Benefits agency claimant service",
    name="claimants",
    key="ni_number",
    search_params=("ni_number",),
    search_fields=("ni_number",),
    demographic_search=True,
    record_properties={
        "ni_number": "string",
        "name": "string",
        "date_of_birth": "string",
        "postcode": "string",
        "claims": "array",
        "sanctions": "integer",
        "work_coach": "string",
    },
)


def create_app(data_file: Path, faults: Faults | None = None, seed: int = 0) -> Starlette:
    return records_app(CLAIMANTS, json.loads(data_file.read_text())["claimants"], faults, seed)
