"""The config drive: an ISO 9660 image labelled ``config-2`` holding the instance's
metadata as Nova's ``ConfigDriveBuilder`` lays it out, attached read-only as a CD-ROM.

Built when the instance spawns if its ``config_drive`` is true or the backend forces one
(``[qemu] force_config_drive``, Nova's ``force_config_drive``), into ``disk.config`` in the
instance directory (as Nova's libvirt driver names it), and kept there: every start of
its QEMU has it (``device_record.device_args``), a cold migration copies it with the
directory, a live migration's destination reads it and keeps a copy, a rebuild writes it
again. The free guest mounts it at boot, takes its hostname and installs its public keys
(``guest.files``); any cloud image reading ``config-2`` (CirrOS, cloud-init) does too.

Files (``openstack/latest/``): ``meta_data.json`` (``uuid``, ``name``, ``hostname``,
``public_keys``, ``keys``, ``launch_index``, ``availability_zone``, ``project_id``,
``meta``, ``devices``), ``network_data.json`` (a link per port, DHCP on each of its fixed
addresses), ``vendor_data.json`` and ``vendor_data2.json`` (empty), ``user_data`` when
the server has user data; ``ec2/latest/meta-data.json`` (the EC2 view, as Nova writes it).

The image is written with ``pycdlib`` (pure Python, no host tool): ISO 9660 level 1 names
plus Rock Ridge (what Linux shows: ``meta_data.json``) and Joliet, as Nova's
``genisoimage -J -r -V config-2`` makes.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pycdlib

from backends.base import InstanceSpec

CONFIG_DRIVE = "disk.config"
LABEL = "config-2"
#: Nova's ``[api] dhcp_domain`` default: the metadata's hostname is ``<hostname>.novalocal``.
DHCP_DOMAIN = "novalocal"
#: The key's name in ``public_keys`` where the spec has none.
KEY_NAME = "default"
#: The QEMU devices of the drive: a SCSI CD-ROM (the free guest's cloud kernel has no
#: AHCI driver; virtio-scsi and sr_mod it has).
_SCSI, _NODE = "cfgscsi", "cfgdrive"
#: The CD-ROM's device id (``query-blockstats`` names it: ``diagnostics``).
CONFIG_DRIVE_DEVICE = f"{_NODE}-cd"


def metadata(spec: InstanceSpec, availability_zone: str) -> dict[str, Any]:
    """``openstack/latest/meta_data.json`` of ``spec`` (Nova's ``InstanceMetadata``)."""
    keys = [] if not spec.key_data else [
        {"name": spec.key_name or KEY_NAME, "type": "ssh", "data": spec.key_data}]
    return {
        "uuid": spec.uuid,
        "meta": dict(spec.metadata),
        "public_keys": {k["name"]: k["data"] for k in keys},
        "keys": keys,
        "hostname": f"{spec.hostname}.{DHCP_DOMAIN}",
        "name": spec.name,
        "launch_index": 0,
        "availability_zone": availability_zone,
        "project_id": spec.project_id,
        "devices": [],
    }


def network_data(spec: InstanceSpec) -> dict[str, Any]:
    """``openstack/latest/network_data.json``: a link per port, DHCP on each address."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    for vif in spec.vifs:
        link = f"tap{vif.port_id[:11]}"
        links.append({"id": link, "vif_id": vif.port_id, "type": "ovs", "mtu": 1500,
                      "ethernet_mac_address": vif.mac})
        for address in vif.fixed_ips:
            version = 6 if ":" in address else 4
            networks.append({"id": f"network{len(networks)}", "link": link,
                             "type": f"ipv{version}_dhcp", "network_id": vif.network})
    return {"links": links, "networks": networks, "services": []}


def ec2_metadata(spec: InstanceSpec, availability_zone: str) -> dict[str, Any]:
    """``ec2/latest/meta-data.json`` (the parts Nova's EC2 view has that we know)."""
    return {
        "ami-id": spec.image_id or "", "instance-id": spec.uuid,
        "hostname": f"{spec.hostname}.{DHCP_DOMAIN}",
        "local-hostname": f"{spec.hostname}.{DHCP_DOMAIN}",
        "placement": {"availability-zone": availability_zone},
        "public-keys": {} if not spec.key_data else {
            "0": {"openssh-key": spec.key_data}},
        "reservation-id": "", "security-groups": [],
    }


def drive_files(spec: InstanceSpec, availability_zone: str) -> dict[str, bytes]:
    """Path on the drive -> content."""
    def dump(value: Mapping[str, Any]) -> bytes:
        return json.dumps(value).encode()

    files = {
        "ec2/latest/meta-data.json": dump(ec2_metadata(spec, availability_zone)),
        "openstack/latest/meta_data.json": dump(metadata(spec, availability_zone)),
        "openstack/latest/network_data.json": dump(network_data(spec)),
        "openstack/latest/vendor_data.json": b"{}",
        "openstack/latest/vendor_data2.json": b"{}",
    }
    if spec.user_data is not None:
        files["openstack/latest/user_data"] = spec.user_data
    return files


def drive_args(path: Path) -> list[str]:
    """The command line that attaches the drive at ``path``: read-only, a CD-ROM on a
    virtio-scsi controller of its own (JSON options: a path may hold commas)."""
    return ["-blockdev", json.dumps({"driver": "file", "filename": str(path),
                                     "node-name": f"{_NODE}-file", "read-only": True}),
            "-blockdev", json.dumps({"driver": "raw", "file": f"{_NODE}-file",
                                     "node-name": _NODE, "read-only": True}),
            "-device", f"virtio-scsi-pci,id={_SCSI},bus=pcie.0",
            "-device", json.dumps({"driver": "scsi-cd", "id": CONFIG_DRIVE_DEVICE, "drive": _NODE,
                                   "bus": f"{_SCSI}.0"})]


def write_config_drive(spec: InstanceSpec, target: Path, availability_zone: str) -> None:
    """Write the config drive of ``spec`` to ``target`` (atomically)."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, vol_ident=LABEL, joliet=3, rock_ridge="1.09")
    names = _Names()
    made: set[str] = set()
    for path, content in sorted(drive_files(spec, availability_zone).items()):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            if directory not in made:
                iso.add_directory(names.directory(directory), rr_name=parts[depth - 1],
                                  joliet_path="/" + directory)
                made.add(directory)
        iso.add_fp(io.BytesIO(content), len(content), names.file(path), rr_name=parts[-1],
                   joliet_path="/" + path)
    tmp = target.with_suffix(".tmp")
    try:
        iso.write(str(tmp))
    finally:
        iso.close()
    tmp.replace(target)


class _Names:
    """ISO 9660 level 1 names (8.3, upper case), unique per directory; ``file`` adds the
    version (``;1``)."""

    def __init__(self) -> None:
        self._given: dict[str, str] = {"": ""}

    def directory(self, path: str) -> str:
        if path not in self._given:
            parent, _, name = path.rpartition("/")
            prefix = self.directory(parent)
            taken = {v for k, v in self._given.items() if k.rpartition("/")[0] == parent}
            stem, dot, ext = name.partition(".")
            suffix = "." + _clean(ext, 3) if dot else ""
            candidate = f"{prefix}/{_clean(stem, 8)}{suffix}"
            number = 0
            while candidate in taken:
                number += 1
                candidate = f"{prefix}/{_clean(stem, 8 - len(str(number)))}{number}{suffix}"
            self._given[path] = candidate
        return self._given[path]

    def file(self, path: str) -> str:
        return self.directory(path) + ";1"


def _clean(text: str, length: int) -> str:
    return re.sub("[^A-Z0-9_]", "_", text.upper())[:length]
