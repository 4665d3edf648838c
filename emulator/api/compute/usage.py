"""Simple tenant usage (``/os-simple-tenant-usage``): every project's usage (admins) and
one project's (admins, or its readers) over a window.

| version | change |
|---|---|
| 2.40 | paging by server: ``limit``, ``marker``; ``tenant_usages_links`` / ``tenant_usage_links`` |
| 2.75 | unknown query parameters -> 400 |

NOTE: as Nova, ``start``, ``end`` and ``detailed`` are read as ``parse_qs`` reads the
query: the first value that is not empty (an empty one is as good as none).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import MAX_LIMIT, V
from emulator.api.compute.server_views import naive
from emulator.api.routing import Call, json_response
from emulator.compute.usage import ServerUsage, TenantUsage, TenantUsageRecord, Window

PAGING_VERSION = V(2, 40)
COLLECTION = "os-simple-tenant-usage"


def _first(call: Call, name: str) -> str | None:
    return next((v for v in call.request.query_params.getlist(name) if v), None)


def _window(call: Call) -> Window:
    start, end = _first(call, "start"), _first(call, "end")
    if call.version < PAGING_VERSION:
        return Window(start, end, MAX_LIMIT)
    limit, marker = common.limit_and_marker(call)
    return Window(start, end, limit, marker)


def _server(usage: ServerUsage) -> dict[str, Any]:
    return {"hours": usage.hours, "flavor": usage.flavor, "instance_id": usage.instance_id,
            "name": usage.name, "tenant_id": usage.tenant_id, "memory_mb": usage.memory_mb,
            "local_gb": usage.local_gb, "vcpus": usage.vcpus,
            "started_at": naive(usage.started_at), "ended_at": naive(usage.ended_at),
            "state": usage.state, "uptime": usage.uptime}


def _tenant(tenant: TenantUsageRecord) -> dict[str, Any]:
    shown: dict[str, Any] = {"tenant_id": tenant.tenant_id}
    if tenant.server_usages is not None:
        shown["server_usages"] = [_server(u) for u in tenant.server_usages]
    shown.update({"total_local_gb_usage": tenant.total_local_gb_usage,
                  "total_vcpus_usage": tenant.total_vcpus_usage,
                  "total_memory_mb_usage": tenant.total_memory_mb_usage,
                  "total_hours": tenant.total_hours,
                  "start": naive(tenant.start), "stop": naive(tenant.stop)})
    return shown


class UsageController:
    def __init__(self, usage: TenantUsage) -> None:
        self.usage = usage

    def _links(self, call: Call, body: dict[str, Any], key: str, collection: str,
               servers: list[ServerUsage]) -> dict[str, Any]:
        """From 2.40, a ``next`` link when the page of servers is full."""
        if call.version >= PAGING_VERSION:
            last = servers[-1].instance_id if servers else None
            links = common.next_links(call, collection, len(servers), last)
            if links:
                body[key] = links
        return body

    async def index(self, call: Call) -> Response:
        common.check_query(call, "usage_index_query")
        report = self.usage.list_usages(common.context(call), _window(call),
                                        detailed=_first(call, "detailed") == "1")
        body = {"tenant_usages": [_tenant(t) for t in report.tenants]}
        return json_response(self._links(call, body, "tenant_usages_links", COLLECTION,
                                          report.servers))

    async def show(self, call: Call) -> Response:
        common.check_query(call, "usage_show_query")
        tenant_id = call.params["tenant_id"]
        report = self.usage.show_usage(common.context(call), tenant_id, _window(call))
        shown = _tenant(report.tenants[0]) if report.tenants else {}
        return json_response(self._links(call, {"tenant_usage": shown}, "tenant_usage_links",
                                          f"{COLLECTION}/{tenant_id}", report.servers))
