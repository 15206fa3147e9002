"""GraphQL errors the gateway returns, each with a stable ``extensions.code``.

Messages are written for a caseworker's screen and never include agency data.
"""

from __future__ import annotations

from graphql import GraphQLError

from adapters.sdk import AdapterError


class ForbiddenField(GraphQLError):
    def __init__(self, coordinate: str, reason: str) -> None:
        super().__init__(
            f"Access to {coordinate} is denied: {reason}",
            extensions={"code": "FORBIDDEN", "coordinate": coordinate, "reason": reason},
        )


class UpstreamFailure(GraphQLError):
    def __init__(self, error: AdapterError) -> None:
        super().__init__(
            f"The {error.agency} system could not answer: {error.detail}",
            extensions={"code": error.code, "agency": error.agency},
        )


class PersonNotFound(GraphQLError):
    def __init__(self) -> None:
        super().__init__(
            "No agency system knows a person with this reference",
            extensions={"code": "NOT_FOUND"},
        )


class TooManyPeople(GraphQLError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Ask about at most {limit} people in one request",
            extensions={"code": "BAD_USER_INPUT", "limit": limit},
        )


class HouseholdTooLarge(GraphQLError):
    """More household links than the gateway resolves for one person or one request."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The household is not shown: {detail}",
            extensions={"code": "HOUSEHOLD_TOO_LARGE"},
        )


class InvalidReference(GraphQLError):
    """A reference that cannot be used as given (e.g. a forged or expired MATCH token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, extensions={"code": "BAD_REFERENCE"})


class InvalidSearch(GraphQLError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, extensions={"code": "BAD_USER_INPUT"})


class InternalError(GraphQLError):
    def __init__(self) -> None:
        super().__init__("Internal error", extensions={"code": "INTERNAL"})


class BreakGlassNotFound(GraphQLError):
    def __init__(self) -> None:
        super().__init__(
            "No break-glass access was recorded under this request id",
            extensions={"code": "NOT_FOUND"},
        )


class AuditLogUnavailable(GraphQLError):
    def __init__(self) -> None:
        super().__init__(
            "The audit log cannot be read right now", extensions={"code": "AUDIT_UNAVAILABLE"}
        )


SAFE_ERRORS = (
    ForbiddenField,
    UpstreamFailure,
    PersonNotFound,
    TooManyPeople,
    HouseholdTooLarge,
    BreakGlassNotFound,
    AuditLogUnavailable,
    InvalidReference,
    InvalidSearch,
)
