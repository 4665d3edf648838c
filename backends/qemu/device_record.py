"""What is plugged into a QEMU guest besides its root disk and boot-time NIC, as recorded
in its instance directory (``devices.json``), and the QMP arguments and command line that
plug it in (the verbs are in ``hotplug``).

Each volume or port is on a ``pcie-root-port`` of its own (``rpN``), kept in the record,
so that every QEMU the guest gets (power on, resume, a cold migration that copies the
directory, a live migration's destination) has the same devices at the same PCI addresses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from backends.base import BackendError
from backends.qemu.process import MachineConfig

DEVICES_RECORD = "devices.json"
#: virtio-blk's serial holds 20 bytes (NOTE: Nova's libvirt driver truncates to 20 too).
SERIAL_LENGTH = 20


class NoFreePort(BackendError):
    """Every hot-plug port of the guest's machine is taken."""


def _short(kind: str, ident: str) -> str:
    """A QEMU id (node names <= 31 characters, a letter first): ``kind`` + the id's
    alphanumerics, cut to fit."""
    return f"{kind}{re.sub('[^0-9A-Za-z]', '', ident)}"[:31]


def volume_ids(volume_id: str) -> tuple[str, str]:
    """(block node name, device id) of a volume."""
    return _short("vol", volume_id), _short("vd", volume_id)


def vif_ids(port_id: str) -> tuple[str, str]:
    """(netdev id, device id) of a port."""
    return _short("nd", port_id), _short("nic", port_id)


def read_record(root: Path) -> dict[str, Any]:
    """``{"volumes": {id: {..., "port": "rpN"}}, "vifs": {...}}`` of the instance in
    ``root`` (empty when nothing is plugged)."""
    return read_record_file(root / DEVICES_RECORD)


def write_record(root: Path, record: dict[str, Any]) -> None:
    write_record_file(root / DEVICES_RECORD, record)


def read_record_file(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"volumes": {}, "vifs": {}}
    return {"volumes": dict(record.get("volumes", {})), "vifs": dict(record.get("vifs", {}))}


def write_record_file(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` to ``path`` (atomically); an empty one removes the file."""
    if not record["volumes"] and not record["vifs"]:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    tmp.replace(path)


def shelved_record(disk: Path) -> Path:
    """Where an offloaded instance's devices wait for its unshelve (beside its disk)."""
    return disk.with_suffix(".devices.json")


def plugged(root: Path) -> bool:
    record = read_record(root)
    return bool(record["volumes"] or record["vifs"])


def blockdev(volume: dict[str, Any]) -> dict[str, Any]:
    node, _ = volume_ids(volume["volume_id"])
    read_only = bool(volume.get("read_only"))
    return {"driver": "qcow2", "node-name": node, "read-only": read_only,
            "file": {"driver": "file", "filename": volume["path"], "read-only": read_only}}


def disk_device(volume: dict[str, Any]) -> dict[str, Any]:
    node, dev = volume_ids(volume["volume_id"])
    return {"driver": "virtio-blk-pci", "id": dev, "drive": node, "bus": volume["port"],
            "serial": volume["volume_id"][:SERIAL_LENGTH]}


def netdev(vif: dict[str, Any]) -> dict[str, Any]:
    """A user-mode network of the NIC's own: 10.0.<2 + N>.0/24 on port rpN (the boot-time
    NIC has QEMU's default 10.0.2.0/24; two NICs on one subnet would confuse the guest)."""
    netdev, _ = vif_ids(vif["port_id"])
    return {"type": "user", "id": netdev, "restrict": True,
            "net": f"10.0.{2 + int(vif['port'].removeprefix('rp'))}.0/24"}


def nic_device(vif: dict[str, Any]) -> dict[str, Any]:
    netdev, dev = vif_ids(vif["port_id"])
    return {"driver": "virtio-net-pci", "id": dev, "netdev": netdev, "bus": vif["port"],
            "romfile": "", "mac": vif["mac"]}


def device_args(root: Path) -> tuple[str, ...]:
    """The command line that starts a QEMU with the devices recorded in ``root`` (JSON
    options: a path may hold commas)."""
    record = read_record(root)
    args: list[str] = []
    for volume in record["volumes"].values():
        args += ["-blockdev", json.dumps(blockdev(volume)),
                 "-device", json.dumps(disk_device(volume))]
    for vif in record["vifs"].values():
        netdev_ = netdev(vif)
        args += ["-netdev", f"user,id={netdev_['id']},restrict=on,net={netdev_['net']}",
                 "-device", json.dumps(nic_device(vif))]
    return tuple(args)


def free_port(record: dict[str, Any], config: MachineConfig) -> str:
    taken = {d["port"] for kind in ("volumes", "vifs") for d in record[kind].values()}
    for number in range(1, config.hotplug_ports + 1):
        if f"rp{number}" not in taken:
            return f"rp{number}"
    raise NoFreePort(f"Instance {config.name} has no free hot-plug port (it has "
                     f"{config.hotplug_ports}).")
