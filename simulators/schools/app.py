"""The schools' REST/JSON pupil service (OpenAPI at ``/openapi.json``).

Records are keyed by the school system's own pupil id. The Unique Pupil
Number is education-use only: lookups never return it among the identifiers and
cannot search by it, so no other agency can use it as a join key (reads, and
lookups asked for whole records, return it as the record's data).
- ``GET /pupils?nhs_number=...`` → ``{"pupils": [{"pupil_id", "nhs_number"}]}``
- ``POST /pupils/lookup`` with ``{"queries": [{"nhs_number": ...}, ...]}``
  → ``{"results": [[identifiers], ...]}``: many lookups in one call, in order; with
  ``"records": true`` also ``"records": [[record], ...]``, the whole records found
- ``POST /pupils/batch`` with ``{"ids": [...]}`` → ``{"pupils": [...]}``
- ``POST /pupils/search`` with ``{family_name, given_name, date_of_birth}`` → candidates;
  ``POST /pupils/search/batch`` with ``{"queries": [...]}`` → ``{"results": [...]}``: many
  searches in one call, in order
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette

from simulators.faults import Faults
from simulators.rest import Collection, records_app

PUPILS = Collection(
    title="Schools pupil service",
    name="pupils",
    key="pupil_id",
    search_params=("nhs_number",),
    search_fields=("pupil_id", "nhs_number"),
    demographic_search=True,
    record_properties={
        "pupil_id": "string",
        "upn": "string",
        "nhs_number": "string",
        "given_name": "string",
        "family_name": "string",
        "date_of_birth": "string",
        "postcode": "string",
        "school": "string",
        "year_group": "integer",
        "attendance_pct": "number",
        "sen_status": "string",
        "exclusions": "array",
        "labels": "array",
    },
)


def create_app(data_file: Path, faults: Faults | None = None, seed: int = 0) -> Starlette:
    return records_app(PUPILS, json.loads(data_file.read_text())["pupils"], faults, seed)
