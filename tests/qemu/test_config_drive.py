"""The config drive (read back with pycdlib, as a guest's isofs would see it: Rock Ridge
names, label ``config-2``) and the forwarded addresses' command line (no QEMU runs)."""

from __future__ import annotations

import io
import json
import socket
from dataclasses import asdict
from pathlib import Path

import pycdlib
import pytest

from backends.base import InstanceSpec, VifSpec
from backends.qemu import reach
from backends.qemu.boot import mac
from backends.qemu.config_drive import CONFIG_DRIVE, write_config_drive
from backends.qemu.device_record import (
    boot_forwards,
    boot_ports,
    device_args,
    forwards,
    read_record,
    vif_ids,
    with_ports,
    write_record,
)
from backends.qemu.process import InstancePaths, MachineConfig, build_argv
from backends.qemu.reach import reachable

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample test@example\n"
PORT = VifSpec("9b1f6a1e-0c2d-4e3f-8a9b-0c1d2e3f4a5b", "fa:16:3e:00:00:01", ("10.0.0.5",),
               "private-net-id", ("127.24.4.9",))


def spec(**changes: object) -> InstanceSpec:
    fields: dict[str, object] = {
        "uuid": "6f1c2d3e-4a5b-4c6d-8e7f-001122334455", "name": "Web Server 1",
        "hostname": "web-server-1", "host": "compute-1", "project_id": "proj-1", "vcpus": 2,
        "memory_mb": 128, "root_gb": 1, "key_data": KEY, "key_name": "mykey",
        "metadata": {"role": "web"},
        "user_data": b"#!/bin/sh\necho hi\n", "config_drive": True, "vifs": (PORT,)}
    fields.update(changes)
    return InstanceSpec(**fields)  # type: ignore[arg-type]


def read_back(path: Path) -> tuple[str, dict[str, bytes]]:
    """(volume label, Rock Ridge path -> content) of an ISO image."""
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        label = iso.pvd.volume_identifier.decode().strip()
        files: dict[str, bytes] = {}
        for root, _dirs, names in iso.walk(rr_path="/"):
            for name in names:
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=f"{root.rstrip('/')}/{name}")
                files[f"{root.rstrip('/')}/{name}".lstrip("/")] = out.getvalue()
        return label, files
    finally:
        iso.close()


def test_the_drive_holds_novas_metadata(tmp_path: Path) -> None:
    drive = tmp_path / CONFIG_DRIVE
    write_config_drive(spec(), drive, "zone-a")
    label, files = read_back(drive)
    assert label == "config-2"
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert meta["uuid"] == "6f1c2d3e-4a5b-4c6d-8e7f-001122334455"
    assert meta["name"] == "Web Server 1"
    assert meta["hostname"] == "web-server-1.novalocal"
    assert meta["public_keys"] == {"mykey": KEY}  # by the key pair's name, as Nova's
    assert [(k["name"], k["type"], k["data"]) for k in meta["keys"]] == [("mykey", "ssh", KEY)]
    assert (meta["launch_index"], meta["availability_zone"], meta["project_id"]) == (
        0, "zone-a", "proj-1")
    assert meta["meta"] == {"role": "web"}
    assert files["openstack/latest/user_data"] == b"#!/bin/sh\necho hi\n"
    network = json.loads(files["openstack/latest/network_data.json"])
    assert [link["ethernet_mac_address"] for link in network["links"]] == [PORT.mac]
    assert [n["type"] for n in network["networks"]] == ["ipv4_dhcp"]
    ec2 = json.loads(files["ec2/latest/meta-data.json"])
    assert ec2["public-keys"]["0"]["openssh-key"] == KEY
    assert json.loads(files["openstack/latest/vendor_data.json"]) == {}


def test_no_user_data_no_file_and_no_key_no_keys(tmp_path: Path) -> None:
    drive = tmp_path / CONFIG_DRIVE
    write_config_drive(spec(user_data=None, key_data=None), drive, "nova")
    _, files = read_back(drive)
    assert "openstack/latest/user_data" not in files
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert (meta["public_keys"], meta["keys"]) == ({}, [])


def test_only_loopback_addresses_are_forwarded() -> None:
    assert reachable(["10.0.0.5", "172.24.4.3", "127.24.4.9", "fd00::1", "bogus",
                      "127.0.0.0", "127.255.255.255", "127.24.4.9"]) == ["127.24.4.9"]


