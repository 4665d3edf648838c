"""Route tables: literal lists of (method, path template, handler, microversion window).

Each service keeps its routes in one list that reads like Nova's ``ROUTE_LIST``. Matching
a request gives the route and its path parameters, or a ``Fault``: 404 for an unknown
path, 405 for a known path with another method (services that copy Nova turn that into
404, as Nova's router does).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.microversion import MIN_VERSION, APIVersion
from emulator.api.requests import dump_json

if TYPE_CHECKING:
    from emulator.identity.service import TokenInfo


@dataclass
class Call:
    """One API call as a handler sees it."""

    request: Request
    params: dict[str, str]
    #: The bearer's token, once authenticated (None on public routes).
    auth: TokenInfo | None = None
    #: The negotiated compute microversion (the minimum outside compute).
    version: APIVersion = MIN_VERSION
    #: ``/v2.1/{project_id}/...`` was used: links keep the project segment.
    url_project_id: str | None = None
    #: Parsed JSON body, filled by the service before the handler runs.
    body: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def token(self) -> TokenInfo:
        assert self.auth is not None, "handler on an authenticated route"
        return self.auth


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    min_version: APIVersion | None = None
    max_version: APIVersion | None = None
    #: False for the few public routes (version documents, token issue).
    authenticated: bool = True

    def allows(self, version: APIVersion) -> bool:
        return (self.min_version is None or version >= self.min_version) and (
            self.max_version is None or version <= self.max_version
        )


_PARAM = re.compile(r"\{(\w+)\}")


def _compile(template: str) -> re.Pattern[str]:
    """``/a/{b}`` -> ``^/a/(?P<b>[^/]+)$``; literal parts match literally (``.`` included)."""
    pattern, end = "", 0
    for param in _PARAM.finditer(template):
        pattern += re.escape(template[end:param.start()]) + f"(?P<{param.group(1)}>[^/]+)"
        end = param.end()
    pattern += re.escape(template[end:])
    return re.compile(f"^{pattern}$")


#: The template of the route the request being answered matched (its task's context: the
#: metrics' ``route`` label); "-" until one matches.
MATCHED: ContextVar[str] = ContextVar("nova_emulator_route", default="-")


class RouteTable:
    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        self._compiled = [(_compile(r.template), r) for r in self.routes]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method path`` (HEAD falls back to GET), or a 404/405 ``Fault``."""
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        allowed: list[str] = []
        for pattern, route in self._compiled:
            found = pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == method:
                MATCHED.set(route.template)
                return route, found.groupdict()
            allowed.append(route.method)
        if method == "HEAD" and "GET" in allowed:
            return self.match("GET", path)
        if allowed:
            raise Fault(405, headers={"Allow": ", ".join(sorted(set(allowed)))})
        raise Fault(404)


#: What may stand in a header value as it is: printable ASCII (RFC 9110 allows Latin-1 too,
#: but clients decode it differently); anything else is percent-encoded.
_HEADER_SAFE = re.compile(r"[\x20-\x7e]*")


def header_value(value: str) -> str:
    """``value`` fit for a header: printable ASCII kept, anything else (a tag of non-ASCII
    letters, a CR/LF that would end the header, a NUL) percent-encoded as UTF-8."""
    if _HEADER_SAFE.fullmatch(value):
        return value
    return quote(value, safe="".join(chr(c) for c in range(0x21, 0x7f) if chr(c) != "%"))


def _headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    return None if headers is None else {k: header_value(v) for k, v in headers.items()}


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(dump_json(body), status_code=status, headers=_headers(headers),
                    media_type="application/json")


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    response = Response(b"", status_code=status, headers=_headers(headers))
    if status == 204:
        del response.headers["content-length"]
    return response


def base_url(request: Request) -> str:
    """Scheme and host the client used, without a trailing slash (for absolute hrefs)."""
    return str(request.base_url).rstrip("/")
