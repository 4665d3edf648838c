"""The dashboard: an HTML page at ``/`` for browsers, its files, and the JSON it polls.

| route | what |
|---|---|
| ``GET /`` (``Accept`` preferring ``text/html``) | the page (``static/dashboard.html``) |
| ``GET /_emulator/static/{name}`` | its script and style sheet, no token needed |
| ``GET /_emulator/dashboard`` | hosts, servers, groups, aggregates, quotas, rate limits,
  recent requests, the clock (an admin's) |

The page logs in with Keystone as any client does (the token kept in the tab's
``sessionStorage``) and polls ``/_emulator/dashboard``; what it reads is
``emulator.control.dashboard``'s snapshot, capped (each list says its ``total``).

The dashboard's own requests (the page, its files, its polls) are not recorded by the
request recorder: a tab left open would push the cloud's requests out of the ring.
"""

from __future__ import annotations

import time
from functools import cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.control_ratelimits import RateLimitControl
from emulator.api.control_requests import request_view
from emulator.api.faults import Fault
from emulator.api.requests import accept_quality
from emulator.api.routing import Call, json_response
from emulator.control.dashboard import Capped, Dashboard, HostFacts, Snapshot
from emulator.control.requestlog import RequestLog, iso_time
from emulator.placement import RESOURCE_CLASSES

#: Set in a request's scope: the request recorder passes over it.
UNRECORDED_KEY = "nova.unrecorded"
#: The page's files under ``/_emulator/static/`` and their media types.
ASSETS: dict[str, str] = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
PAGE = "dashboard.html"
#: Recent requests shown.
RECENT = 50


@cache
def asset(name: str) -> bytes:
    """A file of the page, from the package's data."""
    return (resources.files("emulator.api") / "static" / name).read_bytes()


def prefers_html(accept: str) -> bool:
    """Whether ``Accept`` ranks ``text/html`` above JSON (a browser's does; a client's
    ``application/json`` or ``*/*`` does not)."""
    return (accept_quality(accept, "text/html") or 0.0) > \
        (accept_quality(accept, "application/json") or 0.0)


def page(request: Request) -> Response:
    request.scope[UNRECORDED_KEY] = True
    return Response(asset(PAGE), media_type="text/html; charset=utf-8",
                    headers={"Vary": "Accept", "Cache-Control": "no-store"})


def host_view(host: HostFacts) -> dict[str, Any]:
    provider = host.provider
    usage = {rc: {"used": provider.used.get(rc, 0), "capacity": provider.capacity[rc]}
             for rc in RESOURCE_CLASSES if rc in provider.capacity}
    return {"name": provider.name, "zone": provider.zone, "enabled": provider.enabled,
            "up": provider.up, "servers": host.servers, "resources": usage,
            "utilisation": max((u["used"] / u["capacity"] for u in usage.values()
                                if u["capacity"] > 0), default=0.0)}


def capped(items: Capped[Any], view: Any) -> dict[str, Any]:
    return {"total": items.total, "shown": len(items.items),
            "items": [view(item) for item in items.items]}


def snapshot_view(snap: Snapshot) -> dict[str, Any]:
    clock = snap.clock
    return {
        "backend": snap.backend,
        "clock": None if clock is None else
        {"mode": clock.mode.value, "now": clock.now, "waiting": clock.waiting},
        "hosts": capped(snap.hosts, host_view),
        "servers": capped(snap.servers, lambda s: {
            "id": s.id, "name": s.name, "status": s.status, "task_state": s.task_state,
            "vm_state": s.vm_state, "host": s.host, "project_id": s.project_id,
            "vcpus": s.vcpus, "memory_mb": s.memory_mb}),
        "server_groups": capped(snap.groups, lambda g: {
            "id": g.uuid, "name": g.name, "policy": g.policy, "project_id": g.project_id,
            "members": list(g.members)}),
        "aggregates": capped(snap.aggregates, lambda a: {
            "id": a.id, "name": a.name, "availability_zone": a.availability_zone,
            "hosts": list(a.hosts), "metadata": dict(a.metadata)}),
        "projects": capped(snap.projects, lambda p: {
            "id": p.id, "name": p.name,
            "quotas": {name: {"in_use": d.in_use, "limit": d.limit}
                       for name, d in p.quotas.items()}}),
    }


class DashboardControl:
    """The handlers of ``/_emulator/dashboard`` and ``/_emulator/static/{name}``."""

    def __init__(self, dashboard: Dashboard, ratelimits: RateLimitControl,
                 requests: RequestLog) -> None:
        self.dashboard = dashboard
        self.ratelimits = ratelimits
        self.requests = requests

    async def show(self, call: Call) -> Response:
        call.request.scope[UNRECORDED_KEY] = True
        recent = self.requests.entries(RECENT)
        return json_response({
            **snapshot_view(self.dashboard.snapshot()),
            "ratelimits": self.ratelimits.view(),
            "requests": {"size": self.requests.size, "kept": len(self.requests),
                         "items": [request_view(e) for e in recent]},
            "time": iso_time(time.time()),
        })

    async def static(self, call: Call) -> Response:
        call.request.scope[UNRECORDED_KEY] = True
        name = call.params["name"]
        if name not in ASSETS:
            raise Fault(404, f"File {name} could not be found.")
        return Response(asset(name), media_type=ASSETS[name],
                        headers={"Cache-Control": "no-cache"})
