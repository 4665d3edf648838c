"""A simulated guest's diagnostics: counters that grow with its uptime, in the shape of
Nova's libvirt driver (as ``backends.qemu.diagnostics`` reads them from a real QEMU)."""

from __future__ import annotations

import hashlib
import time

from backends.base import Diagnostics, InstanceSpec, PowerState


def diagnostics(instance: InstanceSpec, power_state: PowerState, booted_at: float) -> Diagnostics:
    """Counters that grow with uptime, in the shape of Nova's libvirt driver (the API's
    2.48 ``driver`` enum has no ``fake``)."""
    running = power_state == PowerState.RUNNING
    uptime = int(time.time() - booted_at) if running else 0
    seed = int(hashlib.sha256(instance.uuid.encode()).hexdigest()[:8], 16) % 1000
    cpus = tuple({"id": i, "time": (uptime + 17) * 1_000_000_000 + seed * 1000 + i,
                  "utilisation": (seed + i * 7) % 40} for i in range(instance.vcpus))
    nics = tuple({"mac_address": mac, "rx_octets": 2070139 + uptime * 700,
                  "rx_errors": 0, "rx_drop": 0, "rx_packets": 26701 + uptime * 9,
                  "rx_rate": None, "tx_octets": 140208 + uptime * 120, "tx_errors": 0,
                  "tx_drop": 0, "tx_packets": 662 + uptime, "tx_rate": None}
                 for _net, _address, mac in instance.addresses)
    disks = ({"read_bytes": 262144 + seed * 512, "read_requests": 112 + seed,
              "write_bytes": 5778432 + uptime * 4096, "write_requests": 488 + uptime,
              "errors_count": 0},)
    legacy: dict[str, int] = {f"cpu{c['id']}_time": int(c["time"] or 0) for c in cpus}
    legacy["memory"] = instance.memory_mb * 1024
    legacy.update({"vda_errors": -1, "vda_read": int(disks[0]["read_bytes"] or 0),
                   "vda_read_req": int(disks[0]["read_requests"] or 0),
                   "vda_write": int(disks[0]["write_bytes"] or 0),
                   "vda_write_req": int(disks[0]["write_requests"] or 0)})
    for index, nic in enumerate(nics):
        for key, value in nic.items():
            if key.startswith(("rx", "tx")) and isinstance(value, int):
                name = key.replace("_octets", "")
                legacy[f"tap{index}_{name}"] = value
    return Diagnostics(
        state=power_state.nova_name, driver="libvirt", hypervisor="kvm",
        hypervisor_os="linux", uptime=uptime, config_drive=instance.config_drive,
        cpu_details=cpus, nic_details=nics, disk_details=disks,
        memory_maximum=instance.memory_mb,
        memory_used=instance.memory_mb // 4 if running else 0, legacy=legacy)