def test_the_record_forwards_each_port_on_its_netdev(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A port the instance booted with forwards on the boot NIC (n0), a hot-plugged one on
    its own netdev; the config drive is a read-only SCSI CD-ROM."""
    monkeypatch.setattr(reach, "bindable", lambda _address, _port: True)  # port 22 needs root
    plugged = VifSpec("port-2", "fa:16:3e:00:00:02", ("127.30.0.4",), "net2")
    write_record(tmp_path, {
        "volumes": {}, "vifs": {"port-2": {**asdict(plugged), "port": "rp1"}},
        "addresses": {PORT.port_id: asdict(PORT), "port-2": asdict(plugged)}})
    (tmp_path / CONFIG_DRIVE).write_bytes(b"")
    record = read_record(tmp_path)
    assert forwards(record) == {"n0": ["127.24.4.9"], vif_ids("port-2")[0]: ["127.30.0.4"]}
    assert boot_forwards(tmp_path) == ("tcp:127.24.4.9:22-:22",)
    args = device_args(tmp_path)
    netdev = next(a for a in args if a.startswith("user,id=nd"))
    assert netdev.endswith(",hostfwd=tcp:127.30.0.4:22-:22")
    assert "hostfwd" not in "".join(device_args(tmp_path, forward=False))
    drive = [json.loads(a) for a in args if a.startswith("{") and "read-only" in a]
    assert {d["driver"] for d in drive} == {"file", "raw"}
    assert all(d["read-only"] for d in drive)
    assert any('"scsi-cd"' in a for a in args)
    argv = build_argv(MachineConfig("vm", forwards=boot_forwards(tmp_path)),
                      InstancePaths(tmp_path))
    assert "user,id=n0,restrict=on,hostfwd=tcp:127.24.4.9:22-:22" in argv


def test_the_boot_nic_keeps_its_ports_mac_through_verbs_that_do_not_repeat_it(
        tmp_path: Path) -> None:
    """As Nova's libvirt driver sets the interface's MAC to its port's: the build's spec
    has the ports, a later verb's does not; the record keeps them (hot-plugged NICs
    aside)."""
    plugged = VifSpec("port-2", "fa:16:3e:00:00:02", ("127.30.0.4",), "net2")
    write_record(tmp_path, {
        "volumes": {}, "vifs": {"port-2": {**asdict(plugged), "port": "rp1"}},
        "addresses": {PORT.port_id: asdict(PORT), "port-2": asdict(plugged)}})
    assert boot_ports(read_record(tmp_path)) == (PORT,)
    bare = spec(vifs=())
    assert mac(spec()) == "fa:16:3e:00:00:01"
    assert mac(with_ports(bare, boot_ports(read_record(tmp_path)))) == "fa:16:3e:00:00:01"
    assert mac(bare).startswith("52:54:00:")  # no port known: derived from the uuid
    assert with_ports(spec(), (plugged,)).vifs == (PORT,)  # the verb's own ports win


def test_an_address_another_process_holds_is_left_out(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """QEMU would refuse to start with a forward it cannot bind: such an address is left
    out (the guest runs, unreachable there) and the others are forwarded."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.61.0.3", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setattr(reach, "SSH_PORT", port)
        held = VifSpec("port-3", "fa:16:3e:00:00:03", ("127.61.0.3", "127.61.0.4"), "net")
        write_record(tmp_path, {"volumes": {}, "vifs": {},
                                "addresses": {"port-3": asdict(held)}})
        assert boot_forwards(tmp_path) == (f"tcp:127.61.0.4:{port}-:{port}",)


def test_a_former_qemus_lingering_connections_do_not_keep_an_address_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rebuild or a reboot starts a new QEMU on the addresses its predecessor listened
    on; connections it closed linger in TIME_WAIT, and (as QEMU binds with SO_REUSEADDR)
    the address is still forwarded."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.61.0.7", 0))
        listener.listen()
        port = listener.getsockname()[1]
        monkeypatch.setattr(reach, "SSH_PORT", port)
        client = socket.create_connection(("127.61.0.7", port))
        served, _ = listener.accept()
        served.close()  # the server's side closes first: its end lingers in TIME_WAIT
        client.recv(1)
        client.close()
    assert reach.bindable("127.61.0.7", port)
