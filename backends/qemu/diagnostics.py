"""An instance's diagnostics in the shape of Nova's libvirt driver, read from QEMU and /proc.

CPU time per vCPU comes from the vCPU threads QMP names (``query-cpus-fast``) and their
/proc stat; disk counters from ``query-blockstats``; uptime from the process's start time
(a guest live-migrated to it: its first QEMU's, recorded in ``guest-since.json``); memory
used is the process's RSS. NOTE: user-mode networking keeps no counters QMP can read
(libvirt reads tap devices): the NIC is listed with its MAC only.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from backends.base import Diagnostics, PowerState
from backends.processes import cpu_ticks, stat_fields
from backends.qemu.config_drive import CONFIG_DRIVE_DEVICE
from backends.qemu.process import MachineConfig, QemuProcess

#: In the instance directory of a QEMU that took a running guest over (a live migration):
#: ``{"pid": its pid, "since": when the guest's first QEMU started}``.
SINCE_RECORD = "guest-since.json"
#: The NIC counters Nova's API shows, none known here.
_NIC_COUNTERS = ("rx_octets", "rx_errors", "rx_drop", "rx_packets", "rx_rate", "tx_octets",
                 "tx_errors", "tx_drop", "tx_packets", "tx_rate")
#: query-blockstats counter -> (2.48 ``disk_details`` key, legacy key suffix).
_DISK_COUNTERS = {"rd_bytes": ("read_bytes", "read"),
                  "rd_operations": ("read_requests", "read_req"),
                  "wr_bytes": ("write_bytes", "write"),
                  "wr_operations": ("write_requests", "write_req")}


async def diagnostics(process: QemuProcess | None, power: PowerState, config: MachineConfig,
                      config_drive: bool) -> Diagnostics:
    """The diagnostics of the instance ``config`` describes, ``process`` its running QEMU
    (None: none runs, and only what the flavor says is known)."""
    memory = config.memory_mb
    nic: Mapping[str, int | str | None] = {"mac_address": config.mac,
                                           **dict.fromkeys(_NIC_COUNTERS)}
    legacy: dict[str, int] = {"memory": memory * 1024}
    known = Diagnostics(state=power.nova_name, driver="libvirt", hypervisor="qemu",
                        hypervisor_os="linux", uptime=None, config_drive=config_drive,
                        nic_details=(nic,), memory_maximum=memory, legacy=legacy)
    if process is None:
        return known
    cpus = await process.monitor.execute("query-cpus-fast")
    blocks = await process.monitor.execute("query-blockstats")
    cpu_details = tuple(
        {"id": int(cpu.get("cpu-index", i)),
         "time": _thread_cpu_ns(process.pid, cpu.get("thread-id")), "utilisation": None}
        for i, cpu in enumerate(cpus if isinstance(cpus, list) else []))
    disk_details: list[dict[str, int | None]] = []
    for device in blocks if isinstance(blocks, list) else []:
        stats = device.get("stats", {})
        name = str(device.get("qdev") or device.get("node-name") or "disk")
        # NOTE: as libvirt lists every disk, the config drive (a SCSI CD-ROM: sda) too
        short = "vda" if "rootdisk" in name else "sda" if CONFIG_DRIVE_DEVICE in name \
            else "vdb"
        detail: dict[str, int | None] = {key: stats.get(counter)
                                         for counter, (key, _) in _DISK_COUNTERS.items()}
        detail["errors_count"] = (stats.get("failed_rd_operations", 0)
                                  + stats.get("failed_wr_operations", 0))
        disk_details.append(detail)
        for counter, (_, suffix) in _DISK_COUNTERS.items():
            legacy[f"{short}_{suffix}"] = int(stats.get(counter, 0))
    for cpu in cpu_details:
        legacy[f"cpu{cpu['id']}_time"] = int(cpu["time"] or 0)
    since = guest_since(process)
    uptime = None if since is None else max(0, int(time.time() - since))
    return replace(known, uptime=uptime, cpu_details=cpu_details,
                   disk_details=tuple(disk_details),
                   memory_used=_process_rss_mb(process.pid))


def _thread_cpu_ns(pid: int, thread: object) -> int | None:
    """CPU time (user + system) of one vCPU thread of QEMU, in nanoseconds."""
    if not isinstance(thread, int):
        return None
    ticks = cpu_ticks(f"/proc/{pid}/task/{thread}/stat")
    return None if ticks is None else ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def guest_since(process: QemuProcess) -> float | None:
    """When the guest of ``process`` started (seconds since the epoch): when its QEMU did,
    or, a guest live-migrated to it, when its first QEMU did."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        record = json.loads((process.paths.root / SINCE_RECORD).read_text())
        if record["pid"] == process.pid:
            return float(record["since"])
    fields = stat_fields(f"/proc/{process.pid}/stat")
    if len(fields) < 20:
        return None
    with contextlib.suppress(OSError, ValueError):
        booted = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (booted - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    return None


def carry_since(source: QemuProcess, target: QemuProcess) -> None:
    """``target`` took over the running guest of ``source`` (still there): its uptime
    goes on from the source's."""
    since = guest_since(source)
    if since is not None:
        (target.paths.root / SINCE_RECORD).write_text(
            json.dumps({"pid": target.pid, "since": since}) + "\n")


def _process_rss_mb(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return None
