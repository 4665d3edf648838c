"""Placement for now: pick a host that fits, behind one function (``select_host``).

Filters and weighers are ordered lists of small functions, as Nova's scheduler has them.
Claims are atomic because the caller checks usage and records the allocation in one
database transaction on the event loop (see ``emulator.db``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from backends.base import HostInfo


@dataclass(frozen=True)
class Usage:
    """Resources already allocated on a host."""

    vcpus: int = 0
    memory_mb: int = 0
    disk_gb: int = 0


@dataclass(frozen=True)
class HostRequest:
    vcpus: int
    memory_mb: int
    disk_gb: int
    availability_zone: str | None = None
    host: str | None = None
    node: str | None = None
    #: Hosts not to choose (Nova's ``RequestSpec.ignore_hosts``: a resize's own host
    #: unless ``allow_resize_to_same_host``).
    ignore_hosts: frozenset[str] = frozenset()


Filter = Callable[[HostInfo, Usage, HostRequest], bool]
Weigher = Callable[[HostInfo, Usage], float]


def compute_filter(host: HostInfo, _usage: Usage, _req: HostRequest) -> bool:
    return host.enabled and host.up


def availability_zone_filter(host: HostInfo, _usage: Usage, req: HostRequest) -> bool:
    return req.availability_zone is None or host.availability_zone == req.availability_zone


def requested_host_filter(host: HostInfo, _usage: Usage, req: HostRequest) -> bool:
    """2.74 ``host`` / ``hypervisor_hostname`` (one node per host here)."""
    return all(wanted is None or wanted == host.name for wanted in (req.host, req.node))


def ignore_hosts_filter(host: HostInfo, _usage: Usage, req: HostRequest) -> bool:
    """Nova's ``RequestSpec.ignore_hosts`` (its host manager strips them before the
    filters run): never choose one of them."""
    return host.name not in req.ignore_hosts


def vcpu_filter(host: HostInfo, usage: Usage, req: HostRequest) -> bool:
    return usage.vcpus + req.vcpus <= host.vcpus * host.cpu_allocation_ratio


def ram_filter(host: HostInfo, usage: Usage, req: HostRequest) -> bool:
    return usage.memory_mb + req.memory_mb <= host.memory_mb * host.ram_allocation_ratio


def disk_filter(host: HostInfo, usage: Usage, req: HostRequest) -> bool:
    return usage.disk_gb + req.disk_gb <= host.local_gb * host.disk_allocation_ratio


def free_ram_weigher(host: HostInfo, usage: Usage) -> float:
    """Spread: prefer the host with the most free RAM (Nova's default RAM weigher)."""
    return host.memory_mb * host.ram_allocation_ratio - usage.memory_mb


FILTERS: tuple[Filter, ...] = (
    compute_filter,
    availability_zone_filter,
    requested_host_filter,
    ignore_hosts_filter,
    vcpu_filter,
    ram_filter,
    disk_filter,
)
WEIGHERS: tuple[Weigher, ...] = (free_ram_weigher,)


def select_host(
    hosts: Sequence[HostInfo], usage: Mapping[str, Usage], req: HostRequest
) -> HostInfo | None:
    """The best host for ``req``, or None when nothing fits (Nova's NoValidHost)."""
    best: HostInfo | None = None
    best_weight = 0.0
    for host in hosts:
        used = usage.get(host.name, Usage())
        if not all(check(host, used, req) for check in FILTERS):
            continue
        weight = sum(weigh(host, used) for weigh in WEIGHERS)
        if best is None or weight > best_weight:
            best, best_weight = host, weight
    return best
