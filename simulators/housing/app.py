"""The housing service's REST/JSON API (OpenAPI at ``/openapi.json``), keyed by housing reference.

- ``GET /tenants?housing_ref=...`` or ``?ni_number=...`` → ``{"tenants": [identifiers]}``
- ``POST /tenants/lookup`` with ``{"queries": [{"housing_ref": ...}, ...]}``
  → ``{"results": [[identifiers], ...]}``: many lookups in one call, in order; with
  ``"records": true`` also ``"records": [[record], ...]``, the whole records found
- ``POST /tenants/batch`` with ``{"ids": [...]}`` → ``{"tenants": [...]}``; each tenancy
  record lists its household: joint tenants by housing reference (the tenancy reference
  is shared), others (children) by name and date of birth
- ``POST /tenants/search`` with ``{family_name, given_name, date_of_birth}`` → candidates with
  identifiers and demographics (blocked on date of birth, or family initial and birth year)
- ``POST /tenants/search/batch`` with ``{"queries": [{family_name, ...}, ...]}``
  → ``{"results": [[candidates], ...]}``: many searches in one call, in order
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette

from simulators.faults import Faults
from simulators.rest import Collection, records_app

TENANTS = Collection(
    title="Housing tenancy and homelessness service",
    name="tenants",
    key="housing_ref",
    search_params=("housing_ref", "ni_number"),
    search_fields=("housing_ref", "ni_number"),
    demographic_search=True,
    record_properties={
        "housing_ref": "string",
        "ni_number": "string",
        "name": "string",
        "date_of_birth": "string",
        "address": "string",
        "postcode": "string",
        "tenancy": "object",
        "household": "array",
        "arrears": "number",
        "homelessness_applications": "array",
        "labels": "array",
    },
)


def create_app(data_file: Path, faults: Faults | None = None, seed: int = 0) -> Starlette:
    return records_app(TENANTS, json.loads(data_file.read_text())["tenants"], faults, seed)
