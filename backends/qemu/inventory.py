"""The compute hosts of the QEMU backend: this machine, as one host or split into several.

One host (the default) is this machine as Nova's libvirt driver sees it, named after it,
with its instance directories right in the run directory. Several hosts share the machine:
each has a name, a share of its CPUs, memory and disk (an equal part unless configured),
and its own run directory ``<run_dir>/<name>/``, so that what runs on a host is what its
directory holds. Moving an instance between hosts moves its directory.

NOTE: as Nova's libvirt driver, the inventory is the machine's (or configured), reserved
memory taken off (Nova reports it as reserved; the scheduler here sees only what is left).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from backends.base import HostInfo
from backends.qemu.process import ProcessError, ProcessManager

#: A host's name is its directory's name: one short path component (UNIX sockets live
#: under it).
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
#: The names of ``hosts = N`` hosts when N > 1.
DEFAULT_HOST_NAME = "qemu-{number}"


@dataclass(frozen=True)
class HostShare:
    """One host of this machine: its name and its share of the machine (0: an equal part
    of what the machine has)."""

    name: str
    vcpus: int = 0
    memory_mb: int = 0
    local_gb: int = 0


@dataclass(frozen=True)
class QemuHost:
    """A compute host: what the scheduler sees of it, and the processes of its run
    directory (``manager.run_dir``)."""

    info: HostInfo
    manager: ProcessManager

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def run_dir(self) -> Path:
        return self.manager.run_dir


def meminfo_mb() -> int:
    """The machine's memory (``MemTotal``), in MiB; 0 when /proc cannot tell."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def shares(hosts: int | Sequence[HostShare], host_name: str | None) -> list[HostShare]:
    """The hosts asked for: ``N`` equal ones (one: named ``host_name`` or after this
    machine; several: ``qemu-1`` ... ``qemu-N``), or the ones listed, checked. A
    ``ValueError`` says what is wrong as a phrase about them ("must ...")."""
    if isinstance(hosts, int):
        if hosts < 1:
            raise ValueError(f"must be at least 1, not {hosts}")
        if hosts == 1:
            return [HostShare(host_name or socket.gethostname())]
        return [HostShare(DEFAULT_HOST_NAME.format(number=n)) for n in range(1, hosts + 1)]
    listed = list(hosts)
    names = [share.name for share in listed]
    if not listed:
        raise ValueError("must list at least one host")
    if twice := sorted({name for name in names if names.count(name) > 1}):
        raise ValueError(f"must name each host once: {', '.join(map(repr, twice))} twice")
    if len(listed) > 1 and (bad := [n for n in names if not HOST_NAME.fullmatch(n)]):
        raise ValueError("must have names of 1-32 letters, digits, '.', '_' or '-' (each "
                         f"names its host's directory): {', '.join(map(repr, bad))}")
    return listed


def machine_hosts(
    run_dir: Path,
    hosts: int | Sequence[HostShare],
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
    binary: str,
    die_with_parent: bool,
) -> list[QemuHost]:
    """The hosts of this machine, each with its run directory (made here). The machine's
    sizes are ``vcpus``, ``memory_mb`` (less ``reserved_host_memory_mb``) and ``local_gb``,
    each measured when 0 (CPUs, memory, the file system of ``run_dir``); a host's size
    that is not configured is an equal part of the machine's."""
    try:
        listed = shares(hosts, host_name)
    except ValueError as err:
        raise ValueError(f"QEMU hosts {err}") from None
    count = len(listed)
    machine_vcpus = vcpus or os.cpu_count() or 1
    machine_memory = max(0, (memory_mb or meminfo_mb()) - reserved_host_memory_mb)
    machine_disk = local_gb or shutil.disk_usage(run_dir).total // 2**30
    found = []
    for share in listed:
        info = HostInfo(
            name=share.name, availability_zone=availability_zone, hypervisor_type="QEMU",
            vcpus=share.vcpus or max(1, machine_vcpus // count),
            memory_mb=share.memory_mb or machine_memory // count,
            local_gb=share.local_gb or max(1, int(machine_disk) // count),
            cpu_allocation_ratio=cpu_allocation_ratio,
            ram_allocation_ratio=ram_allocation_ratio,
            disk_allocation_ratio=disk_allocation_ratio)
        directory = run_dir if count == 1 else run_dir / share.name
        directory.mkdir(parents=True, exist_ok=True)
        manager = ProcessManager(directory, binary=binary, die_with_parent=die_with_parent)
        try:  # a run directory too long for a socket path fails now, not at a spawn
            manager.paths(LONGEST_INSTANCE_NAME)
        except ProcessError as err:
            raise ValueError(f"QEMU host {share.name}: {err}") from err
        found.append(QemuHost(info, manager))
    return found


#: An instance directory's name is its uuid.
LONGEST_INSTANCE_NAME = "00000000-0000-0000-0000-000000000000"
