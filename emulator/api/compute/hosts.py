"""Hosts (``/os-hosts``), admin only, until 2.42 (removed at 2.43: a 404 from then on).

The list shows each enabled service's host, topic and zone; a compute host's show its
resources (``(total)``, ``(used_now)``, ``(used_max)`` and one row per project); an
update answers the status it was given and Nova's 501 for maintenance mode, as do the
power actions (see ``emulator.compute.services.hosts``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.routing import Call, json_response
from emulator.compute.services import HostEntry, HostResource, Hosts

#: The last version that has ``/os-hosts``.
MAX_VERSION = V(2, 42)


def _entry(entry: HostEntry) -> dict[str, Any]:
    return {"host_name": entry.host_name, "service": entry.service, "zone": entry.zone}


def _resource(row: HostResource) -> dict[str, Any]:
    return {"resource": {"host": row.host, "project": row.project, "cpu": row.cpu,
                         "memory_mb": row.memory_mb, "disk_gb": row.disk_gb}}


def _enable(value: Any) -> bool | None:
    """Nova's ``read_enabled``: ``enable`` in any case is True, anything else False."""
    return None if value is None else str(value).strip().lower() == "enable"


class HostsController:
    def __init__(self, hosts: Hosts) -> None:
        self.hosts = hosts

    async def index(self, call: Call) -> Response:
        common.check_query(call, "host_query")
        found = self.hosts.list_hosts(common.context(call), common.last_value(call, "zone"))
        return json_response({"hosts": [_entry(e) for e in found]})

    async def show(self, call: Call) -> Response:
        rows = self.hosts.show(common.context(call), call.params["host"])
        return json_response({"host": [_resource(r) for r in rows]})

    async def update(self, call: Call) -> Response:
        body = common.check_body(call, "host_update")
        host = call.params["host"]
        result = self.hosts.update(common.context(call), host, _enable(body.get("status")),
                                   _enable(body.get("maintenance_mode")))
        return json_response({"host": host, **result})

    async def startup(self, call: Call) -> Response:
        self.hosts.power_action(common.context(call), call.params["host"], "startup")

    async def shutdown(self, call: Call) -> Response:
        self.hosts.power_action(common.context(call), call.params["host"], "shutdown")

    async def reboot(self, call: Call) -> Response:
        self.hosts.power_action(common.context(call), call.params["host"], "reboot")
