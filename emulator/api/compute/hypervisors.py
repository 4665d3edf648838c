"""Hypervisors (``/os-hypervisors``), admin only.

| version | change |
|---|---|
| 2.28 | ``cpu_info`` an object (a JSON text before) |
| 2.33 | paging: ``limit``, ``marker``, ``hypervisors_links`` |
| 2.53 | uuid ids (the service's too); queries ``hypervisor_hostname_pattern``, ``with_servers`` |
| 2.53 | ``/{pattern}/search`` and ``/{pattern}/servers`` gone |
| 2.75 | ``servers: []`` when ``with_servers`` finds none |
| 2.88 | details without the usage figures and ``cpu_info``, with ``uptime`` |
| 2.88 | ``/statistics`` and ``/{id}/uptime`` gone |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.server_queries import truthy
from emulator.api.faults import Fault
from emulator.api.routing import Call, json_response
from emulator.compute.services import HypervisorRecord, Hypervisors

CPU_INFO_OBJECT_VERSION = V(2, 28)
PAGING_VERSION = V(2, 33)
UUID_VERSION = V(2, 53)
EMPTY_SERVERS_VERSION = V(2, 75)
TRIMMED_VERSION = V(2, 88)
#: The last versions of the routes 2.53 and 2.88 took away.
MAX_SEARCH_VERSION = V(2, 52)
MAX_STATISTICS_VERSION = V(2, 87)

#: The usage figures the details show before 2.88 (and the statistics sum), in Nova's
#: order.
USAGE = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
         "free_ram_mb", "free_disk_gb", "current_workload", "running_vms",
         "disk_available_least")


def summary(call: Call, h: HypervisorRecord) -> dict[str, Any]:
    return {
        "id": h.uuid if call.version >= UUID_VERSION else h.id,
        "hypervisor_hostname": h.hypervisor_hostname,
        "state": h.service.state,
        "status": h.service.status,
    }


def detail(call: Call, h: HypervisorRecord) -> dict[str, Any]:
    shown = summary(call, h)
    shown.update({
        "hypervisor_type": h.hypervisor_type,
        "hypervisor_version": h.hypervisor_version,
        "host_ip": h.host_ip,
        "service": {
            "id": h.service.uuid if call.version >= UUID_VERSION else h.service.id,
            "host": h.service.host,
            "disabled_reason": h.service.disabled_reason,
        },
    })
    if call.version >= TRIMMED_VERSION:
        shown["uptime"] = h.uptime
        return shown
    shown.update({field: getattr(h.usage, field) for field in USAGE})
    shown["cpu_info"] = dict(h.cpu_info) if call.version >= CPU_INFO_OBJECT_VERSION \
        else h.cpu_info_text
    return shown


def with_servers(call: Call, shown: dict[str, Any], h: HypervisorRecord,
                 asked: bool) -> dict[str, Any]:
    """``servers`` when the hypervisor has some; when asked and it has none, ``[]`` from
    2.75 and nothing before."""
    if h.servers:
        shown["servers"] = [{"name": name, "uuid": uuid} for name, uuid in h.servers]
    elif asked and call.version >= EMPTY_SERVERS_VERSION:
        shown["servers"] = []
    return shown


def _asked_for_servers(call: Call) -> bool:
    value = common.last_value(call, "with_servers")
    return call.version >= UUID_VERSION and value is not None and truthy(value)


class HypervisorsController:
    def __init__(self, hypervisors: Hypervisors) -> None:
        self.hypervisors = hypervisors

    async def index(self, call: Call) -> Response:
        return self._list(call, detailed=False)

    async def detail(self, call: Call) -> Response:
        return self._list(call, detailed=True)

    def _list(self, call: Call, detailed: bool) -> Response:
        common.check_query(call, "hypervisor_query")
        ctx = common.context(call)
        self.hypervisors.authorize(ctx, "list-detail" if detailed else "list")
        limit: int | None = None
        marker: str | None = None
        paged = call.version >= PAGING_VERSION
        if paged:
            limit, marker = common.limit_and_marker(call)
        pattern = common.last_value(call, "hypervisor_hostname_pattern") \
            if call.version >= UUID_VERSION else None
        if pattern is not None:
            if common.last_value(call, "limit") is not None or marker:
                raise Fault(400, "Paging over hypervisors with the "
                                 "hypervisor_hostname_pattern query parameter is not "
                                 "supported.")
            paged, limit, marker = False, None, None
        asked = _asked_for_servers(call)
        found = self.hypervisors.list_hypervisors(
            ctx, detail=detailed, limit=limit, marker=marker, pattern=pattern,
            with_servers=asked)
        build = detail if detailed else summary
        shown = [with_servers(call, build(call, h), h, asked) for h in found]
        if not paged:
            return json_response({"hypervisors": shown})
        collection = "os-hypervisors/detail" if detailed else "os-hypervisors"
        last = str(shown[-1]["id"]) if shown else None
        return json_response(common.page_body(call, "hypervisors", collection, shown, last))

    async def show(self, call: Call) -> Response:
        common.check_query(call, "hypervisor_show_query")
        asked = _asked_for_servers(call)
        found = self.hypervisors.get(common.context(call), call.params["hypervisor_id"],
                                     uuid_ids=call.version >= UUID_VERSION,
                                     with_servers=asked)
        return json_response({"hypervisor": with_servers(call, detail(call, found), found,
                                                         asked)})

    async def uptime(self, call: Call) -> Response:
        found = self.hypervisors.uptime(common.context(call), call.params["hypervisor_id"],
                                        uuid_ids=call.version >= UUID_VERSION)
        return json_response({"hypervisor": {**summary(call, found), "uptime": found.uptime}})

    async def search(self, call: Call) -> Response:
        return self._search(call, servers=False)

    async def servers(self, call: Call) -> Response:
        return self._search(call, servers=True)

    def _search(self, call: Call, servers: bool) -> Response:
        found: Sequence[HypervisorRecord] = self.hypervisors.search(
            common.context(call), call.params["hypervisor_id"], with_servers=servers)
        return json_response({"hypervisors": [with_servers(call, summary(call, h), h, False)
                                              for h in found]})

    async def statistics(self, call: Call) -> Response:
        stats = self.hypervisors.statistics(common.context(call))
        return json_response({"hypervisor_statistics": {
            "count": stats.count, **{field: getattr(stats.usage, field) for field in USAGE}}})
