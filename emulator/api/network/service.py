"""The Network (Neutron v2.0) API at ``/network``: its route table and request path.

As Neutron's paste pipeline has it: the versions document at the root answers without a
token; everything under ``/v2.0/`` is behind the token check (``/v2.0`` itself, without the
slash, is a 404), then the router. Faults are ``NeutronError`` bodies (``faults``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.network.extras import (
    MiscController,
    QuotasController,
    RouterInterfacesController,
    TagsController,
)
from emulator.api.network.faults import neutron_error, render
from emulator.api.network.resources import COLLECTIONS, ResourcesController
from emulator.api.requests import read_body
from emulator.api.routing import Call, Handler, Route, base_url, json_response
from emulator.api.service import AuthFault, Service
from emulator.identity.service import IdentityService
from emulator.network.errors import bad_request
from emulator.network.service import NetworkService

VERSION = "v2.0"
#: The core resources ``GET /v2.0/`` lists (Neutron's ``_CORE_RESOURCES``).
CORE_RESOURCES = (("network", "networks"), ("subnet", "subnets"),
                  ("subnetpool", "subnetpools"), ("port", "ports"))


def _bound(segment: str, handler: Handler) -> Handler:
    """``handler`` for one collection (its URL segment as the ``collection`` parameter)."""
    async def run(call: Call) -> Response:
        call.params["collection"] = segment
        return await handler(call)

    return run


class NetworkAPI(Service):
    prefix = "/network"
    route_root = f"/{VERSION}"

    def __init__(self, identity: IdentityService, public_url: str, max_body: int,
                 network: NetworkService) -> None:
        self.resources = ResourcesController(network)
        self.interfaces = RouterInterfacesController(network)
        self.tag_controller = TagsController(network)
        self.quotas = QuotasController(network)
        self.misc = MiscController(network)
        super().__init__(identity, public_url, max_body)

    def routes(self) -> list[Route]:
        res, tags, quotas, misc = self.resources, self.tag_controller, self.quotas, self.misc
        fixed = [
            Route("GET", "/extensions", misc.extensions),
            Route("GET", "/extensions/{alias}", misc.extension),
            Route("GET", "/availability_zones", misc.availability_zones),
            Route("PUT", "/routers/{id}/add_router_interface", self.interfaces.add),
            Route("PUT", "/routers/{id}/remove_router_interface", self.interfaces.remove),
            Route("GET", "/quotas", quotas.index),
            Route("GET", "/quotas/project", quotas.project),
            Route("GET", "/quotas/{project_id}", quotas.show),
            Route("PUT", "/quotas/{project_id}", quotas.update),
            Route("DELETE", "/quotas/{project_id}", quotas.delete),
            Route("GET", "/quotas/{project_id}/default", quotas.defaults),
            Route("GET", "/quotas/{project_id}/details", quotas.details),
            Route("GET", "/auto-allocated-topology/{project_id}", misc.topology),
            Route("DELETE", "/auto-allocated-topology/{project_id}", misc.delete_topology),
        ]
        #: The same table for every collection: (method, path after it, handler).
        per_collection: list[tuple[str, str, Handler]] = [
            ("GET", "", res.index), ("POST", "", res.create),
            ("GET", "/{id}", res.show), ("PUT", "/{id}", res.update),
            ("DELETE", "/{id}", res.delete),
            ("GET", "/{id}/tags", tags.index), ("PUT", "/{id}/tags", tags.replace),
            ("DELETE", "/{id}/tags", tags.remove_all),
            ("GET", "/{id}/tags/{tag}", tags.check), ("PUT", "/{id}/tags/{tag}", tags.add),
            ("DELETE", "/{id}/tags/{tag}", tags.remove),
        ]
        return fixed + [Route(method, f"/{segment}{tail}", _bound(segment, handler))
                        for segment in COLLECTIONS for method, tail, handler in per_collection]

    def error_response(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, AuthFault):
            return self.render(exc)
        return neutron_error(request, exc)

    def _versions(self, request: Request) -> Response:
        if request.method != "GET":
            return render(405, "HTTPMethodNotAllowed",
                          "The server could not comply with the request since it is either "
                          "malformed or otherwise incorrect.")
        href = f"{base_url(request)}{self.prefix}/{VERSION}/"
        return json_response({"versions": [{"id": VERSION, "status": "CURRENT",
                                             "links": [{"rel": "self", "href": href}]}]})

    def _resources(self, request: Request) -> Response:
        root = f"{base_url(request)}{self.prefix}/{VERSION}"
        return json_response({"resources": [
            {"name": name, "collection": collection,
             "links": [{"rel": "self", "href": f"{root}/{collection}"}]}
            for name, collection in CORE_RESOURCES]})

    async def _body(self, request: Request) -> Any:
        raw = await read_body(request, self.max_body)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("Body contains invalid data") from None

    async def dispatch(self, request: Request, subpath: str) -> Response:
        if subpath in ("", "/"):
            return self._versions(request)
        head, _, rest = subpath[1:].partition("/")
        if head != VERSION:
            raise Fault(404, "The resource could not be found.")
        auth = self.authenticate(request)
        if not subpath.startswith(f"/{VERSION}/"):
            raise Fault(404, "The resource could not be found.")
        path = "/" + rest
        if path == "/":
            return self._resources(request)
        try:
            route, params = self.table.match(request.method, path)
        except Fault as fault:
            if fault.status == 405:
                raise Fault(405, f"The method {request.method} is not allowed for this "
                                 "resource.", fault.headers) from None
            raise Fault(404, "The resource could not be found.") from None
        body = await self._body(request) if request.method in ("POST", "PUT") else None
        return await route.handler(Call(request=request, params=params, auth=auth, body=body))
