"""One fault type for the whole API, and the renderers that give each service its error body.

Every error that reaches the HTTP surface becomes a ``Fault``: domain errors through
``STATUS_BY_ERROR``, anything unexpected as a 500 (logged). A service renders a fault in
its own dialect: Nova's ``{"<faultName>": {"code", "message"}}``, Keystone's
``{"error": {"code", "title", "message"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

from starlette.responses import Response

from emulator.errors import (
    BackendFailure,
    Conflict,
    EmulatorError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotImplementedYet,
    OverQuota,
    RateLimited,
)

#: Domain error class -> HTTP status. NOTE: quota errors are 403 in Nova, not 413.
STATUS_BY_ERROR: dict[type[EmulatorError], int] = {
    InvalidInput: 400,
    NotAuthenticated: 401,
    Forbidden: 403,
    OverQuota: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    BackendFailure: 500,
    NotImplementedYet: 501,
}

#: Nova's fault names by status (nova.api.openstack.wsgi.Fault._fault_names);
#: any other status is a ``computeFault``.
NOVA_FAULT_NAMES: dict[int, str] = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}

#: Keystone's error titles by status (``http.client.responses``, as its exceptions use).
KEYSTONE_TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}

#: webob's default explanations, used when a fault carries no message of its own.
DEFAULT_MESSAGES: dict[int, str] = {
    400: "The server could not comply with the request since it is either malformed "
         "or otherwise incorrect.",
    401: "The request you have made requires authentication.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method is not allowed for the requested URL.",
    409: "There was a conflict when trying to complete your request.",
    410: "This resource is no longer available.  No forwarding address is given.",
    413: "Request is too large.",
    415: "Unsupported Content-Type",
    500: "Unexpected API Error. Please contact the administrator",
}


class Fault(Exception):
    """An HTTP error with a status, a message and extra headers, in no dialect yet."""

    def __init__(
        self, status: int, message: str | None = None, headers: Mapping[str, str] | None = None,
        details: str = "",
    ) -> None:
        self.status = status
        self.message = message if message is not None else DEFAULT_MESSAGES.get(status, "")
        self.headers = dict(headers or {})
        self.details = details
        super().__init__(f"{status}: {self.message}")

    @classmethod
    def from_error(cls, error: EmulatorError) -> Fault:
        status = next(
            (code for kind, code in STATUS_BY_ERROR.items() if isinstance(error, kind)), 500
        )
        if isinstance(error, RateLimited):
            return cls(status, error.message, {"Retry-After": str(error.retry_after)},
                       error.details)
        return cls(status, error.message)


#: The error dialects services speak (see ``RENDERERS``).
Dialect = Literal["nova", "keystone"]

FaultRenderer = Callable[[Fault], Response]


def _json_response(status: int, body: dict[str, Any], headers: Mapping[str, str]) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        headers=dict(headers),
        media_type="application/json; charset=UTF-8",
    )


def render_nova(fault: Fault) -> Response:
    """Nova's body: ``{"badRequest": {"code": 400, "message": "..."}}``; a rate-limit
    fault adds ``details`` and ``retryAfter`` (legacy ``RateLimitFault``)."""
    name = NOVA_FAULT_NAMES.get(fault.status, "computeFault")
    inner: dict[str, Any] = {"code": fault.status, "message": fault.message}
    if fault.details:
        inner["details"] = fault.details
    if fault.status in (413, 429) and "Retry-After" in fault.headers:
        inner["retryAfter"] = fault.headers["Retry-After"]
    return _json_response(fault.status, {name: inner}, fault.headers)


def render_keystone(fault: Fault) -> Response:
    """Keystone's (and keystonemiddleware's) body: ``{"error": {"code", "title", "message"}}``."""
    title = KEYSTONE_TITLES.get(fault.status, "Error")
    body = {"error": {"code": fault.status, "title": title, "message": fault.message}}
    return _json_response(fault.status, body, fault.headers)


#: Each dialect's renderer.
RENDERERS: dict[Dialect, FaultRenderer] = {
    "nova": render_nova,
    "keystone": render_keystone,
}
