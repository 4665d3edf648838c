"""The volumes and NICs plugged into one simulated guest, and what its console says of them.

The console lines are those of the free QEMU guest (``backends.qemu.guest``), after a
kernel line as a CirrOS guest prints it, so a reader can look for the same markers on
both backends::

    GUEST-DISK-ADDED <vdX> <bytes> serial=<the volume id's first 20 characters>
    GUEST-DISK-REMOVED <vdX>
    GUEST-NET <ethN> added mac=<mac>
    GUEST-NET <ethN> removed
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from backends.base import DeviceBusy, DeviceNotFound, InstanceSpec, VifSpec, VolumeSpec
from backends.simulated.shell import Disk, GuestView, Nic


def disk_name(volume: VolumeSpec) -> str:
    """The guest's name of the disk (``/dev/vdb`` -> ``vdb``)."""
    return volume.device.rsplit("/", 1)[-1]


@dataclass
class GuestDevices:
    """What is plugged in besides the root disk and the boot-time NICs (``first_nic`` of
    them), and the console lines each change printed, with the boot they happened in."""

    first_nic: int = 0
    #: The ports the guest booted with, its NICs eth0 ... (they go with it through moves,
    #: an offload, an evacuation; verbs other than a build do not repeat them).
    boot_vifs: tuple[VifSpec, ...] = ()
    volumes: dict[str, VolumeSpec] = field(default_factory=dict)
    #: Port id -> (its NIC's name in the guest, the port).
    vifs: dict[str, tuple[str, VifSpec]] = field(default_factory=dict)
    #: Port id -> each port plugged (at boot or since), as last told (``update_interface``:
    #: its fixed and floating IPs now).
    addresses: dict[str, VifSpec] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    console: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def at_boot(cls, instance: InstanceSpec) -> GuestDevices:
        """What a new guest has: its boot NICs (as many as its fixed addresses, or as its
        ports) and the volumes attached before its first boot."""
        return cls(max(len(instance.addresses), len(instance.vifs)),
                   boot_vifs=instance.vifs,
                   volumes={v.volume_id: v for v in instance.volumes},
                   addresses={v.port_id: v for v in instance.vifs})

    def check_volume(self, volume: VolumeSpec, attached: bool) -> None:
        """``DeviceBusy``/``DeviceNotFound`` unless ``volume`` is (not) attached as wanted."""
        if attached:
            if volume.volume_id not in self.volumes:
                raise DeviceNotFound(f"Volume {volume.volume_id} is not attached.")
            return
        if volume.volume_id in self.volumes:
            raise DeviceBusy(f"Volume {volume.volume_id} is attached already.")
        if any(v.device == volume.device for v in self.volumes.values()) or \
                disk_name(volume) == "vda":
            raise DeviceBusy(f"Device {volume.device} is in use.")

    def check_vif(self, vif: VifSpec, plugged: bool) -> None:
        if plugged and vif.port_id not in self.vifs:
            raise DeviceNotFound(f"Port {vif.port_id} is not attached.")
        if not plugged and vif.port_id in self.vifs:
            raise DeviceBusy(f"Port {vif.port_id} is attached already.")

    def apply(self, verb: str, item: VolumeSpec | VifSpec, boot: int | None) -> None:
        """Check that ``verb`` (``attach_volume`` ...) can be done; with a ``boot``
        (number) do it too."""
        attach = verb.startswith("attach")
        if isinstance(item, VolumeSpec):
            self.check_volume(item, attached=not attach)
            if boot is not None:
                (self.attach_volume if attach else self.detach_volume)(boot, item)
            return
        self.check_vif(item, plugged=not attach)
        if boot is not None:
            (self.attach_interface if attach else self.detach_interface)(boot, item)

    def attach_volume(self, boot: int, volume: VolumeSpec) -> None:
        self.check_volume(volume, attached=False)
        self.volumes[volume.volume_id] = volume
        name, blocks = disk_name(volume), volume.size_gb * 2097152
        self._say(boot, f"virtio_blk virtio{3 + len(self.volumes)}: [{name}] {blocks} "
                        "512-byte logical blocks",
                  f"GUEST-DISK-ADDED {name} {blocks * 512} serial={volume.serial[:20]}")

    def detach_volume(self, boot: int, volume: VolumeSpec) -> None:
        self.check_volume(volume, attached=True)
        del self.volumes[volume.volume_id]
        self._say(boot, None, f"GUEST-DISK-REMOVED {disk_name(volume)}")

    def attach_interface(self, boot: int, vif: VifSpec) -> None:
        self.check_vif(vif, plugged=False)
        taken = {name for name, _ in self.vifs.values()}
        number = self.first_nic
        while f"eth{number}" in taken:
            number += 1
        self.vifs[vif.port_id] = (f"eth{number}", vif)
        self.addresses[vif.port_id] = vif
        self._say(boot, f"virtio_net virtio{10 + number} eth{number}: renamed from eth{number}",
                  f"GUEST-NET eth{number} added mac={vif.mac}")

    def detach_interface(self, boot: int, vif: VifSpec) -> None:
        self.check_vif(vif, plugged=True)
        name, _ = self.vifs.pop(vif.port_id)
        self.addresses.pop(vif.port_id, None)
        self._say(boot, None, f"GUEST-NET {name} removed")

    def _say(self, boot: int, kernel: str | None, marker: str) -> None:
        if kernel is not None:
            self.console.append((boot, f"[{time.monotonic() - self.started:12.6f}] {kernel}"))
        self.console.append((boot, marker))


