"""The one compute host of the QEMU backend: this machine, as Nova's libvirt driver sees it.

NOTE: as Nova's libvirt driver, the inventory is the machine's (or configured), reserved
memory taken off (Nova reports it as reserved; the scheduler here sees only what is left).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from pathlib import Path

from backends.base import HostInfo


def meminfo_mb() -> int:
    """The machine's memory (``MemTotal``), in MiB; 0 when /proc cannot tell."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def this_host(
    run_dir: Path,
    *,
    host_name: str | None,
    availability_zone: str,
    vcpus: int,
    memory_mb: int,
    local_gb: int,
    reserved_host_memory_mb: int,
    cpu_allocation_ratio: float,
    ram_allocation_ratio: float,
    disk_allocation_ratio: float,
) -> HostInfo:
    """This machine as a compute host; each size not given (0) is measured: CPUs, memory,
    and the file system of ``run_dir``, where the instances' disks live."""
    disk_gb = shutil.disk_usage(run_dir).total // 2**30
    memory = (memory_mb or meminfo_mb()) - reserved_host_memory_mb
    return HostInfo(
        name=host_name or socket.gethostname(), availability_zone=availability_zone,
        hypervisor_type="QEMU", vcpus=vcpus or os.cpu_count() or 1,
        memory_mb=max(0, memory), local_gb=local_gb or int(disk_gb),
        cpu_allocation_ratio=cpu_allocation_ratio,
        ram_allocation_ratio=ram_allocation_ratio,
        disk_allocation_ratio=disk_allocation_ratio)
