"""The GraphQL endpoint: one request, top to bottom.

authenticate → rate limit → parse/validate (with limits) → decide → fan out + filter
(execute, under the request deadline) → audit → respond. Each step is a call in
:func:`graphql_endpoint`; nothing happens elsewhere.

GraphQL over HTTP (the GraphQL-over-HTTP specification): POST with
``application/json`` or GET (queries only). A client that accepts
``application/graphql-response+json`` (or anything, ``*/*``) gets that media
type, and GraphQL request errors (parse, validation, limits, variables) as HTTP
4xx; a client that accepts only ``application/json`` gets it, with HTTP 200 for
those errors. Authentication (401), purpose (400), rate limit (429), body size
(413) and audit (503) failures keep their HTTP status for both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    OperationType,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from strawberry.dataloader import DataLoader

from adapters.sdk.correlation import current_request_id
from adapters.sdk.deadline import request_deadline
from gateway.audit import AuditRecord, AuditUnavailable
from gateway.audit.decision_log import Governs
from gateway.auth import AuthError, AuthUnavailable
from gateway.observability.requests import name_operation
from gateway.observability.steps import audit_write_step
from gateway.persisted import PersistedQueryError
from gateway.person_context import RequestRegister
from gateway.policy import (
    Decision,
    DecisionInput,
    LabelInput,
    decide_fail_closed,
    decide_labels_fail_closed,
)
from gateway.purposes import BREAK_GLASS_HEADER, CONSENT_OVERRIDE_HEADER, PURPOSE_HEADER
from gateway.query_limits import LimitExceeded, check_limits
from gateway.ratelimit import RateLimited
from gateway.runtime import Gateway
from resolvers import search
from resolvers.context import Disclosure, RequestContext, SearchDisclosure, readable_by
from resolvers.errors import SAFE_ERRORS, InternalError
from resolvers.fanout import FanOut, PersonFetch, ReadPlanner
from resolvers.household import household_members, members_to_read, resolve_households
from resolvers.labels import labelled_records
from resolvers.references import requested_references
from resolvers.schema import MAX_PEOPLE

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
# GraphiQL and its assets are vendored: the gateway runs on machines without internet.
STATIC_DIR = Path(__file__).resolve().parent / "static"
GRAPHIQL_PAGE = STATIC_DIR / "graphiql" / "index.html"
JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


class RequestRejected(Exception):
    """The request cannot be executed; answered with ``status`` and a clear message.

    ``graphql_error`` marks GraphQL request errors (the document or its variables),
    which a legacy ``application/json`` client receives with HTTP 200.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        graphql_error: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.graphql_error = graphql_error
        self.headers = headers or {}


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


