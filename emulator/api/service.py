"""What every OpenStack service on the emulator shares: dispatch, auth, bodies, faults.

A service owns a route table and a dialect (how it words faults and reads bodies).
``handle`` turns one request into one response and never lets an exception escape: domain
errors become faults through one table, anything unexpected becomes a logged 500.

Before anything else every service refuses a declared ``Content-Length`` over the limit,
as oslo.middleware's sizelimit does in front of both Nova and Keystone (so a 413 comes
before a 401 or a 404).
"""

from __future__ import annotations

import logging
from typing import ClassVar

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.faults import RENDERERS, Dialect, Fault, render_keystone
from emulator.api.requests import check_declared_size, check_media_type, parse_json, read_body
from emulator.api.routing import Call, Route, RouteTable
from emulator.errors import EmulatorError, NotAuthenticated
from emulator.identity.service import IdentityService, TokenInfo

log = logging.getLogger("nova_emulator.api")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: Where ``authenticate`` leaves the token's project id in the request's scope (the
#: request recorder's).
PROJECT_KEY = "nova.project_id"


class AuthFault(Fault):
    """401 from the token check; rendered as keystonemiddleware renders it, in any service."""

    def __init__(self, identity_url: str) -> None:
        super().__init__(
            401,
            "The request you have made requires authentication.",
            {"WWW-Authenticate": f'Keystone uri="{identity_url}"'},
        )


class Service:
    """Base of the per-service APIs: subclasses set ``prefix`` and ``routes``."""

    prefix: ClassVar[str]
    #: What stands between ``prefix`` and a route's template in a URL (its API version).
    route_root: ClassVar[str] = ""
    #: How faults are worded and bodies read; the base speaks Keystone's.
    dialect: ClassVar[Dialect] = "keystone"
    #: Whether a declared ``Content-Length`` over ``max_body`` is refused first.
    limit_declared_size: ClassVar[bool] = True

    def __init__(self, identity: IdentityService, public_url: str, max_body: int) -> None:
        self.identity = identity
        self.public_url = public_url
        self.max_body = max_body
        self.table = RouteTable(self.routes())

    def routes(self) -> list[Route]:
        """The service's route table, as a literal list."""
        return []

    def render_fault(self, fault: Fault) -> Response:
        """The service's error dialect."""
        return RENDERERS[self.dialect](fault)

    @property
    def identity_url(self) -> str:
        return f"{self.public_url}/identity"

    def authenticate(self, request: Request) -> TokenInfo:
        token = request.headers.get("x-auth-token")
        if not token:
            raise AuthFault(self.identity_url)
        try:
            info = self.identity.validate(token)
        except NotAuthenticated:
            raise AuthFault(self.identity_url) from None
        request.scope[PROJECT_KEY] = info.project.id if info.project else None
        return info

    async def read_json(self, request: Request) -> object:
        """The decoded body (None without one), checked as the service's dialect requires.

        Nova checks the Content-Type of every request and reads bodies of POST and PUT;
        Keystone reads any body and checks its type only when there is one.
        """
        content_type = request.headers.get("content-type")
        if self.dialect == "nova":
            check_media_type(content_type)
            if request.method not in BODY_METHODS:
                return None
        return parse_json(await read_body(request, self.max_body), content_type, self.dialect)

    def render(self, fault: Fault) -> Response:
        if isinstance(fault, AuthFault):
            return render_keystone(fault)
        return self.render_fault(fault)

    async def handle(self, request: Request, subpath: str) -> Response:
        try:
            if self.limit_declared_size:
                check_declared_size(request.headers, self.max_body)
            return await self.dispatch(request, subpath)
        except Exception as exc:
            return self.error_response(request, exc)

    def error_response(self, request: Request, exc: Exception) -> Response:
        """The fault response for any exception; unexpected ones are logged as 500s."""
        if isinstance(exc, Fault):
            return self.render(exc)
        if isinstance(exc, EmulatorError):
            return self.render(Fault.from_error(exc))
        log.error("unexpected error in %s %s", request.method, request.url.path,
                  exc_info=exc)
        return self.render(Fault(500))

    async def dispatch(self, request: Request, subpath: str) -> Response:
        """Read the body, match, authenticate, run the handler (subclasses extend this).

        NOTE: Keystone's order: Flask runs its JSON-body check before it raises routing
        errors, and the token is checked inside the resource, after routing.
        """
        body = await self.read_json(request)
        route, params = self.table.match(request.method, subpath)
        call = Call(request=request, params=params, body=body)
        if route.authenticated:
            call.auth = self.authenticate(request)
        return await route.handler(call)
