"""Availability zones, derived from the hosts the backend reports (Nova's view of them)."""

from __future__ import annotations

from dataclasses import dataclass

from backends.base import ComputeBackend
from emulator.compute.policy import authorize
from emulator.context import RequestContext

#: Nova's ``internal_service_availability_zone`` and the control services shown in it.
INTERNAL_ZONE = "internal"
INTERNAL_SERVICES: tuple[tuple[str, str], ...] = (
    ("conductor", "nova-conductor"),
    ("scheduler", "nova-scheduler"),
)


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


class ZoneService:
    def __init__(self, backend: ComputeBackend) -> None:
        self.backend = backend

    def _grouped(self) -> dict[str, dict[str, dict[str, ServiceState]]]:
        zones: dict[str, dict[str, dict[str, ServiceState]]] = {}
        for host in self.backend.hosts():
            state = ServiceState(available=host.up, active=host.enabled)
            zones.setdefault(host.availability_zone, {})[host.name] = {"nova-compute": state}
        return zones

    def zones(self, ctx: RequestContext) -> list[Zone]:
        """Public zones: available ones first, each once; the internal zone is hidden."""
        authorize(ctx, "os_compute_api:os-availability-zone:list")
        grouped = self._grouped()
        listed = [Zone(name, self._usable(hosts)) for name, hosts in sorted(grouped.items())]
        return [z for z in listed if z.available] + [z for z in listed if not z.available]

    def zones_detail(self, ctx: RequestContext) -> list[Zone]:
        """Every zone with its hosts and services, the internal zone included."""
        authorize(ctx, "os_compute_api:os-availability-zone:detail")
        grouped = self._grouped()
        grouped[INTERNAL_ZONE] = {
            host: {binary: ServiceState(available=True, active=True)}
            for host, binary in INTERNAL_SERVICES
        }
        available = [Zone(name, True, hosts) for name, hosts in sorted(grouped.items())
                     if self._usable(hosts)]
        unavailable = [Zone(name, False) for name, hosts in sorted(grouped.items())
                       if not self._usable(hosts)]
        return available + unavailable

    @staticmethod
    def _usable(hosts: dict[str, dict[str, ServiceState]]) -> bool:
        return any(s.available and s.active for services in hosts.values()
                   for s in services.values())
