"""The backend seam: what the compute domain asks of a hypervisor backend.

Contract (the simulated and QEMU backends both meet it):

- Vocabulary is Nova's virt driver's: an *instance* lives on a *host*; hosts are grouped
  in availability zones and report their capacity as inventories.
- ``hosts()`` is cheap and may be called often; it reflects the backend's current view.
- Every failure a backend reports is a ``BackendError`` subclass; nothing else escapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol


class PowerState(IntEnum):
    """Nova's power states (``nova.compute.power_state``); 2 and 5 are unused."""

    NOSTATE = 0
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


class BackendError(Exception):
    """Root of every error a backend raises."""


class InstanceNotFound(BackendError):
    """The backend has no such instance."""


class HostUnavailable(BackendError):
    """The host cannot take the operation (down, disabled or gone)."""


@dataclass(frozen=True)
class HostInfo:
    """A compute host as the scheduler and the admin APIs see it."""

    name: str
    availability_zone: str
    hypervisor_type: str
    vcpus: int
    memory_mb: int
    local_gb: int
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    enabled: bool = True
    up: bool = True


class ComputeBackend(Protocol):
    """What the compute domain needs of a backend (grows with the lifecycle verbs)."""

    name: str

    def hosts(self) -> list[HostInfo]:
        """Every compute host this backend offers, in a stable order."""
        ...
