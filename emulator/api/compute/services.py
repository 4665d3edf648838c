"""Compute services (``/os-services``), admin only.

| version | change |
|---|---|
| 2.11 | ``forced_down`` in every view; ``PUT /os-services/force-down`` |
| 2.53 | uuid ids; ``PUT /os-services/{id}`` sets ``status``, ``disabled_reason``, ``forced_down`` |
| 2.69 | a service of a cell that does not answer shows ``status: UNKNOWN`` (one cell here: never) |
| 2.75 | unknown query parameters -> 400 |

Before 2.53 the last path segment names an action (``enable``, ``disable``,
``disable-log-reason``, ``force-down``) and the body the service (host and binary); each
answers with what it set.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.server_queries import truthy
from emulator.api.compute.server_views import naive
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.services import ServiceRecord, Services

FORCED_DOWN_VERSION = V(2, 11)
UUID_VERSION = V(2, 53)


def view(call: Call, service: ServiceRecord) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "binary": service.binary,
        "host": service.host,
        "id": service.uuid if call.version >= UUID_VERSION else service.id,
        "zone": service.zone,
        "status": service.status,
        "state": service.state,
        "updated_at": naive(service.updated_at),
        "disabled_reason": service.disabled_reason,
    }
    if call.version >= FORCED_DOWN_VERSION:
        shown["forced_down"] = service.forced_down
    return shown


def _flag(value: Any) -> bool:
    """A boolean as the schema lets it come (``true``, ``"yes"``, ``"0"``...)."""
    return truthy(str(value))


class ServicesController:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def index(self, call: Call) -> Response:
        common.check_query(call, "service_query")
        found = self.services.list_services(common.context(call),
                                            host=common.last_value(call, "host"),
                                            binary=common.last_value(call, "binary"))
        return json_response({"services": [view(call, s) for s in found]})

    async def update(self, call: Call) -> Response:
        body = common.check_body(call, "service_update")
        ctx, service_id = common.context(call), call.params["service_id"]
        if call.version >= UUID_VERSION:
            forced = body.get("forced_down")
            updated = self.services.update(
                ctx, service_id, status=body.get("status"),
                disabled_reason=body.get("disabled_reason"),
                forced_down=None if forced is None else _flag(forced))
            return json_response({"service": view(call, updated)})
        self.services.authorize(ctx, "update")
        actions = {
            "enable": self._enable,
            "disable": self._disable,
            "disable-log-reason": self._disable_log_reason,
        }
        if call.version >= FORCED_DOWN_VERSION:
            actions["force-down"] = self._force_down
        action = actions.get(service_id)
        if action is None:
            raise Fault(404, "Unknown action")
        return json_response({"service": action(call, body)})

    def _enable(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        self.services.update_by_host(common.context(call), body["host"], body["binary"],
                                     disabled=False)
        return {"host": body["host"], "binary": body["binary"], "status": "enabled"}

    def _disable(self, call: Call, body: dict[str, Any],
                 reason: str | None = None) -> dict[str, Any]:
        self.services.update_by_host(common.context(call), body["host"], body["binary"],
                                     disabled=True, disabled_reason=reason)
        shown = {"host": body["host"], "binary": body["binary"], "status": "disabled"}
        if reason:
            shown["disabled_reason"] = reason
        return shown

    def _disable_log_reason(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        if "disabled_reason" not in body:
            raise Fault(400, "Missing disabled reason field")
        return self._disable(call, body, body["disabled_reason"])

    def _force_down(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        if "forced_down" not in body:
            raise Fault(400, "Missing forced_down field")
        forced = _flag(body["forced_down"])
        self.services.update_by_host(common.context(call), body["host"], body["binary"],
                                     forced_down=forced)
        return {"host": body["host"], "binary": body["binary"], "forced_down": forced}

    async def delete(self, call: Call) -> Response:
        self.services.delete(common.context(call), call.params["service_id"],
                             uuid_ids=call.version >= UUID_VERSION)
        return empty_response(204)
