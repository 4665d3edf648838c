"""``GET /_emulator/routes``: every route the emulator serves, read from the services'
route tables (and the compute action table), so what is generated from it (the isolation
matrix, a client's coverage report) cannot miss a route.

Each entry: ``service`` (its URL prefix without the slash), ``method``, ``path`` (under the
public URL, parameters as ``{name}``), ``template`` (the route table's), ``min_version``
and ``max_version`` (the microversion window, null: unbounded), ``authenticated`` (false
for the few public routes); compute's ``POST /servers/{server_id}/action`` also has
``actions``, the action names it takes. Admin only, as the rest of the control plane.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from starlette.responses import Response

from emulator.api.routing import Call, Route, json_response
from emulator.api.service import Service

#: The compute route whose body names an action.
ACTION_TEMPLATE = "/servers/{server_id}/action"


def route_entry(service: Service, route: Route, actions: Iterable[str]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "service": service.prefix.strip("/"), "method": route.method,
        "path": f"{service.prefix}{service.route_root}{route.template}",
        "template": route.template,
        "min_version": str(route.min_version) if route.min_version is not None else None,
        "max_version": str(route.max_version) if route.max_version is not None else None,
        "authenticated": route.authenticated}
    if service.prefix == "/compute" and route.template == ACTION_TEMPLATE:
        entry["actions"] = sorted(actions)
    return entry


class RouteListing:
    """The handler of ``GET /_emulator/routes``, over the services of the cloud served
    (read at each call: a loaded snapshot brings new services)."""

    def __init__(self, services: Callable[[], Sequence[Service]],
                 actions: Callable[[], Iterable[str]]) -> None:
        self.services = services
        self.actions = actions

    def entries(self) -> list[dict[str, Any]]:
        actions = list(self.actions())
        return [route_entry(service, route, actions)
                for service in self.services() for route in service.table.routes]

    async def show(self, call: Call) -> Response:
        return json_response({"routes": self.entries()})
