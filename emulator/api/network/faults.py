"""Neutron's error body: ``{"NeutronError": {"type", "message", "detail"}}``, the type the
name of the exception (``api_common.convert_exception_to_http_exc``)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.routing import json_response
from emulator.errors import EmulatorError

log = logging.getLogger("nova_emulator.api")

#: webob's exception names, for faults that are not one of Neutron's own.
WEBOB_TYPES: dict[int, str] = {
    400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden",
    404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 409: "HTTPConflict",
    413: "HTTPRequestEntityTooLarge", 415: "HTTPUnsupportedMediaType",
    429: "HTTPTooManyRequests", 500: "HTTPInternalServerError", 501: "HTTPNotImplemented",
}
SERVER_ERROR = "Request Failed: internal server error while processing your request."


def render(status: int, kind: str, message: str,
           headers: dict[str, str] | None = None) -> Response:
    return json_response({"NeutronError": {"type": kind, "message": message, "detail": ""}},
                         status=status, headers=headers)


def neutron_error(request: Request, exc: Exception) -> Response:
    """Any exception as Neutron answers it."""
    if isinstance(exc, Fault):
        return render(exc.status, WEBOB_TYPES.get(exc.status, "HTTPError"), exc.message,
                      exc.headers)
    if isinstance(exc, EmulatorError):
        fault = Fault.from_error(exc)
        kind = getattr(exc, "kind", None) or WEBOB_TYPES.get(fault.status, "HTTPError")
        return render(fault.status, kind, fault.message, fault.headers)
    log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return render(500, "HTTPInternalServerError", SERVER_ERROR)
