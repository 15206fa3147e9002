"""The GraphQL endpoint: one request, top to bottom.

authenticate → parse/validate → decide → fan out + filter (execute) → audit → respond.
Each step is a call in :func:`graphql_endpoint`; nothing happens elsewhere.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from adapters.sdk.correlation import current_request_id
from gateway.audit import AuditRecord, AuditUnavailable
from gateway.auth import AuthError
from gateway.observability.requests import name_operation
from gateway.observability.steps import audit_write_step
from gateway.policy import DecisionInput, decide_fail_closed
from gateway.purposes import PURPOSE_HEADER
from gateway.runtime import Gateway
from resolvers.context import RequestContext
from resolvers.errors import SAFE_ERRORS, InternalError
from resolvers.fanout import FanOut

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
# GraphiQL and its assets are vendored: the gateway runs on machines without internet.
STATIC_DIR = Path(__file__).resolve().parent / "static"
GRAPHIQL_PAGE = STATIC_DIR / "graphiql" / "index.html"


class RequestRejected(Exception):
    """The request cannot be executed; answered with ``status`` and a clear message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


async def graphql_endpoint(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    graphiql = gateway.config.graphiql
    if graphiql and request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        return FileResponse(GRAPHIQL_PAGE, media_type="text/html")
    request_id = current_request_id()
    if request_id is None:
        raise RuntimeError("no request id: the app must wrap this endpoint in ObserveRequests")
    try:
        caller = gateway.authenticator.authenticate(request.headers.get("authorization"))
        purpose = _declared_purpose(request, gateway)
        operation = await _read_graphql_request(request)
        document = _parse_and_validate(gateway, operation, request.method)
    except AuthError as exc:
        return _rejection(
            401,
            "UNAUTHENTICATED",
            str(exc),
            request_id,
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    except RequestRejected as exc:
        return _rejection(exc.status, exc.code, exc.message, request_id)

    schema = gateway.schema
    requested = schema.requested_fields(document)
    decision = await decide_fail_closed(
        gateway.policy,
        DecisionInput(caller.as_policy_input(), purpose, requested),
        gateway.config.policy_timeout_s,
    )

    context = RequestContext(
        request_id=request_id,
        caller=caller,
        purpose=purpose,
        decision=decision,
        fields_by_agency=schema.readable_fields(requested, decision),
        fanout=FanOut(gateway.adapters),
    )
    try:
        result = execute(
            schema.graphql_schema,
            document,
            context_value=context,
            variable_values=operation.variables,
            operation_name=operation.operation_name,
            middleware=[gateway.policy_filter],
        )
        if not isinstance(result, ExecutionResult):
            result = await result
    finally:
        await context.fanout.close()

    try:
        with audit_write_step():
            await gateway.audit.record(_audit_records(context))
    except AuditUnavailable:
        log.error("request %s: audit store unavailable; response withheld", request_id)
        return _rejection(
            503,
            "AUDIT_UNAVAILABLE",
            "the disclosure could not be audited, so nothing is disclosed",
            request_id,
        )
    if result.data is None and result.errors and all(e.path is None for e in result.errors):
        # Variables that do not fit the operation: the caller's own input, refused as a whole.
        return _rejection(
            400, "BAD_USER_INPUT", "; ".join(e.message for e in result.errors), request_id
        )
    return JSONResponse(_response_body(result, context), headers={"X-Request-Id": request_id})


def _declared_purpose(request: Request, gateway: Gateway) -> str:
    purpose = request.headers.get(PURPOSE_HEADER, "").strip()
    if not purpose:
        raise RequestRejected(
            400,
            "PURPOSE_REQUIRED",
            f"declare a purpose of use in the {PURPOSE_HEADER} header; "
            f"known purposes: {', '.join(sorted(gateway.purposes))}",
        )
    if purpose not in gateway.purposes:
        raise RequestRejected(
            400,
            "UNKNOWN_PURPOSE",
            f"'{purpose[:64]}' is not a known purpose of use; "
            f"known purposes: {', '.join(sorted(gateway.purposes))}",
        )
    return purpose


async def _read_graphql_request(request: Request) -> GraphQLRequest:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        if "variables" in params:
            params["variables"] = _json(params["variables"], "variables")
    else:
        if "application/json" not in request.headers.get("content-type", ""):
            raise RequestRejected(
                415, "BAD_REQUEST", "send the GraphQL request as application/json"
            )
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise RequestRejected(
                413, "BAD_REQUEST", f"request body is larger than {MAX_BODY_BYTES} bytes"
            )
        params = _json(body, "request body")
    if not isinstance(params, dict):
        raise RequestRejected(400, "BAD_REQUEST", "the request body must be a JSON object")
    query, variables, name = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise RequestRejected(400, "BAD_REQUEST", "the request has no 'query' string")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRejected(400, "BAD_REQUEST", "'variables' must be a JSON object")
    if name is not None and not isinstance(name, str):
        raise RequestRejected(400, "BAD_REQUEST", "'operationName' must be a string")
    return GraphQLRequest(query, variables, name)


def _json(raw: str | bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        raise RequestRejected(400, "BAD_REQUEST", f"the {what} is not valid JSON") from None


def _parse_and_validate(gateway: Gateway, operation: GraphQLRequest, method: str) -> Any:
    try:
        document = parse(operation.query)
    except GraphQLError as exc:
        raise RequestRejected(400, "GRAPHQL_PARSE_FAILED", exc.message) from None
    rules = specified_rules
    if not gateway.config.introspection:
        rules = (*specified_rules, NoSchemaIntrospectionCustomRule)
    errors = validate(gateway.schema.graphql_schema, document, rules)
    if errors:
        raise RequestRejected(
            400, "GRAPHQL_VALIDATION_FAILED", "; ".join(e.message for e in errors[:10])
        )
    selected = get_operation_ast(document, operation.operation_name)
    if selected is None:
        raise RequestRejected(400, "BAD_REQUEST", "name the operation to run (operationName)")
    name_operation(selected)
    if method == "GET" and selected.operation is not OperationType.QUERY:
        raise RequestRejected(405, "BAD_REQUEST", "only queries may be sent with GET")
    return document


def _audit_records(context: RequestContext) -> list[AuditRecord]:
    caller = context.caller
    return [
        AuditRecord(
            request_id=context.request_id,
            user=caller.user,
            org=caller.org,
            roles=caller.roles,
            team=caller.team,
            purpose=context.purpose,
            person_scheme=entry.reference.scheme,
            person_value=entry.reference.value,
            agency=entry.agency,
            disclosed=tuple(entry.disclosed),
            masked=tuple(entry.masked),
            withheld=entry.withheld,
            policy_revision=context.decision.revision,
            decision_id=context.decision.decision_id,
        )
        for entry in context.disclosures.values()
    ]


def _response_body(result: ExecutionResult, context: RequestContext) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_safe_error(error, context.request_id) for error in result.errors]
    withheld = {
        (coordinate, reason)
        for entry in context.disclosures.values()
        for coordinate, reason in entry.withheld.items()
    }
    body["extensions"] = {
        "joinedup": {
            "requestId": context.request_id,
            "policyRevision": context.decision.revision,
            "withheld": [{"coordinate": c, "reason": r} for c, r in sorted(withheld)],
            "upstream": [
                {
                    "agency": c.agency,
                    "operation": c.operation,
                    "ms": round(c.ms, 2),
                    "startedMs": round((c.started - context.fanout.created) * 1000, 2),
                    "outcome": c.outcome,
                }
                for c in context.fanout.calls
            ],
        }
    }
    return body


def _safe_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """Pass on errors the gateway wrote; replace anything else, which might carry data."""
    if error.original_error is not None and not isinstance(error.original_error, SAFE_ERRORS):
        log.error(
            "request %s: resolver failed with %s at %s",
            request_id,
            type(error.original_error).__name__,
            error.path,
        )
        replacement = InternalError()
        return {
            "message": replacement.message,
            "path": error.path,
            "extensions": replacement.extensions,
        }
    return error.formatted  # type: ignore[return-value]


def _rejection(
    status: int, code: str, message: str, request_id: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        headers={"X-Request-Id": request_id, **(headers or {})},
    )
