"""Glance's error dialect: webob's bodies, negotiated on ``Accept`` (HTML for ``*/*``, JSON
when JSON is preferred, plain text otherwise), never Nova's ``{"badRequest": …}``."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.requests import accept_quality, dump_json
from emulator.errors import EmulatorError, Forbidden, NotFound
from emulator.image.service import Gone, InvalidImageData, LimitExceeded

#: webob's status titles.
TITLES: dict[int, str] = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 409: "Conflict", 410: "Gone",
    413: "Request Entity Too Large", 415: "Unsupported Media Type",
    416: "Request Range Not Satisfiable", 429: "Too Many Requests",
    500: "Internal Server Error",
}
#: Domain errors Glance has beyond the shared table (``emulator.api.faults``).
GLANCE_STATUS: dict[type[EmulatorError], int] = {
    LimitExceeded: 413,
    InvalidImageData: 415,
    Gone: 410,
}
SERVER_ERROR = ("The server has either erred or is incapable of performing the requested "
                "operation.")


def fault_from_error(error: EmulatorError) -> Fault:
    """A domain error as Glance's fault (its own statuses first, then the shared table)."""
    status = next((code for kind, code in GLANCE_STATUS.items() if isinstance(error, kind)),
                  None)
    return Fault(status, error.message) if status else Fault.from_error(error)


def _accepted(accept: str | None) -> str:
    """webob's choice among ``text/html`` and ``application/json``, else ``text/plain``."""
    if not accept:
        return "text/plain"
    best, best_q = "text/plain", 0.0
    for offer in ("text/html", "application/json"):
        quality = accept_quality(accept, offer)
        if quality is not None and quality > best_q:
            best, best_q = offer, quality
    return best


def render_glance(fault: Fault, accept: str | None) -> Response:
    """webob's body for an HTTP error, in the media type the client prefers."""
    title = TITLES.get(fault.status, "Error")
    status_line = f"{fault.status} {title}"
    message = fault.message
    media = _accepted(accept)
    if media == "application/json":
        body = dump_json({"message": f"{message}<br /><br />\n\n\n", "code": status_line,
                          "title": title})
        content_type = "application/json"
    elif media == "text/html":
        body = (f"<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n"
                f"  <h1>{status_line}</h1>\n  {html.escape(message)}<br /><br />\n\n\n\n"
                " </body>\n</html>").encode()
        content_type = "text/html; charset=UTF-8"
    else:
        body = f"{status_line}\n\n{message}\n\n   ".encode()
        content_type = "text/plain; charset=UTF-8"
    return Response(body, status_code=fault.status, headers=dict(fault.headers),
                    media_type=content_type)


def image_not_found(image_id: str) -> Fault:
    """The 404 of Glance's tag and member controllers (the image controller words it
    otherwise)."""
    return Fault(404, f"Image {image_id} not found.")


@contextmanager
def refusals(image_id: str, action: str, limit: str | None = None) -> Iterator[None]:
    """How Glance's tag and member controllers word the domain's refusals of ``action`` on
    image ``image_id``: an image the caller cannot see is a 404, a policy refusal a 403,
    and, where the action adds a ``limit`` (``"tag"``, ``"member"``), too many a 413."""
    try:
        yield
    except NotFound:
        raise image_not_found(image_id) from None
    except Forbidden:
        raise Fault(403, f"Not allowed to {action} for image {image_id}.") from None
    except LimitExceeded as exc:
        if limit is None:
            raise
        raise Fault(413, f"Image {limit} limit exceeded for image {image_id}: "
                         f"{exc.message}:") from None
