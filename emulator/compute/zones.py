"""Availability zones (``os-availability-zone``): the zones of the compute hosts, each
host's zone answered by the aggregates (``HostZones``), as Nova lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from backends.base import HostInfo
from emulator.compute.policy import authorize
from emulator.context import RequestContext

#: Nova's ``internal_service_availability_zone`` and the control services shown in it.
INTERNAL_ZONE = "internal"
INTERNAL_SERVICES: tuple[tuple[str, str], ...] = (
    ("conductor", "nova-conductor"),
    ("scheduler", "nova-scheduler"),
)


class HostZones(Protocol):
    """Where hosts are: what server create, unshelve, claims and this listing ask."""

    def host_zone(self, host: str) -> str:
        """The zone of ``host`` (the default zone for a host in no zone)."""

    def zones(self) -> list[str]:
        """The zones there are (those of enabled hosts), sorted."""


@dataclass(frozen=True)
class ServiceState:
    available: bool
    active: bool


@dataclass(frozen=True)
class Zone:
    name: str
    available: bool
    #: host -> service binary -> state; only in the detailed (admin) view.
    hosts: dict[str, dict[str, ServiceState]] | None = None


Grouped = dict[str, dict[str, dict[str, ServiceState]]]


class ZoneService:
    """Nova's ``get_availability_zones``: a zone is available when one of its hosts'
    ``nova-compute`` is enabled (up or not), unavailable when all are disabled."""

    def __init__(self, hosts: Callable[[], list[HostInfo]], zones: HostZones) -> None:
        self.hosts = hosts
        self.host_zones = zones

    def _grouped(self) -> tuple[Grouped, Grouped]:
        """(available zones, unavailable ones): zone -> host -> service -> state."""
        enabled: Grouped = {}
        disabled: Grouped = {}
        for host in self.hosts():
            state = ServiceState(available=host.up, active=host.enabled)
            grouped = enabled if host.enabled else disabled
            grouped.setdefault(self.host_zones.host_zone(host.name), {})[host.name] = {
                "nova-compute": state}
        return enabled, {z: h for z, h in disabled.items() if z not in enabled}

    def zones(self, ctx: RequestContext) -> list[Zone]:
        """Public zones: available ones first; the internal zone is hidden."""
        authorize(ctx, "os_compute_api:os-availability-zone:list")
        available, unavailable = self._grouped()
        return [Zone(name, True) for name in sorted(available)] + \
            [Zone(name, False) for name in sorted(unavailable)]

    def zones_detail(self, ctx: RequestContext) -> list[Zone]:
        """Every zone, the internal one included; the available ones with their enabled
        hosts and services."""
        authorize(ctx, "os_compute_api:os-availability-zone:detail")
        available, unavailable = self._grouped()
        available[INTERNAL_ZONE] = {
            host: {binary: ServiceState(available=True, active=True)}
            for host, binary in INTERNAL_SERVICES
        }
        return [Zone(name, True, hosts) for name, hosts in sorted(available.items())] + \
            [Zone(name, False) for name in sorted(unavailable)]
