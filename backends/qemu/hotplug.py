"""Volumes and NICs plugged into a QEMU guest: QMP hot-plug while it runs, its command line
when it starts, a record in its instance directory either way.

A running (or paused) guest gets a volume as ``blockdev-add`` (a qcow2 node over a file
node) and ``device_add virtio-blk-pci`` with the volume id as serial, a port as
``netdev_add`` (user-mode, ``restrict``: as the boot-time NIC) and ``device_add
virtio-net-pci`` with its MAC; each on a free ``pcie-root-port`` of the q35 machine
(``MachineConfig.hotplug_ports``: its root bus takes no hot-plug). Unplugging is
``device_del``, then the guest must release the device (``DEVICE_DELETED``, within
``DETACH_TIMEOUT``), then ``blockdev-del`` / ``netdev_del``.

``devices.json`` in the instance directory (``device_record``) records what is plugged
and on which port, so that every later start of the guest's QEMU (power on, resume, a
cold migration that copies the directory, an unshelve after an offload: the record waits
beside the shelved disk, an evacuation) has the same devices on its command line, and
a re-adopted QEMU's devices are known. A stopped guest only has its record changed (see
``backends.base``). A live migration starts the destination with them too (``moves``).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from backends.base import (
    BackendError,
    DeviceBusy,
    DeviceDetachFailed,
    DeviceNotFound,
    InstanceSpec,
    VifSpec,
    VolumeSpec,
)
from backends.qemu.device_record import (
    blockdev,
    disk_device,
    free_port,
    netdev,
    nic_device,
    read_record,
    vif_ids,
    volume_ids,
    write_record,
)
from backends.qemu.instance_dir import SUSPEND_STATE, Instance
from backends.qemu.instances import QemuInstances
from backends.qemu.machines import InvalidPowerState
from backends.qemu.process import QemuProcess
from backends.qemu.qmp import CommandFailed, Event, MonitorTimeout
from backends.qemu.reach import BOOT_NETDEV, hostfwd, port_addresses

log = logging.getLogger(__name__)

#: Seconds the guest has to release an unplugged device (measured: 0.1 s; TCG on a busy
#: machine is slower).
DETACH_TIMEOUT = 20.0


class QemuDevices(QemuInstances):
    """The device verbs of the QEMU backend (see the module doc)."""

    detach_timeout: float = DETACH_TIMEOUT

    async def attach_volume(self, instance: InstanceSpec, volume: VolumeSpec) -> None:
        if volume.path is None:
            raise BackendError(f"Volume {volume.volume_id} has no backing file to attach.")
        async with self._busy(instance) as vm:
            record = read_record(vm.paths.root)
            if volume.volume_id in record["volumes"]:
                raise DeviceBusy(f"Volume {volume.volume_id} is attached already.")
            if volume.device.endswith("/vda") or any(
                    v["device"] == volume.device for v in record["volumes"].values()):
                raise DeviceBusy(f"Device {volume.device} is in use.")
            entry = {**asdict(volume), "port": free_port(record, vm.config)}
            process = await self._process(vm)
            if process is not None:
                await self._plug(process, blockdev(entry), disk_device(entry))
            record["volumes"][volume.volume_id] = entry
            write_record(vm.paths.root, record)

    async def detach_volume(self, instance: InstanceSpec, volume: VolumeSpec) -> None:
        node, dev = volume_ids(volume.volume_id)
        await self._detach(instance, "volumes", volume.volume_id, dev,
                           ("blockdev-del", {"node-name": node}))

    async def attach_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        async with self._busy(instance) as vm:
            record = read_record(vm.paths.root)
            if vif.port_id in record["vifs"]:
                raise DeviceBusy(f"Port {vif.port_id} is attached already.")
            entry = {**asdict(vif), "port": free_port(record, vm.config)}
            process = await self._process(vm)
            if process is not None:
                backend = netdev(entry)  # forwarding the port's reachable addresses
                await process.monitor.execute("netdev_add", backend)
                try:
                    await process.monitor.execute("device_add", nic_device(entry))
                except CommandFailed:
                    await process.monitor.execute("netdev_del", {"id": backend["id"]})
                    raise
            record["vifs"][vif.port_id] = entry
            record["addresses"][vif.port_id] = asdict(vif)
            write_record(vm.paths.root, record)

    async def detach_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        netdev_id, dev = vif_ids(vif.port_id)
        await self._detach(instance, "vifs", vif.port_id, dev, ("netdev_del", {"id": netdev_id}))

    async def update_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        """Record the port's addresses (its fixed and floating IPs) with the instance's
        devices and, while the guest's QEMU runs, forward the reachable ones that came
        and stop forwarding those that went (``reach``)."""
        async with self._busy(instance) as vm:
            record = read_record(vm.paths.root)
            before = port_addresses(record["addresses"].get(vif.port_id, {}))
            record["addresses"][vif.port_id] = asdict(vif)
            write_record(vm.paths.root, record)
            after = port_addresses(record["addresses"][vif.port_id])
            try:
                process = await self.machines.process(vm)
            except BackendError:  # a monitor out of reach: the record holds it for later
                process = None
            if process is not None and before != after:
                where = vif_ids(vif.port_id)[0] if vif.port_id in record["vifs"] \
                    else BOOT_NETDEV
                await hostfwd(process.monitor, where, add=sorted(set(after) - set(before)),
                              remove=sorted(set(before) - set(after)))

    async def _detach(self, instance: InstanceSpec, kind: str, key: str, dev: str,
                      cleanup: tuple[str, dict[str, Any]]) -> None:
        """Unplug the ``kind`` (``volumes``, ``vifs``) ``key`` of the record: from the
        running QEMU (device ``dev``, then the ``cleanup`` command), then from the record."""
        async with self._busy(instance) as vm:
            record = read_record(vm.paths.root)
            if key not in record[kind]:
                what = "Volume" if kind == "volumes" else "Port"
                raise DeviceNotFound(f"{what} {key} is not attached.")
            process = await self._process(vm)
            if process is not None:
                await self._unplug(vm, process, dev, *cleanup)
            del record[kind][key]
            if kind == "vifs":  # its forwards went with its netdev
                record["addresses"].pop(key, None)
            write_record(vm.paths.root, record)

    async def _process(self, vm: Instance) -> QemuProcess | None:
        """The guest's running QEMU; None when it is stopped (only its record changes).
        A suspended guest is refused: its saved state holds the devices it had (NOTE:
        Nova's API does not allow attaching to a SUSPENDED server either)."""
        process = await self.machines.process(vm)
        if process is None and vm.file(SUSPEND_STATE).exists():
            raise InvalidPowerState(f"Instance {vm.spec.uuid} is suspended; resume it to "
                                    "attach or detach devices.")
        return process

    @staticmethod
    async def _plug(process: QemuProcess, node: dict[str, Any],
                    device: dict[str, Any]) -> None:
        """``blockdev-add`` then ``device_add``; the node is removed again if the device
        cannot be added."""
        await process.monitor.execute("blockdev-add", node)
        try:
            await process.monitor.execute("device_add", device)
        except CommandFailed:
            await process.monitor.execute("blockdev-del", {"node-name": node["node-name"]})
            raise

    async def _unplug(self, vm: Instance, process: QemuProcess, dev: str, cleanup: str,
                      arguments: dict[str, Any]) -> None:
        """``device_del`` ``dev`` and wait until the guest released it, then ``cleanup``.
        NOTE: ``DEVICE_DELETED`` also comes for the device's virtio backend child (no
        ``device`` key): only ``dev``'s own counts."""
        def ours(event: Event) -> bool:
            return event.data.get("device") == dev

        with process.monitor.listen("DEVICE_DELETED", ours) as waiter:
            try:
                await process.monitor.execute("device_del", {"id": dev})
            except CommandFailed as err:
                if err.error_class != "DeviceNotFound":
                    raise
                log.info("%s: device %s was gone already", vm.spec.uuid, dev)
            else:
                try:
                    await waiter.wait(self.detach_timeout)
                except MonitorTimeout:
                    raise DeviceDetachFailed(
                        f"Device detach failed for {dev}: the guest of instance "
                        f"{vm.spec.uuid} did not release it within "
                        f"{self.detach_timeout:g} s.") from None
        await process.monitor.execute(cleanup, arguments)
