"""A REST/JSON record service with an OpenAPI document, shared by the REST simulators.

Benefits, schools and housing each run their own instance over their own
data: look a record up by an identifier it holds (one, or a batch of lookups in
one ``POST /{name}/lookup``), search by demographics (one, or a batch of searches
in one ``POST /{name}/search/batch``), read records in batches by key. Search and
lookup replies carry only identifiers (and demographics); batch reads carry whole
records, and so does a batch lookup that asks for them (``"records": true``), so a
client allowed to read what it finds can find and read people in one call.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.sdk.demographics import Demographics, block_keys
from simulators.encoded import array, encode, json_reply, members
from simulators.faults import Faults, faults_endpoint

MAX_BATCH = 100


@dataclass(frozen=True)
class Collection:
    """One collection of records: ``GET /{name}?param=``, ``POST /{name}/batch``."""

    title: str
    name: str
    key: str
    search_params: tuple[str, ...]
    search_fields: tuple[str, ...]
    record_properties: Mapping[str, str]
    """Record field name → JSON type, for the OpenAPI document."""
    demographic_search: bool = False
    """Offer ``POST /{name}/search`` with ``{family_name, given_name, date_of_birth}`` (a
    body, so personal details stay out of URLs and access logs); replies (and identifier
    lookups) then carry each record's demographics too."""


DEMOGRAPHIC_FIELDS = ("given_name", "family_name", "date_of_birth", "postcode")
SEARCH_LIMIT = 50
"""Most candidates one demographic search returns: blocking keeps a real search far below."""


def demographics_of(record: Mapping[str, Any]) -> dict[str, str | None]:
    """A record's demographics, whether it keeps the name whole or split."""
    given: str | None
    family: str | None
    if "name" in record:
        given, _, family = str(record["name"]).partition(" ")
    else:
        given, family = record.get("given_name"), record.get("family_name")
    return {
        "given_name": given,
        "family_name": family,
        "date_of_birth": record.get("date_of_birth"),
        "postcode": record.get("postcode"),
    }


def _demographics(values: Mapping[str, Any]) -> Demographics:
    return Demographics(
        values.get("given_name"),
        values.get("family_name"),
        values.get("date_of_birth"),
        values.get("postcode"),
    )


def _normalise(value: str) -> str:
    return value.replace(" ", "").upper()