async def graphql_endpoint(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    accept = request.headers.get("accept", "")
    if (
        request.method == "GET"
        and "text/html" in accept
        and gateway.config.graphiql_enabled
        and "query" not in request.query_params
    ):
        return FileResponse(GRAPHIQL_PAGE, media_type="text/html")
    request_id = current_request_id()
    if request_id is None:
        raise RuntimeError("no request id: the app must wrap this endpoint in ObserveRequests")
    media_type = _response_media_type(accept)
    if media_type is None:
        return _rejection(
            RequestRejected(
                406, "NOT_ACCEPTABLE", f"this endpoint answers {GRAPHQL_RESPONSE} or {JSON}"
            ),
            request_id,
            JSON,
        )
    try:
        caller = await gateway.authenticator.authenticate(request.headers.get("authorization"))
        await gateway.rate_limiter.hit(caller)
        purpose = _declared_purpose(request, gateway)
        break_glass = _optional_reason(request, BREAK_GLASS_HEADER)
        consent_override = _optional_reason(request, CONSENT_OVERRIDE_HEADER)
        operation = await _read_graphql_request(request, gateway)
        document = _parse_and_validate(gateway, operation, request.method)
    except AuthUnavailable as exc:
        return _rejection(
            RequestRejected(503, "AUTH_UNAVAILABLE", str(exc)), request_id, media_type
        )
    except AuthError as exc:
        return _rejection(
            RequestRejected(
                401,
                "UNAUTHENTICATED",
                str(exc),
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ),
            request_id,
            media_type,
        )
    except RateLimited as exc:
        return _rejection(
            RequestRejected(
                429, "RATE_LIMITED", str(exc), headers={"Retry-After": str(exc.retry_after_s)}
            ),
            request_id,
            media_type,
        )
    except RequestRejected as exc:
        return _rejection(exc, request_id, media_type)

    schema = gateway.schema
    plan = gateway.documents.plan(operation.query, document, schema.plan)
    requested = plan.requested
    # One deadline for everything the request asks of agencies (lookups, reads).
    with request_deadline(gateway.config.resilience.request_deadline_s):
        register = gateway.register.for_request(caller.team)
        asking = DecisionInput(
            caller.as_policy_input(), purpose, requested, (), break_glass, consent_override
        )
        # At most MAX_PEOPLE: anyone beyond has no decided context, so nothing of theirs is read.
        named = list(
            dict.fromkeys(
                requested_references(
                    schema.graphql_schema, document, operation.operation_name, operation.variables
                )
            )
        )[:MAX_PEOPLE]
        # About one person, a lookup that reads saves a round trip per agency. About many,
        # each agency's reads are one batched call already, and planning would split a
        # batch of lookups by who could be planned.
        planned = frozenset(named) if len(named) == 1 else frozenset()
        fanout = FanOut(
            gateway.adapters,
            links=gateway.links,
            match_tokens=gateway.match_tokens,
            user=caller.user,
            on_match=register.found,
            needs=plan.needing(gateway.register.agencies),
            plan_reads=_read_planner(gateway, request_id, asking, register) if planned else None,
            planned=planned,
            context_agencies=gateway.register.agencies,
            lookups=register.lookups,
        )
        # Identities first, so the decision sees each person's context.
        finding = asyncio.gather(*(fanout.find(r) for r in named))
        if await fanout.searching(finding):
            # Demographic searches only add agencies to what identifiers found, so the
            # agencies found are read now, under a decision on what is known so far,
            # instead of idling until the searches answer.
            await _read_ahead(gateway, request_id, asking, fanout, register)
        found = await finding
        # Households too (identifiers only): each member is a person of the decision.
        households = (
            await resolve_households(fanout, found)
            if any(f.coordinate == "Person.household" for f in requested)
            else {}
        )
        persons = {p.key: p for p in [*found, *household_members(households)]}
        decision = await _decide(gateway, request_id, asking, persons, register, "disclosure")
        context = RequestContext(
            request_id=request_id,
            caller=caller,
            purpose=purpose,
            decision=decision,
            fields_by_agency=schema.readable_fields(requested, decision),
            fanout=fanout,
            audit_log=gateway.audit,
            break_glass_reason=break_glass,
            households=households,
        )
        members = members_to_read(decision, found, households)
        for person in [*found, *members]:
            context.start_reads(person)
        # Every read settles before anything resolves, so labelled records get one decision.
        await fanout.settle_reads()
        context.labels = await decide_labels_fail_closed(
            gateway.policy,
            LabelInput(caller.as_policy_input(), purpose, labelled_records([*found, *members])),
            gateway.config.policy_timeout_s,
        )
        try:
            result = schema.execute(
                document, operation.query, context, operation.variables, operation.operation_name
            )
            if not isinstance(result, ExecutionResult):
                result = await result
        finally:
            await context.fanout.close()

    try:
        with audit_write_step():
            await gateway.audit.record(
                _audit_records(context, gateway.purposes[purpose].lawful_basis)
            )
    except AuditUnavailable:
        log.error("request %s: audit store unavailable; response withheld", request_id)
        return _rejection(
            RequestRejected(
                503,
                "AUDIT_UNAVAILABLE",
                "the disclosure could not be audited, so nothing is disclosed",
            ),
            request_id,
            media_type,
        )
    if decision.obligations.get("alert") is True:
        # The alert obligation: a clear line for monitoring; the audit row has the details.
        log.warning(
            "ALERT request %s: break-glass access by %s for %s; review required",
            request_id,
            caller.user,
            purpose,
        )
    if result.data is None and result.errors and all(e.path is None for e in result.errors):
        # Variables that do not fit the operation: the caller's own input, refused as a whole.
        return _rejection(
            RequestRejected(
                400,
                "BAD_USER_INPUT",
                "; ".join(e.message for e in result.errors),
                graphql_error=True,
            ),
            request_id,
            media_type,
        )
    return JSONResponse(
        _response_body(result, context),
        headers={"X-Request-Id": request_id},
        media_type=media_type,
    )


async def _decide(
    gateway: Gateway,
    request_id: str,
    asking: DecisionInput,
    persons: Mapping[str, PersonFetch],
    register: RequestRegister,
    governs: Governs,
    assume_exact: frozenset[str] = frozenset(),
) -> Decision:
    """The policy's decision on ``asking`` about these people, denying on any failure;
    given an id and written to the decision log (``DecisionLog.write``: ``governs``).
    ``assume_exact``: agencies taken to have matched each person by an identifier."""
    decision_input = replace(asking, persons=await register.contexts(persons, assume_exact))
    decision = await decide_fail_closed(
        gateway.policy, decision_input, gateway.config.policy_timeout_s
    )
    if decision.decision_id is None:
        decision = replace(decision, decision_id=uuid.uuid4().hex)
    if gateway.decision_log is not None:
        gateway.decision_log.write(request_id, decision_input, decision, governs)
    return decision


def _read_planner(
    gateway: Gateway, request_id: str, asking: DecisionInput, register: RequestRegister
) -> ReadPlanner:
    """What a person's lookups in the agencies that read on lookup may read with them.

    The decision on the person as if each such agency had matched them by an
    identifier: a section's gate reads only the class of that agency's match
    confidence (an identifier match is exact) and the person's relationship and
    consent (asked once the council has matched them), so it is the decision the
    request makes once the lookups have answered, and the reads it plans are the
    reads that decision keeps (``FanOut.start_reads``). The people planned together
    (one batched council answer) are decided on together.
    """
    exact = frozenset(
        name for name, adapter in gateway.adapters.items() if adapter.discover().read_on_lookup
    )

    async def plan(persons: list[PersonFetch]) -> list[Mapping[str, frozenset[str]]]:
        decision = await _decide(
            gateway, request_id, asking, {p.key: p for p in persons}, register, "reads", exact
        )
        fields_by_agency = gateway.schema.readable_fields(asking.fields, decision)
        return [readable_by(person, decision, fields_by_agency) for person in persons]

    planner: DataLoader[PersonFetch, Mapping[str, frozenset[str]]] = DataLoader(
        load_fn=plan, cache_key_fn=lambda person: person.key
    )
    return planner.load


async def _read_ahead(
    gateway: Gateway,
    request_id: str,
    asking: DecisionInput,
    fanout: FanOut,
    register: RequestRegister,
) -> None:
    """Start reading what identifiers found while demographic searches run.

    The reads are decided on the people as identifiers found them. The request's
    final decision, on the people as found in the end, then keeps only the reads it
    allows with the same fields (``FanOut.start_reads``), so what is disclosed is
    always what the final decision allows; the agencies are read sooner.
    """
    persons = {p.key: p for p in fanout.identified}
    decision = await _decide(gateway, request_id, asking, persons, register, "reads")
    fields_by_agency = gateway.schema.readable_fields(asking.fields, decision)
    for person in persons.values():
        fanout.start_reads(person, readable_by(person, decision, fields_by_agency))


def _response_media_type(accept: str) -> str | None:
    """The media type to answer with, from the Accept header; None if we have none it takes."""
    if not accept.strip():
        return JSON  # the specification's rule for clients that send no Accept header
    offered = set()
    for part in accept.split(","):
        media, *params = (p.strip().lower() for p in part.split(";"))
        if any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            continue
        offered.add(media)
    if GRAPHQL_RESPONSE in offered:
        return GRAPHQL_RESPONSE
    if JSON in offered:
        return JSON
    if offered & {"*/*", "application/*"}:
        return GRAPHQL_RESPONSE
    return None


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


def _optional_reason(request: Request, header: str) -> str | None:
    """A reason header: absent is None; present it must say something."""
    if header not in request.headers:
        return None
    reason = request.headers[header].strip()
    if not reason:
        raise RequestRejected(400, "REASON_REQUIRED", f"the {header} header needs a reason")
    return reason[:500]


async def _read_graphql_request(request: Request, gateway: Gateway) -> GraphQLRequest:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for key in ("variables", "extensions"):
            if key in params:
                params[key] = _json(params[key], key)
    else:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != JSON:
            raise RequestRejected(
                415, "BAD_REQUEST", "send the GraphQL request as application/json"
            )
        params = _json(await _body(request, gateway.config.limits.max_body_bytes), "request body")
    if not isinstance(params, dict):
        raise RequestRejected(400, "BAD_REQUEST", "the request body must be a JSON object")
    query, variables, name = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if query is not None and not isinstance(query, str):
        raise RequestRejected(400, "BAD_REQUEST", "'query' must be a string")
    try:
        text = gateway.persisted_queries.resolve(query, params.get("extensions"))
    except PersistedQueryError as exc:
        raise RequestRejected(
            400, exc.code, str(exc), graphql_error=exc.code != "BAD_REQUEST"
        ) from None
    if text is None or not text.strip():
        raise RequestRejected(400, "BAD_REQUEST", "the request has no 'query' string")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRejected(400, "BAD_REQUEST", "'variables' must be a JSON object")
    if name is not None and not isinstance(name, str):
        raise RequestRejected(400, "BAD_REQUEST", "'operationName' must be a string")
    return GraphQLRequest(text, variables, name)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, read no further than ``limit`` bytes."""
    too_large = RequestRejected(
        413, "BAD_REQUEST", f"request body is larger than {limit} bytes (max_body_bytes)"
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _json(raw: str | bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise RequestRejected(400, "BAD_REQUEST", f"the {what} is nested too deeply") from None
    except ValueError:
        raise RequestRejected(400, "BAD_REQUEST", f"the {what} is not valid JSON") from None


def _parse_and_validate(gateway: Gateway, operation: GraphQLRequest, method: str) -> DocumentNode:
    """The document to run, checked once per distinct query (see gateway/documents.py)."""
    checked = gateway.documents.get(operation.query)
    document = checked or _parse(operation.query, gateway.config.limits.max_tokens)
    selected = get_operation_ast(document, operation.operation_name)
    if selected is None:
        raise RequestRejected(
            400,
            "BAD_REQUEST",
            "name one operation of the document to run (operationName)",
            graphql_error=True,
        )
    name_operation(selected)
    if method == "GET" and selected.operation is not OperationType.QUERY:
        raise RequestRejected(
            405, "BAD_REQUEST", "only queries may be sent with GET", headers={"Allow": "POST"}
        )
    if checked is None:
        _check_limits_and_validate(gateway, document)
        gateway.documents.put(operation.query, document)
    return document


def _parse(query: str, max_tokens: int) -> DocumentNode:
    try:
        return parse(query, no_location=False, max_tokens=max_tokens)
    except GraphQLError as exc:
        raise RequestRejected(
            400, "GRAPHQL_PARSE_FAILED", _parse_message(exc, max_tokens), graphql_error=True
        ) from None
    except RecursionError:
        raise RequestRejected(
            400, "GRAPHQL_PARSE_FAILED", "the query is nested too deeply", graphql_error=True
        ) from None


def _check_limits_and_validate(gateway: Gateway, document: DocumentNode) -> None:
    limits = gateway.config.limits
    rules = (
        (*specified_rules, NoSchemaIntrospectionCustomRule)
        if not gateway.config.introspection_enabled
        else specified_rules
    )
    try:
        check_limits(document, limits)
        errors = validate(gateway.schema.graphql_schema, document, rules, max_errors=10)
    except LimitExceeded as exc:
        raise RequestRejected(400, "QUERY_TOO_COMPLEX", str(exc), graphql_error=True) from None
    except RecursionError:
        raise RequestRejected(
            400, "QUERY_TOO_COMPLEX", "the query is nested too deeply", graphql_error=True
        ) from None
    if errors:
        raise RequestRejected(
            400,
            "GRAPHQL_VALIDATION_FAILED",
            "; ".join(e.message for e in errors),
            graphql_error=True,
        )


def _parse_message(error: GraphQLError, max_tokens: int) -> str:
    if "more than" in error.message and "tokens" in error.message:
        return (
            f"the query has more than {max_tokens} tokens; the limit (max_tokens) is {max_tokens}"
        )
    return error.message


def _audit_records(context: RequestContext, lawful_basis: str) -> list[AuditRecord]:
    """The request's disclosures (one per person per agency) and audit-review actions."""
    caller = context.caller
    request_record = partial(
        AuditRecord,
        request_id=context.request_id,
        user=caller.user,
        org=caller.org,
        roles=caller.roles,
        team=caller.team,
        purpose=context.purpose,
        lawful_basis=lawful_basis,
        policy_revision=context.decision.revision,
        decision_id=context.decision.decision_id,
        obligations=context.decision.obligations,
    )
    # One person has a disclosure per agency: their identifiers are gathered once.
    identifiers = {
        person: _resolved_identifiers(context.persons[person])
        for person in {person for person, _agency in context.disclosures}
    }
    disclosures = [
        request_record(
            person_scheme=entry.reference.scheme,
            person_value=entry.reference.value,
            person_identifiers=identifiers[person],
            agency=entry.agency,
            disclosed=tuple(entry.disclosed),
            masked=tuple(entry.masked),
            withheld=entry.withheld,
            policy_revision=context.decision.revision,
            decision_id=context.decision.decision_id,
            obligations=dict(context.decision.obligations),
            break_glass_reason=context.break_glass_reason,
        )
        for (person, _agency), entry in context.disclosures.items()
    ]
    reviews = [
        request_record(
            event=action.event,
            person_scheme=action.person.scheme if action.person else None,
            person_value=action.person.value if action.person else None,
            subject_request_id=action.subject_request_id,
            review_outcome=action.review_outcome,
            review_note=action.review_note,
        )
        for action in context.audit_events
    ]
    # A search discloses candidates: one record per candidate listed (or one if none was).
    searches = [
        request_record(
            event="search",
            person_scheme=search.AUDIT_SCHEME,
            person_value=entry.searched,
            person_identifiers=candidate,
            disclosed=entry.disclosed,
            masked=entry.masked,
            withheld=entry.withheld,
        )
        for entry in context.searches
        for candidate in entry.candidates or ((),)
    ]
    return disclosures + reviews + searches


def _resolved_identifiers(person: PersonFetch) -> tuple[tuple[str, str], ...]:
    """The reference plus every identifier the agencies matched the person by."""
    found = {person.reference, *(i for m in person.matches.values() for i in m.identifiers)}
    return tuple(sorted((i.scheme, i.value) for i in found))


def _response_body(result: ExecutionResult, context: RequestContext) -> dict[str, Any]:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [_safe_error(error, context.request_id) for error in result.errors]
    # Person sections and the details of search candidates alike.
    entries: list[Disclosure | SearchDisclosure] = [
        *context.disclosures.values(),
        *context.searches,
    ]
    withheld = {
        (coordinate, reason) for entry in entries for coordinate, reason in entry.withheld.items()
    }
    masked = {c for entry in entries for c in entry.masked}
    body["extensions"] = {
        "joinedup": {
            "requestId": context.request_id,
            "policyRevision": context.decision.revision,
            "obligations": _public_obligations(context.decision),
            "withheld": [{"coordinate": c, "reason": r} for c, r in sorted(withheld)],
            # Masked values look like data; front ends mark them from this list.
            "masked": [
                {"coordinate": c, "mask": context.decision.for_field(c).mask or "withheld"}
                for c in sorted(masked)
            ],
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


def _public_obligations(decision: Decision) -> dict[str, Any]:
    return {
        key: decision.obligations[key]
        for key in ("audit_level", "alert", "review", "break_glass", "consent_override")
        if key in decision.obligations
    }


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


def _rejection(rejected: RequestRejected, request_id: str, media_type: str) -> JSONResponse:
    status = 200 if rejected.graphql_error and media_type == JSON else rejected.status
    return JSONResponse(
        {"errors": [{"message": rejected.message, "extensions": {"code": rejected.code}}]},
        status_code=status,
        headers={"X-Request-Id": request_id, **rejected.headers},
        media_type=media_type,
    )
