"""Errors an adapter raises when its upstream cannot answer.

Each carries a stable ``code`` that the gateway passes to callers as
``extensions.code``. Messages must never contain agency data: they are shown
to callers and written to logs.
"""


class AdapterError(Exception):
    """Base class: the agency could not give an answer for this request."""

    code = "UPSTREAM_ERROR"

    def __init__(self, agency: str, detail: str) -> None:
        super().__init__(f"{agency}: {detail}")
        self.agency = agency
        self.detail = detail


class UpstreamUnavailable(AdapterError):
    """The agency system refused the connection, is stopped, or answered 5xx."""

    code = "UPSTREAM_UNAVAILABLE"


class UpstreamTimeout(AdapterError):
    """The agency system did not answer within its time budget."""

    code = "UPSTREAM_TIMEOUT"


class UpstreamBadReply(AdapterError):
    """The agency system answered with something that is not a valid reply."""

    code = "UPSTREAM_BAD_REPLY"
