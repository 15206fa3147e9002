"""The probation service's GraphQL API, built with graphene, as its own Starlette application.

``POST /graphql`` with ``{"query", "variables"}``:
- ``findOffenders(pncId, niNumber, crn)`` → matching offenders (identifiers, demographics);
- ``searchOffenders(familyName, dateOfBirth, givenName)`` → offenders who could be that
  person (same date of birth or day and month swapped, or same family initial and year);
- ``offenders(crns: [String!]!)`` → up to 100 offender case records.
It runs in its own virtualenv (``.venv-probation``): graphene pins an older
graphql-core than the gateway's strawberry, and a separate agency system has
its own dependencies anyway.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import graphene
from graphql import DocumentNode, GraphQLError, execute, parse, validate
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulators.faults import FaultReplies, Faults, faults_endpoint

MAX_BATCH = 100

REPLIES = FaultReplies(
    malformed='{"data": {"offenders": [',
    hostile=json.dumps(
        {"data": None, "errors": [{"message": "Internal error: case X123456 is locked"}]}
    ),
    error_body=json.dumps({"errors": [{"message": "service unavailable"}]}),
)


class Practitioner(graphene.ObjectType):  # type: ignore[misc]
    name = graphene.String(required=True)
    team = graphene.String(required=True)


class Offender(graphene.ObjectType):  # type: ignore[misc]
    crn = graphene.String(required=True, description="Case reference number.")
    pnc_id = graphene.String()
    ni_number = graphene.String()
    given_name = graphene.String()
    family_name = graphene.String()
    date_of_birth = graphene.String()
    supervision_status = graphene.String()
    practitioner = graphene.Field(Practitioner)
    licence_conditions = graphene.List(graphene.NonNull(graphene.String))
    risk_level = graphene.String(description="Risk of serious harm.")
    mappa_level = graphene.Int(description="MAPPA management level, 0 when not MAPPA-managed.")
    labels = graphene.List(graphene.NonNull(graphene.String))

    @staticmethod
    def resolve_practitioner(parent: dict[str, Any], info: Any) -> dict[str, Any]:
        return {"name": parent["practitioner"], "team": parent["team"]}


def _normalise(value: str | None) -> str:
    return (value or "").replace(" ", "").upper()


def _block_keys(family_name: str | None, date_of_birth: str | None) -> set[str]:
    """The gateway's blocking keys (gateway/identity/blocking.py), written out here because
    this agency system runs in its own environment without the gateway's packages."""
    dob, family = (
        date_of_birth or "",
        "".join(c for c in (family_name or "").lower() if c.isalpha()),
    )
    if len(dob) != 10:
        return set()
    keys = {f"dob:{dob}", f"dob:{dob[:4]}-{dob[8:10]}-{dob[5:7]}"}
    if family:
        keys.add(f"name:{family[0]}:{dob[:4]}")
    return keys


def build_schema(offenders: list[dict[str, Any]]) -> graphene.Schema:
    by_crn = {o["crn"]: o for o in offenders}
    blocks: dict[str, list[dict[str, Any]]] = {}
    for offender in offenders:
        for key in _block_keys(offender["family_name"], offender["date_of_birth"]):
            blocks.setdefault(key, []).append(offender)
    by_pnc = {o["pnc_id"]: o for o in offenders}
    by_ni = {o["ni_number"]: o for o in offenders if o["ni_number"]}

    class Query(graphene.ObjectType):  # type: ignore[misc]
        find_offenders = graphene.List(
            graphene.NonNull(Offender),
            crn=graphene.String(),
            pnc_id=graphene.String(),
            ni_number=graphene.String(),
            required=True,
        )
        search_offenders = graphene.List(
            graphene.NonNull(Offender),
            family_name=graphene.String(required=True),
            date_of_birth=graphene.String(required=True),
            given_name=graphene.String(),
            required=True,
        )
        offenders = graphene.List(
            graphene.NonNull(Offender),
            crns=graphene.List(graphene.NonNull(graphene.String), required=True),
            required=True,
        )

        @staticmethod
        def resolve_find_offenders(
            root: Any,
            info: Any,
            crn: str | None = None,
            pnc_id: str | None = None,
            ni_number: str | None = None,
        ) -> list[dict[str, Any]]:
            found = [
                by_crn.get(_normalise(crn)),
                by_pnc.get(_normalise(pnc_id)),
                by_ni.get(_normalise(ni_number)),
            ]
            return list({o["crn"]: o for o in found if o is not None}.values())

        @staticmethod
        def resolve_search_offenders(
            root: Any,
            info: Any,
            family_name: str,
            date_of_birth: str,
            given_name: str | None = None,
        ) -> list[dict[str, Any]]:
            found = {
                o["crn"]: o
                for key in _block_keys(family_name, date_of_birth)
                for o in blocks.get(key, ())
            }
            return list(found.values())[:MAX_BATCH]

        @staticmethod
        def resolve_offenders(root: Any, info: Any, crns: list[str]) -> list[dict[str, Any]]:
            if len(crns) > MAX_BATCH:
                raise ValueError(f"at most {MAX_BATCH} crns per query")
            return [by_crn[c] for c in map(_normalise, crns) if c in by_crn]

    return graphene.Schema(query=Query)


CheckedDocument = tuple[DocumentNode | None, list[GraphQLError]]


def document_checker(schema: graphene.Schema) -> Callable[[str], CheckedDocument]:
    """Parse and validate each distinct query text once, as production GraphQL servers do.

    Clients send the same few documents over and over; parsing and validating them on
    every request was most of this service's CPU per call, which on a benchmark machine
    is taken from the gateway under test.
    """

    @lru_cache(maxsize=256)
    def checked(query: str) -> CheckedDocument:
        try:
            document = parse(query)
        except GraphQLError as error:
            return None, [error]
        return document, validate(schema.graphql_schema, document)

    return checked


def create_app(data_file: Path, faults: Faults | None = None, seed: int = 0) -> Starlette:
    offenders = json.loads(data_file.read_text())["offenders"]
    schema = build_schema(offenders)
    checked = document_checker(schema)
    rng = random.Random(seed)
    active_faults = faults or Faults()
    active_faults.replies = REPLIES

    async def health(request: Request) -> Response:
        if failure := active_faults.health_failure():
            return failure
        return JSONResponse({"status": "ok", "offenders": len(offenders)})

    async def graphql(request: Request) -> Response:
        if failure := await active_faults.apply(rng):
            return failure
        try:
            payload = await request.json()
            query, variables = payload["query"], payload.get("variables") or {}
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"errors": [{"message": "send {query, variables}"}]}, 400)
        if not isinstance(query, str):
            return JSONResponse({"errors": [{"message": "query must be a string"}]}, 400)
        document, errors = checked(query)
        if document is None or errors:
            return JSONResponse({"data": None, "errors": [{"message": str(e)} for e in errors]})
        # Every resolver is synchronous, so execution completes without awaiting.
        result = execute(schema.graphql_schema, document, variable_values=variables)
        assert not isinstance(result, Awaitable)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [{"message": str(error)} for error in result.errors]
        return JSONResponse(body)

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/graphql", graphql, methods=["POST"]),
            Route("/_sim/faults", faults_endpoint, methods=["GET", "PUT"]),
        ]
    )
    app.state.faults = active_faults
    return app
