"""The Compute (Nova) API at ``/compute``.

Request path, as Nova's paste pipeline orders it: version documents answer without a
token; everything else under ``/v2.1`` is authenticated (401 in keystonemiddleware's
dialect), then the microversion is negotiated (400/406), then the optional project id
segment is checked, then the route table is matched within its microversion window. Every
response after negotiation echoes the version headers, faults included.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.compute import versions
from emulator.api.compute.routes import Controllers, route_list
from emulator.api.faults import Fault
from emulator.api.microversion import (
    APIVersion,
    VersionNotAcceptable,
    negotiate,
    version_headers,
)
from emulator.api.routing import Call, Handler, Route
from emulator.api.service import Service
from emulator.identity.service import IdentityService, TokenInfo

API_PREFIX = "/v2.1"
_PROJECT_ID = re.compile(r"[0-9a-f-]+")

#: Runs a matched route's handler (the control plane's fault rules act there).
Interceptor = Callable[[Call, Handler], Awaitable[Response]]


class ComputeAPI(Service):
    prefix = "/compute"
    route_root = API_PREFIX
    dialect = "nova"

    def __init__(
        self, identity: IdentityService, public_url: str, max_body: int, controllers: Controllers,
        intercept: Interceptor | None = None,
    ) -> None:
        self.controllers = controllers
        self.intercept = intercept
        super().__init__(identity, public_url, max_body)

    def routes(self) -> list[Route]:
        return route_list(self.controllers)

    async def dispatch(self, request: Request, subpath: str) -> Response:
        if subpath in ("", "/"):
            return versions.list_versions(request, self.prefix)
        if subpath in ("/v2", "/v2/"):
            return versions.show_v2(request, self.prefix)
        if subpath == API_PREFIX or subpath.startswith(API_PREFIX + "/"):
            return await self._api(request, subpath[len(API_PREFIX):])
        return versions.multiple_choices(request, self.prefix, subpath)

    async def _api(self, request: Request, path: str) -> Response:
        public = path in ("", "/")
        auth = None if public else self.authenticate(request)
        try:
            version = negotiate(request.headers)
        except VersionNotAcceptable as fault:
            return self._echo(self.render(fault), str(fault.version))
        try:
            if auth is None:
                response = versions.show_v21(request, self.prefix)
            else:
                response = await self._versioned(request, path, auth, version)
        except Exception as exc:
            response = self.error_response(request, exc)
        return self._echo(response, str(version))

    @staticmethod
    def _echo(response: Response, version: str) -> Response:
        for name, value in version_headers(version):
            response.headers.append(name, value)
        return response

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        # NOTE: Nova's router matches paths strictly: ``/servers/`` is not ``/servers``
        # (Tempest counts on ``/os-simple-tenant-usage/`` being a 404).
        if path.endswith("/"):
            raise Fault(404)
        try:
            return self.table.match(method, path)
        except Fault as fault:
            # NOTE: Nova's router answers a known path with another method with a plain 404.
            if fault.status == 405:
                raise Fault(404) from None
            raise

    async def _versioned(
        self, request: Request, path: str, auth: TokenInfo, version: APIVersion
    ) -> Response:
        """Route ``path``; a leading segment that only matches as a project id is one."""
        url_project_id: str | None = None
        try:
            route, params = self._match(request.method, path)
        except Fault:
            segments = path.split("/")
            # NOTE: Nova's router only takes a hex/uuid-like segment as a project id.
            if len(segments) < 3 or not _PROJECT_ID.fullmatch(segments[1]):
                raise
            url_project_id, rest = segments[1], "/" + "/".join(segments[2:])
            if rest != "/":
                route, params = self._match(request.method, rest)
            context_project = auth.project.id if auth.project else None
            if url_project_id != context_project:
                raise Fault(
                    400,
                    f"Malformed request URL: URL's project_id '{url_project_id}' doesn't "
                    f"match Context's project_id '{context_project}'",
                ) from None
            if rest == "/":
                return versions.show_v21(request, self.prefix)
        if not route.allows(version):
            raise Fault(404)
        call = Call(request=request, params=params, auth=auth, version=version,
                    url_project_id=url_project_id)
        call.body = await self.read_json(request)
        if self.intercept is not None:
            return await self.intercept(call, route.handler)
        return await route.handler(call)