def guest_view(spec: InstanceSpec, devices: GuestDevices, booted_at: float) -> GuestView:
    """What a running guest's shell sees: its root disk, the volumes plugged now (by device
    name), a config drive; its NICs (those it booted with, then the hot-plugged ones) with
    their fixed IPs now (a floating IP is NAT: not on a NIC)."""
    root = spec.root_volume.size_gb if spec.root_volume else spec.root_gb
    disks = [Disk("vda", max(root, 1) * 2**30), *(
        Disk(disk_name(v), v.size_gb * 2**30)
        for v in sorted(devices.volumes.values(), key=lambda v: (len(v.device), v.device)))]
    if spec.config_drive:
        disks.append(Disk("sr0", 493568, "rom"))
    if devices.boot_vifs:
        boot = [Nic(f"eth{n}", vif.mac, devices.addresses[vif.port_id].fixed_ips)
                for n, vif in enumerate(devices.boot_vifs)
                if vif.port_id in devices.addresses and vif.port_id not in devices.vifs]
    else:  # a caller that told addresses only
        boot = [Nic(f"eth{n}", mac, (address,))
                for n, (_, address, mac) in enumerate(spec.addresses)]
    nics = [*boot, *(Nic(name, vif.mac, devices.addresses.get(vif.port_id, vif).fixed_ips)
                     for name, vif in devices.vifs.values())]
    return GuestView(spec.hostname, spec.vcpus, spec.memory_mb, time.time() - booted_at,
                     tuple(disks), tuple(nics))


class DeviceVerbs:
    """The backend's four device verbs: check, wait for the verb's stage, then change the
    devices (checked again: they may have changed meanwhile). Any power state will do (a
    stopped guest shows the device at its next boot, see ``backends.base``)."""

    def _devices(self, uuid: str) -> tuple[GuestDevices, int]:
        """The instance's devices and its current boot number (``InstanceNotFound``)."""
        raise NotImplementedError

    async def _device_stage(self, verb: str, uuid: str) -> None:
        raise NotImplementedError

    async def _answer(self, uuid: str) -> None:
        """The instance's addresses changed: its guest answers on the new ones."""

    async def _plug(self, verb: str, instance: InstanceSpec,
                    item: VolumeSpec | VifSpec) -> None:
        self._devices(instance.uuid)[0].apply(verb, item, None)
        await self._device_stage(verb, instance.uuid)
        devices, boot = self._devices(instance.uuid)
        devices.apply(verb, item, boot)
        if isinstance(item, VifSpec):
            await self._answer(instance.uuid)

    async def attach_volume(self, instance: InstanceSpec, volume: VolumeSpec) -> None:
        await self._plug("attach_volume", instance, volume)

    async def detach_volume(self, instance: InstanceSpec, volume: VolumeSpec) -> None:
        await self._plug("detach_volume", instance, volume)

    async def attach_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        await self._plug("attach_interface", instance, vif)

    async def detach_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        await self._plug("detach_interface", instance, vif)

    async def update_interface(self, instance: InstanceSpec, vif: VifSpec) -> None:
        """The port's addresses are recorded: the guest answers SSH on them."""
        self._devices(instance.uuid)[0].addresses[vif.port_id] = vif
        await self._answer(instance.uuid)
