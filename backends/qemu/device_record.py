"""What is plugged into a QEMU guest besides its root disk and boot-time NIC, as recorded
in its instance directory (``devices.json``), and the QMP arguments and command line that
plug it in (the verbs are in ``hotplug``); also the addresses of its ports, forwarded to
the guest (``reach``), and its config drive (``config_drive``), on the same command line.

Each volume or port is on a ``pcie-root-port`` of its own (``rpN``), kept in the record,
so that every QEMU the guest gets (power on, resume, a cold migration that copies the
directory, a live migration's destination) has the same devices at the same PCI addresses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from backends.base import BackendError, InstanceSpec, VifSpec
from backends.qemu import reach
from backends.qemu.config_drive import CONFIG_DRIVE, drive_args
from backends.qemu.process import MachineConfig
from backends.qemu.reach import BOOT_NETDEV, port_addresses, rule

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


#: The record's parts: plugged volumes and NICs, and every port's addresses (``reach``).
RECORD_KINDS = ("volumes", "vifs", "addresses")


def read_record(root: Path) -> dict[str, Any]:
    """``{"volumes": {id: {..., "port": "rpN"}}, "vifs": {...}, "addresses": {port id:
    {"fixed_ips": [...], "floating_ips": [...], ...}}}`` of the instance in ``root``
    (empty when nothing is plugged or forwarded)."""
    return read_record_file(root / DEVICES_RECORD)


def write_record(root: Path, record: dict[str, Any]) -> None:
    write_record_file(root / DEVICES_RECORD, record)


def read_record_file(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {kind: {} for kind in RECORD_KINDS}
    return {kind: dict(record.get(kind, {})) for kind in RECORD_KINDS}


def write_record_file(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` to ``path`` (atomically); an empty one removes the file."""
    if not any(record.get(kind) for kind in RECORD_KINDS):
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
    return any(record[kind] for kind in RECORD_KINDS)


def blockdev(volume: dict[str, Any]) -> dict[str, Any]:
    node, _ = volume_ids(volume["volume_id"])
    read_only = bool(volume.get("read_only"))
    return {"driver": "qcow2", "node-name": node, "read-only": read_only,
            "file": {"driver": "file", "filename": volume["path"], "read-only": read_only}}


def disk_device(volume: dict[str, Any]) -> dict[str, Any]:
    node, dev = volume_ids(volume["volume_id"])
    return {"driver": "virtio-blk-pci", "id": dev, "drive": node, "bus": volume["port"],
            "serial": volume["volume_id"][:SERIAL_LENGTH]}


def netdev(vif: dict[str, Any], forward: bool = True) -> dict[str, Any]:
    """A user-mode network of the NIC's own: 10.0.<2 + N>.0/24 on port rpN (the boot-time
    NIC has QEMU's default 10.0.2.0/24; two NICs on one subnet would confuse the guest),
    forwarding the port's reachable addresses when ``forward``."""
    netdev, _ = vif_ids(vif["port_id"])
    backend: dict[str, Any] = {"type": "user", "id": netdev, "restrict": True,
                               "net": f"10.0.{2 + int(vif['port'].removeprefix('rp'))}.0/24"}
    rules = [rule(a) for a in reach.usable(port_addresses(vif))] if forward else []
    if rules:
        backend["hostfwd"] = [{"str": r} for r in rules]
    return backend


def forwards(record: dict[str, Any]) -> dict[str, list[str]]:
    """Netdev id -> the addresses forwarded on it: each port's reachable addresses, on its
    own NIC's netdev when it was hot-plugged, else on the boot NIC's (``reach``)."""
    found: dict[str, set[str]] = {}
    for port_id, port in record["addresses"].items():
        netdev_ = vif_ids(port_id)[0] if port_id in record["vifs"] else BOOT_NETDEV
        found.setdefault(netdev_, set()).update(port_addresses(port))
    return {netdev_: sorted(addresses) for netdev_, addresses in found.items() if addresses}


def nic_device(vif: dict[str, Any]) -> dict[str, Any]:
    netdev, dev = vif_ids(vif["port_id"])
    return {"driver": "virtio-net-pci", "id": dev, "netdev": netdev, "bus": vif["port"],
            "romfile": "", "mac": vif["mac"]}


def device_args(root: Path, forward: bool = True) -> tuple[str, ...]:
    """The command line that starts a QEMU with the devices recorded in ``root`` (JSON
    options: a path may hold commas) and its config drive; the hot-plugged NICs forward
    their ports' addresses when ``forward`` (the boot NIC's: ``boot_forwards``)."""
    record = read_record(root)
    args: list[str] = []
    for volume in record["volumes"].values():
        args += ["-blockdev", json.dumps(blockdev(volume)),
                 "-device", json.dumps(disk_device(volume))]
    for vif in record["vifs"].values():
        netdev_ = netdev({**vif, **record["addresses"].get(vif["port_id"], {})}, forward)
        rules = "".join(f",hostfwd={r['str']}" for r in netdev_.get("hostfwd", ()))
        args += ["-netdev", f"user,id={netdev_['id']},restrict=on,net={netdev_['net']}{rules}",
                 "-device", json.dumps(nic_device(vif))]
    if (root / CONFIG_DRIVE).exists():
        args += drive_args(root / CONFIG_DRIVE)
    return tuple(args)


def boot_forwards(root: Path) -> tuple[str, ...]:
    """The ``hostfwd`` rules of the boot NIC (``MachineConfig.forwards``): those that can
    bind now (one that cannot would keep QEMU from starting)."""
    return tuple(rule(a) for a in reach.usable(forwards(read_record(root)).get(BOOT_NETDEV, ())))


def free_port(record: dict[str, Any], config: MachineConfig) -> str:
    taken = {d["port"] for kind in ("volumes", "vifs") for d in record[kind].values()}
    for number in range(1, config.hotplug_ports + 1):
        if f"rp{number}" not in taken:
            return f"rp{number}"
    raise NoFreePort(f"Instance {config.name} has no free hot-plug port (it has "
                     f"{config.hotplug_ports}).")


def boot_ports(record: Mapping[str, Any]) -> tuple[VifSpec, ...]:
    """The ports the instance booted with, in order (those of ``addresses`` not plugged
    as NICs of their own)."""
    return tuple(VifSpec(port_id=p["port_id"], mac=p["mac"],
                         fixed_ips=tuple(p.get("fixed_ips", ())), network=p.get("network", ""),
                         floating_ips=tuple(p.get("floating_ips", ())))
                 for port_id, p in record.get("addresses", {}).items()
                 if port_id not in record.get("vifs", {}))


def with_ports(spec: InstanceSpec, ports: Sequence[VifSpec]) -> InstanceSpec:
    """``spec`` with ``ports`` where the verb did not repeat the instance's ports (only a
    build gives them): its boot NIC keeps its port's MAC through every start."""
    return spec if spec.vifs or not ports else replace(spec, vifs=tuple(ports))
