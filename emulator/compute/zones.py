"""Availability zones (``os-availability-zone``): the zones of the services, each compute
host's zone answered by the aggregates (``HostZones``), as Nova lists them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from emulator.compute.policy import authorize
from emulator.compute.services.records import INTERNAL_ZONE, ServiceRecord
from emulator.context import RequestContext

__all__ = ["INTERNAL_ZONE", "HostZones", "ServiceState", "Zone", "ZoneService"]


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
    #: The service's last heartbeat or change.
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Zone:
    name: str
    available: bool
    #: host -> service binary -> state; only in the detailed (admin) view.
    hosts: dict[str, dict[str, ServiceState]] | None = None


Grouped = dict[str, dict[str, dict[str, ServiceState]]]


class ZoneService:
    """Nova's ``get_availability_zones`` over the service records (each service in its
    zone: a compute host's from the aggregates, the others' the internal zone): a zone is
    available when one of its services is enabled (up or not), unavailable when all are
    disabled."""

    def __init__(self, services: Callable[[], list[ServiceRecord]]) -> None:
        self.services = services

    def _grouped(self) -> tuple[Grouped, Grouped]:
        """(available zones, unavailable ones): zone -> host -> service -> state."""
        enabled: Grouped = {}
        disabled: Grouped = {}
        for service in self.services():
            grouped = disabled if service.disabled else enabled
            grouped.setdefault(service.zone, {}).setdefault(service.host, {})[
                service.binary] = ServiceState(available=service.up,
                                               active=not service.disabled,
                                               updated_at=service.updated_at)
        return enabled, {z: h for z, h in disabled.items() if z not in enabled}

    def zones(self, ctx: RequestContext) -> list[Zone]:
        """Public zones: available ones first; the internal zone is hidden."""
        authorize(ctx, "os_compute_api:os-availability-zone:list")
        available, unavailable = self._grouped()
        return [Zone(name, True) for name in sorted(available) if name != INTERNAL_ZONE] + \
            [Zone(name, False) for name in sorted(unavailable) if name != INTERNAL_ZONE]

    def zones_detail(self, ctx: RequestContext) -> list[Zone]:
        """Every zone, the internal one included; the available ones with their enabled
        services' hosts."""
        authorize(ctx, "os_compute_api:os-availability-zone:detail")
        available, unavailable = self._grouped()
        return [Zone(name, True, hosts) for name, hosts in sorted(available.items())] + \
            [Zone(name, False) for name in sorted(unavailable)]
