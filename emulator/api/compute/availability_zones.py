"""Availability zones (``/os-availability-zone``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.server_views import naive
from emulator.api.routing import Call, json_response
from emulator.compute.zones import Zone, ZoneService


def _view(zone: Zone) -> dict[str, Any]:
    hosts = None
    if zone.hosts is not None:
        hosts = {
            host: {binary: {"available": state.available, "active": state.active,
                            "updated_at": naive(state.updated_at)}
                   for binary, state in services.items()}
            for host, services in zone.hosts.items()
        }
    return {"zoneName": zone.name, "zoneState": {"available": zone.available}, "hosts": hosts}


class AvailabilityZonesController:
    def __init__(self, zones: ZoneService) -> None:
        self.zones = zones

    async def index(self, call: Call) -> Response:
        common.check_query(call, "zone_query")
        zones = self.zones.zones(common.context(call))
        return json_response({"availabilityZoneInfo": [_view(z) for z in zones]})

    async def detail(self, call: Call) -> Response:
        common.check_query(call, "zone_query")
        zones = self.zones.zones_detail(common.context(call))
        return json_response({"availabilityZoneInfo": [_view(z) for z in zones]})
