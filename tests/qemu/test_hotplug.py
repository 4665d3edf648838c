"""Volumes and interfaces on real QEMU guests (TCG): hot-plugged into a running guest (QMP
``query-block``/``query-pci`` show them, the guest's console says it saw them), plugged
into a stopped guest's next boot, unplugged (the guest releases them), and the errors of
the contract."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from backends.base import (
    DeviceBusy,
    DeviceDetachFailed,
    DeviceNotFound,
    InstanceSpec,
    PowerState,
    VifSpec,
    VolumeSpec,
)
from backends.qemu.backend import QemuBackend
from backends.qemu.device_record import DEVICES_RECORD, device_args, volume_ids, write_record
from backends.qemu.guest import GuestImage, build_guest, default_cache_dir
from backends.qemu.machines import InvalidPowerState
from backends.qemu.process import QemuProcess
from tests.qemu.test_backend import backend, console_count, run, spec
from tests.qemu.test_live_migration import H1, H2, Progress, on_two_hosts

VOLUME_ID = "5f0e9a3c-2b6d-4c1e-9a7f-0123456789ab"


@pytest.fixture(scope="module")
def guest() -> GuestImage:
    return build_guest(default_cache_dir())


async def make_volume(path: Path, size: str) -> None:
    proc = await asyncio.create_subprocess_exec("qemu-img", "create", "-q", "-f", "qcow2",
                                                str(path), size)
    assert await proc.wait() == 0


def process_of(qemu: QemuBackend, uuid: str) -> QemuProcess:
    process = qemu.instances[uuid].process
    assert process is not None
    return process


async def block_nodes(process: QemuProcess) -> set[str]:
    """Node names of the block devices a guest device uses (``query-block``)."""
    blocks = await process.monitor.execute("query-block")
    assert isinstance(blocks, list)
    return {str(b["inserted"]["node-name"]) for b in blocks if "inserted" in b}


def _pci_ids(devices: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for device in devices:
        if device.get("qdev_id"):
            found.add(str(device["qdev_id"]))
        found |= _pci_ids(device.get("pci_bridge", {}).get("devices", []))
    return found


async def pci_ids(process: QemuProcess) -> set[str]:
    """The ids of every PCI device (behind the root ports too), ``query-pci``."""
    buses = await process.monitor.execute("query-pci")
    assert isinstance(buses, list)
    return {i for bus in buses for i in _pci_ids(bus["devices"])}


def test_ids_are_short_enough_and_the_serial_is_novas() -> None:
    node, dev = volume_ids(VOLUME_ID)
    assert len(node) <= 31 and node.startswith("vol") and dev.startswith("vd")


def test_a_record_puts_the_devices_on_the_command_line(tmp_path: Path) -> None:
    volume = {"volume_id": VOLUME_ID, "device": "/dev/vdb", "size_gb": 1,
              "path": str(tmp_path / "a,b.qcow2"), "read_only": False, "port": "rp1"}
    vif = {"port_id": "p-1", "mac": "fa:16:3e:00:00:09", "fixed_ips": [], "network": "",
           "port": "rp2"}
    write_record(tmp_path, {"volumes": {VOLUME_ID: volume}, "vifs": {"p-1": vif}})
    args = device_args(tmp_path)
    blockdev = json.loads(args[args.index("-blockdev") + 1])
    assert blockdev["file"]["filename"].endswith("a,b.qcow2")  # JSON: commas are fine
    disk = json.loads(args[args.index("-device") + 1])
    assert disk["serial"] == VOLUME_ID[:20] and disk["bus"] == "rp1"
    assert "user,id=ndp1,restrict=on,net=10.0.4.0/24" in args  # a subnet of its own
    write_record(tmp_path, {"volumes": {}, "vifs": {}})
    assert not (tmp_path / DEVICES_RECORD).exists() and device_args(tmp_path) == ()


@pytest.mark.qemu
def test_volumes_and_interfaces_come_and_go(run_dir: Path, guest: GuestImage) -> None:
    vm = spec("hot")
    first = VolumeSpec(VOLUME_ID, "/dev/vdb", 1, str(run_dir / "vol1.qcow2"))
    second = VolumeSpec("0a1b2c3d-second", "/dev/vdc", 1, str(run_dir / "vol2.qcow2"))
    port = VifSpec("9d8c7b6a-port", "fa:16:3e:12:34:56", ("10.0.0.7",), "private")

    async def scenario() -> None:
        await make_volume(run_dir / "vol1.qcow2", "64M")
        await make_volume(run_dir / "vol2.qcow2", "32M")
        qemu = backend(run_dir, guest)
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")
            process = process_of(qemu, vm.uuid)
            node, dev = volume_ids(VOLUME_ID)

            await qemu.attach_volume(vm, first)
            assert node in await block_nodes(process) and dev in await pci_ids(process)
            await console_count(qemu, vm, f"GUEST-DISK-ADDED vdb {64 * 2**20} "
                                          f"serial={VOLUME_ID[:20]}")
            with pytest.raises(DeviceBusy):
                await qemu.attach_volume(vm, first)

            await qemu.attach_interface(vm, port)
            await console_count(qemu, vm, "GUEST-NET eth1 added mac=fa:16:3e:12:34:56")
            await console_count(qemu, vm, "GUEST-DHCP eth1 ip=10.0.4.15")  # rp2's subnet
            assert "nic9d8c7b6aport" in await pci_ids(process)
            await qemu.detach_interface(vm, port)
            assert "nic9d8c7b6aport" not in await pci_ids(process)
            await console_count(qemu, vm, "GUEST-NET eth1 removed")
            with pytest.raises(DeviceNotFound):
                await qemu.detach_interface(vm, port)

            # a stopped guest: its definition only; the next boot has both disks
            await qemu.power_off(vm)
            await qemu.attach_volume(vm, second)
            await qemu.power_on(vm)
            await console_count(qemu, vm, "GUEST-READY", 2)
            await console_count(qemu, vm, "GUEST-DISK-ADDED vdb", 2)
            await console_count(qemu, vm, f"GUEST-DISK-ADDED vdc {32 * 2**20}")
            process = process_of(qemu, vm.uuid)
            assert node in await block_nodes(process)

            await qemu.detach_volume(vm, first)
            assert node not in await block_nodes(process)
            assert dev not in await pci_ids(process)
            await console_count(qemu, vm, "GUEST-DISK-REMOVED vdb")
            with pytest.raises(DeviceNotFound):
                await qemu.detach_volume(vm, first)
            await qemu.destroy(vm)
            assert (run_dir / "vol1.qcow2").exists() and (run_dir / "vol2.qcow2").exists()
        finally:
            await qemu.close()

    run(scenario)


@pytest.mark.qemu
def test_a_live_migrated_guest_keeps_its_volume_and_nic(run_dir: Path,
                                                          guest: GuestImage) -> None:
    volume = VolumeSpec(VOLUME_ID, "/dev/vdb", 1, str(run_dir / "vol.qcow2"))
    port = VifSpec("9d8c7b6a-port", "fa:16:3e:12:34:56")
    node, dev = volume_ids(VOLUME_ID)

    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        await make_volume(run_dir / "vol.qcow2", "16M")
        await qemu.attach_volume(vm, volume)
        await qemu.attach_interface(vm, port)
        await console_count(qemu, vm, "GUEST-NET eth1 added")
        await console_count(qemu, vm, "GUEST-DISK-ADDED vdb")  # seen before it moves
        await qemu.live_migrate(moved, vm, Progress(), block_migration=False)
        process = process_of(qemu, vm.uuid)
        assert H2 in str(process.paths.root)
        assert node in await block_nodes(process)
        assert {dev, "nic9d8c7b6aport"} <= await pci_ids(process)
        assert (process.paths.root / DEVICES_RECORD).exists()
        await qemu.detach_volume(moved, volume)  # the guest on the destination lets go
        await console_count(qemu, moved, "GUEST-DISK-REMOVED vdb")
        await qemu.detach_interface(moved, port)
        await console_count(qemu, moved, "GUEST-NET eth1 removed")
        assert (await qemu.get_console_output(moved)).count("GUEST-BANNER") == 1

    on_two_hosts(run_dir, guest, "lmhot", scenario)


@pytest.mark.qemu
def test_a_paused_guest_keeps_the_device_and_a_restarted_backend_knows_it(
        run_dir: Path, guest: GuestImage) -> None:
    vm = spec("held")
    volume = VolumeSpec(VOLUME_ID, "/dev/vdb", 1, str(run_dir / "vol.qcow2"))
    node, dev = volume_ids(VOLUME_ID)

    async def scenario() -> None:
        await make_volume(run_dir / "vol.qcow2", "16M")
        qemu = backend(run_dir, guest)
        again = backend(run_dir, guest)
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")
            await qemu.attach_volume(vm, volume)
            await console_count(qemu, vm, "GUEST-DISK-ADDED vdb")
            # a paused guest cannot release the disk: the detach times out, it stays
            await qemu.pause(vm)
            qemu.detach_timeout = 1.0
            with pytest.raises(DeviceDetachFailed, match="did not release"):
                await qemu.detach_volume(vm, volume)
            process = process_of(qemu, vm.uuid)
            assert node in await block_nodes(process)
            await qemu.unpause(vm)  # now it lets go of it (QEMU's unplug request stands)
            await console_count(qemu, vm, "GUEST-DISK-REMOVED vdb")
            await qemu.detach_volume(vm, volume)  # the device is gone: the node goes too
            assert node not in await block_nodes(process)
            assert dev not in await pci_ids(process)

            # a new backend (an emulator restart) re-adopts the guest with its devices
            await qemu.attach_volume(vm, volume)
            await console_count(qemu, vm, "GUEST-DISK-ADDED vdb", 2)
            await qemu.close()  # the guest runs on
            assert await again.recover([(vm, PowerState.RUNNING)]) == {
                vm.uuid: PowerState.RUNNING}
            with pytest.raises(DeviceBusy):
                await again.attach_volume(vm, volume)
            await again.detach_volume(vm, volume)
            await console_count(again, vm, "GUEST-DISK-REMOVED vdb", 2)
            # a suspended guest's saved state holds the devices it had: refused
            await again.suspend(vm)
            with pytest.raises(InvalidPowerState, match="suspended"):
                await again.attach_volume(vm, volume)
            await again.resume(vm)
            await again.destroy(vm)
        finally:
            await again.close()
            await qemu.close()

    run(scenario)


@pytest.mark.qemu
def test_unshelve_and_evacuate_bring_the_volume_back(run_dir: Path, guest: GuestImage) -> None:
    volume = VolumeSpec(VOLUME_ID, "/dev/vdb", 1, str(run_dir / "vol.qcow2"))
    node, _ = volume_ids(VOLUME_ID)

    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        await make_volume(run_dir / "vol.qcow2", "16M")
        await qemu.attach_volume(vm, volume)
        await qemu.shelve(vm)
        await qemu.shelve_offload(vm)
        assert not (run_dir / H1 / vm.uuid).exists()
        await qemu.unshelve(vm)
        await console_count(qemu, vm, f"GUEST-DISK-ADDED vdb {16 * 2**20}")
        assert node in await block_nodes(process_of(qemu, vm.uuid))
        await qemu.evacuate(moved, vm, power_on=True)  # rebuilt on host 2, volume and all
        await console_count(qemu, moved, f"GUEST-DISK-ADDED vdb {16 * 2**20}")
        assert node in await block_nodes(process_of(qemu, vm.uuid))
        assert not (run_dir / H1 / vm.uuid).exists()

    on_two_hosts(run_dir, guest, "shelf", scenario)


async def locked_by_qemu(path: Path) -> bool:
    """Whether a running QEMU holds ``path`` open for writing (``qemu-img info`` without
    ``-U`` cannot take its lock then)."""
    proc = await asyncio.create_subprocess_exec(
        "qemu-img", "info", str(path), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    _, err = await proc.communicate()
    return proc.returncode != 0 and b"lock" in err


@pytest.mark.qemu
def test_a_guest_boots_from_its_volume_with_a_data_volume(run_dir: Path,
                                                          guest: GuestImage) -> None:
    root_file, data_file = run_dir / "root.qcow2", run_dir / "data.qcow2"
    root = VolumeSpec("1e2d3c4b-root", "/dev/vda", 1, str(root_file))
    data = VolumeSpec(VOLUME_ID, "/dev/vdb", 1, str(data_file))
    vm = spec("bfv", image_id=None, root_volume=root, volumes=(data,))

    async def scenario() -> None:
        proc = await asyncio.create_subprocess_exec(
            "qemu-img", "convert", "-q", "-O", "qcow2", str(guest.base_qcow2), str(root_file))
        assert await proc.wait() == 0
        await make_volume(data_file, "16M")
        qemu = backend(run_dir, guest)
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")
            await console_count(qemu, vm, f"GUEST-DISK-ADDED vdb {16 * 2**20}")
            assert await locked_by_qemu(root_file)  # the volume is the root disk
            assert volume_ids(VOLUME_ID)[0] in await block_nodes(process_of(qemu, vm.uuid))
            await qemu.detach_volume(vm, data)
            await console_count(qemu, vm, "GUEST-DISK-REMOVED vdb")
            await qemu.destroy(vm)
            assert root_file.exists() and not await locked_by_qemu(root_file)
        finally:
            await qemu.close()

    run(scenario)