def openapi_document(collection: Collection) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the service."""
    name, key = collection.name, collection.key
    record = {
        "type": "object",
        "required": [key],
        "properties": {
            field: {"type": kind} for field, kind in collection.record_properties.items()
        },
    }
    summary = {
        "type": "object",
        "properties": {field: {"type": ["string", "null"]} for field in collection.search_fields},
    }

    def listing(schema_ref: str) -> dict[str, Any]:
        return {
            "type": "object",
            "required": [name],
            "properties": {name: {"type": "array", "items": {"$ref": schema_ref}}},
        }

    error = {"description": "Error", "content": {"application/json": {"schema": {}}}}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": collection.title, "version": "1.0.0"},
        "paths": {
            "/health": {"get": {"responses": {"200": {"description": "The service is up."}}}},
            f"/{name}": {
                "get": {
                    "summary": "Find records by an identifier; replies carry identifiers only.",
                    "parameters": [
                        {"name": p, "in": "query", "required": False, "schema": {"type": "string"}}
                        for p in collection.search_params
                    ],
                    "responses": {
                        "200": {
                            "description": "Matching records' identifiers.",
                            "content": {
                                "application/json": {
                                    "schema": listing("#/components/schemas/Summary")
                                }
                            },
                        },
                        "400": error,
                    },
                }
            },
            f"/{name}/batch": {
                "post": {
                    "summary": f"Read up to {MAX_BATCH} records by {key}.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["ids"],
                                    "properties": {
                                        "ids": {
                                            "type": "array",
                                            "maxItems": MAX_BATCH,
                                            "items": {"type": "string"},
                                        }
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The records found (unknown ids are left out).",
                            "content": {
                                "application/json": {
                                    "schema": listing("#/components/schemas/Record")
                                }
                            },
                        },
                        "400": error,
                    },
                }
            },
            f"/{name}/lookup": _batch_operation(
                f"Find up to {MAX_BATCH} people at once by identifiers; one list of matching "
                "records' identifiers per query, in order, and with `records: true` the "
                "matching whole records too.",
                {
                    "type": "object",
                    "properties": {p: {"type": "string"} for p in collection.search_params},
                },
                "Matching records' identifiers, per query (and, if asked, the records).",
                error,
                records=True,
            ),
        },
        "components": {"schemas": {"Record": record, "Summary": summary}},
    }
    if collection.demographic_search:
        wanted = {
            "type": "object",
            "required": ["family_name", "date_of_birth"],
            "properties": {f: {"type": "string"} for f in DEMOGRAPHIC_FIELDS},
        }
        document["paths"][f"/{name}/search/batch"] = _batch_operation(
            f"Up to {MAX_BATCH} demographic searches at once; one list of candidates (at "
            f"most {SEARCH_LIMIT}) per query, in order.",
            wanted,
            "Candidates' identifiers and demographics, per query.",
            error,
        )
        document["paths"][f"/{name}/search"] = {
            "post": {
                "summary": "Records that could be the person described (blocked on date of "
                "birth, or family initial and birth year); identifiers and demographics only.",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": wanted}},
                },
                "responses": {
                    "200": {
                        "description": f"At most {SEARCH_LIMIT} candidates.",
                        "content": {
                            "application/json": {"schema": listing("#/components/schemas/Summary")}
                        },
                    },
                    "400": error,
                },
            }
        }
    return document


def records_app(
    collection: Collection,
    records: Sequence[Mapping[str, Any]],
    faults: Faults | None = None,
    seed: int = 0,
) -> Starlette:
    def summary(record: Mapping[str, Any]) -> dict[str, Any]:
        found = {f: record.get(f) for f in collection.search_fields}
        if collection.demographic_search:
            found |= demographics_of(record)
        return found

    # Records and their summaries are encoded once (simulators/encoded.py); lookups and
    # searches find a record's index, replies join the encoded parts.
    encoded_records = [encode(r) for r in records]
    summaries = [encode(summary(r)) for r in records]
    by_key = {_normalise(r[collection.key]): i for i, r in enumerate(records)}
    indexes = {
        param: {_normalise(r[param]): i for i, r in enumerate(records) if r.get(param)}
        for param in collection.search_params
    }
    blocks: dict[str, list[int]] = {}
    if collection.demographic_search:
        for i, record in enumerate(records):
            for block in block_keys(_demographics(demographics_of(record))):
                blocks.setdefault(block, []).append(i)
    rng = random.Random(seed)
    active_faults = faults or Faults()
    document = encode(openapi_document(collection))

    def listing(found: list[int]) -> bytes:
        """``{"<collection>": [summary, ...]}``."""
        return members(**{collection.name: array(summaries[i] for i in found)})

    def per_query(parts: Sequence[bytes], found: list[list[int]]) -> bytes:
        """``[[part, ...], ...]``: each query's found records' encoded parts, in order."""
        return array(array(parts[i] for i in one) for one in found)

    def results(found: list[list[int]]) -> bytes:
        """``{"results": [[summary, ...], ...]}``: one list per query, in order."""
        return members(results=per_query(summaries, found))

    async def health(request: Request) -> Response:
        if failure := active_faults.health_failure():
            return failure
        return JSONResponse({"status": "ok", collection.name: len(by_key)})

    async def openapi(request: Request) -> Response:
        return json_reply(document)

    async def search(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        given = {p: v for p, v in request.query_params.items() if p in indexes}
        if not given:
            return JSONResponse(
                {"error": f"search by one of {list(collection.search_params)}"}, 400
            )
        return json_reply(listing(find_by_identifiers(given)))

    def find_by_identifiers(given: Mapping[str, str]) -> list[int]:
        found = [indexes[p].get(_normalise(v)) for p, v in given.items()]
        return list(dict.fromkeys(i for i in found if i is not None))

    async def batch_lookup(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        try:
            body = await request.json()
            queries, with_records = body["queries"], body.get("records", False)
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send {'queries': [{param: value}, ...]}"}, 400)
        if not isinstance(with_records, bool):
            return JSONResponse({"error": "records: true or false"}, 400)
        if (
            not isinstance(queries, list)
            or len(queries) > MAX_BATCH
            or not all(
                isinstance(q, dict)
                and q
                and all(p in indexes and isinstance(v, str) for p, v in q.items())
                for q in queries
            )
        ):
            return JSONResponse(
                {
                    "error": f"queries: a list of at most {MAX_BATCH} objects of "
                    f"{list(collection.search_params)} → string"
                },
                400,
            )
        found = [find_by_identifiers(q) for q in queries]
        if not with_records:
            return json_reply(results(found))
        # Each query's whole records, parallel to its summaries: what /batch would answer.
        return json_reply(
            members(results=per_query(summaries, found), records=per_query(encoded_records, found))
        )

    def demographic_query(body: Any) -> dict[str, Any] | None:
        """The demographics a search asks about, or None unless it gives family name and DOB."""
        if not isinstance(body, dict):
            return None
        wanted = {f: body.get(f) for f in DEMOGRAPHIC_FIELDS}
        if not all(isinstance(wanted[f], str) for f in ("date_of_birth", "family_name")):
            return None
        return wanted

    def find_by_demographics(wanted: Mapping[str, Any]) -> list[int]:
        unique: dict[int, None] = {}
        for block in block_keys(_demographics(wanted)):
            unique.update(dict.fromkeys(blocks.get(block, ())))
        return list(unique)[:SEARCH_LIMIT]

    async def demographic_search(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        try:
            wanted = demographic_query(await request.json())
        except ValueError:
            wanted = None
        if wanted is None:
            return JSONResponse({"error": "search by family_name and date_of_birth"}, 400)
        return json_reply(listing(find_by_demographics(wanted)))

    async def batch_search(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        try:
            queries = (await request.json())["queries"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send {'queries': [{family_name, ...}, ...]}"}, 400)
        wanted = [demographic_query(q) for q in queries] if isinstance(queries, list) else None
        if wanted is None or len(wanted) > MAX_BATCH or any(w is None for w in wanted):
            return JSONResponse(
                {
                    "error": f"queries: a list of at most {MAX_BATCH} searches, each by "
                    "family_name and date_of_birth"
                },
                400,
            )
        return json_reply(results([find_by_demographics(w) for w in wanted if w]))

    async def batch(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        try:
            wanted = (await request.json())["ids"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "send {'ids': [...]}"}, status_code=400)
        if not isinstance(wanted, list) or len(wanted) > MAX_BATCH:
            return JSONResponse({"error": f"ids: a list of at most {MAX_BATCH}"}, 400)
        keys = [_normalise(i) for i in wanted if isinstance(i, str)]
        found = [encoded_records[by_key[k]] for k in keys if k in by_key]
        return json_reply(members(**{collection.name: array(found)}))

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/openapi.json", openapi),
            Route(f"/{collection.name}", search),
            *(
                [
                    Route(f"/{collection.name}/search", demographic_search, methods=["POST"]),
                    Route(f"/{collection.name}/search/batch", batch_search, methods=["POST"]),
                ]
                if collection.demographic_search
                else []
            ),
            Route(f"/{collection.name}/batch", batch, methods=["POST"]),
            Route(f"/{collection.name}/lookup", batch_lookup, methods=["POST"]),
            Route("/_sim/faults", faults_endpoint, methods=["GET", "PUT"]),
        ]
    )
    app.state.faults = active_faults
    return app


def _batch_operation(
    summary: str,
    query: dict[str, Any],
    answer: str,
    error: dict[str, Any],
    *,
    records: bool = False,
) -> dict[str, Any]:
    """A ``POST`` taking ``{"queries": [query, ...]}`` and answering ``{"results": [[summary,
    ...], ...]}``: one list of records' identifiers (and demographics) per query, in order.

    With ``records``, the body may also say ``"records": true`` to get, besides, the whole
    records per query (``"records": [[record, ...], ...]``, parallel to ``results``).
    """
    asked: dict[str, Any] = {"queries": {"type": "array", "maxItems": MAX_BATCH, "items": query}}
    answered: dict[str, Any] = {
        "results": {
            "type": "array",
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Summary"}},
        }
    }
    if records:
        asked["records"] = {
            "type": "boolean",
            "default": False,
            "description": "Also answer each query's whole records, in `records`.",
        }
        answered["records"] = {
            "type": "array",
            "description": "Only if asked: per query, the whole records (as `/batch` answers "
            "them) of its `results`, in the same order.",
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
        }
    return {
        "post": {
            "summary": summary,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "required": ["queries"], "properties": asked}
                    }
                },
            },
            "responses": {
                "200": {
                    "description": answer,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["results"],
                                "properties": answered,
                            }
                        }
                    },
                },
                "400": error,
            },
        }
    }
