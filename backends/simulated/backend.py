"""The simulated backend: hosts are data; instances come with the server lifecycle."""

from __future__ import annotations

from collections.abc import Sequence

from backends.base import HostInfo

#: Default availability zones and how many hosts each gets.
DEFAULT_ZONES: tuple[tuple[str, int], ...] = (("nova", 4), ("az2", 4))

#: A realistic mid-size hypervisor: 32 threads, 128 GiB, 2 TB of local disk.
DEFAULT_VCPUS, DEFAULT_MEMORY_MB, DEFAULT_LOCAL_GB = 32, 131072, 2000


def default_hosts(zones: Sequence[tuple[str, int]] = DEFAULT_ZONES) -> list[HostInfo]:
    """``compute-001`` ... named hosts spread over ``zones``."""
    hosts: list[HostInfo] = []
    for zone, count in zones:
        for _ in range(count):
            hosts.append(HostInfo(name=f"compute-{len(hosts) + 1:03d}", availability_zone=zone,
                                  hypervisor_type="fake", vcpus=DEFAULT_VCPUS,
                                  memory_mb=DEFAULT_MEMORY_MB, local_gb=DEFAULT_LOCAL_GB))
    return hosts


class SimulatedBackend:
    name = "simulated"

    def __init__(self, hosts: Sequence[HostInfo] | None = None) -> None:
        self._hosts = list(hosts) if hosts is not None else default_hosts()

    def hosts(self) -> list[HostInfo]:
        return list(self._hosts)
