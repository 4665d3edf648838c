"""How an instance boots: the image its disk is made from, and the machine QEMU runs.

The free guest (``GuestImage``) boots its PVH ``vmlinux`` + initramfs directly with
``root=/dev/vda`` on the overlay and ``hostname=`` on the command line; so does any disk
that is a bare ext2/3/4 file system (its snapshots, shelved disks: no BIOS could boot
them). Any other image boots from its disk through SeaBIOS.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from backends.base import InstanceSpec, SpawnFailed
from backends.qemu.disks import head
from backends.qemu.guest import GuestImage
from backends.qemu.process import MachineConfig

log = logging.getLogger(__name__)

#: The smallest guest RAM the free guest's kernel boots with (the reference: ~80 MiB).
MIN_MEMORY_MB = 128
#: ext2/3/4 superblock magic, at byte 1080 of a disk that is a bare file system.
_EXT_MAGIC_OFFSET, _EXT_MAGIC = 1080, b"\x53\xef"

#: The prefix of the scratch directories ``kernel_boots`` reads an image's head into.
PROBE_PREFIX = ".probe-"


class BootPlan:
    """Which image an instance's disk comes from and the machine that boots it."""

    def __init__(self, guest: GuestImage | None, images: Mapping[str, Path | str],
                 accel: str, scratch: Path) -> None:
        self.guest = guest
        #: image id -> its file; any mapping (e.g. one reading an image store lazily).
        self.images = images
        self.accel = accel
        self.scratch = scratch
        self._sweep_probes()

    def _sweep_probes(self) -> None:
        """Remove the probe directories a killed emulator left in ``scratch`` (no probe
        of this one has begun yet: the backend builds its plan before it serves)."""
        if not self.scratch.is_dir():
            return
        for stale in self.scratch.glob(f"{PROBE_PREFIX}*"):
            log.info("removing %s: a probe of an image an earlier emulator left", stale)
            shutil.rmtree(stale, ignore_errors=True)

    def image(self, spec: InstanceSpec, image_id: str | None = None) -> Path:
        """The file of ``image_id`` (default: the instance's image; none: the free guest)."""
        image_id = image_id or spec.image_id
        if image_id is None:
            if self.guest is None:
                raise SpawnFailed(f"Instance {spec.uuid} has no image to boot from.")
            return self.guest.base_qcow2
        found = self.images.get(image_id)
        path = None if found is None else Path(found)
        if path is None or not path.is_file():
            raise SpawnFailed(f"Image {image_id} is not available on the QEMU host.")
        return path

    def is_free_guest(self, image: Path | None) -> bool:
        if self.guest is None or image is None:
            return False
        with contextlib.suppress(OSError):
            return image.resolve() == self.guest.base_qcow2.resolve()
        return False

    async def kernel_boots(self, image: Path) -> bool:
        """Whether ``image`` boots the free guest's kernel: it is the free guest, or a disk
        that is a bare ext2/3/4 file system (a snapshot of one; no BIOS boots those)."""
        if self.guest is None:
            return False
        if self.is_free_guest(image):
            return True
        with tempfile.TemporaryDirectory(prefix=PROBE_PREFIX, dir=self.scratch) as scratch:
            first = Path(scratch) / "head"
            await head(image, first, 2048)
            data = await asyncio.to_thread(first.read_bytes)
        return data[_EXT_MAGIC_OFFSET:_EXT_MAGIC_OFFSET + 2] == _EXT_MAGIC

    def machine(self, spec: InstanceSpec, image: Path | None, kernel_boot: bool,
                extra_disk: Path | None = None) -> MachineConfig:
        """The machine of ``spec`` on its disk (an overlay of ``image``); ``extra_disk``
        is attached second (``/dev/vdb``: the server's own disk while rescued)."""
        guest = self.guest if kernel_boot else None
        append = None
        if guest is not None:
            append = (f"console=ttyS0 quiet no_timer_check "
                      f"hostname={safe_hostname(spec.hostname)} root=/dev/vda")
        extra: tuple[str, ...] = ()
        if extra_disk is not None:
            extra = ("-blockdev", f"driver=file,filename={extra_disk},node-name=data-file",
                     "-blockdev", "driver=qcow2,file=data-file,node-name=data",
                     "-device", "virtio-blk-pci,drive=data,id=datadisk,bus=pcie.0")
        return MachineConfig(
            name=spec.uuid, memory_mb=max(MIN_MEMORY_MB, spec.memory_mb),
            vcpus=max(1, spec.vcpus),
            kernel=guest.vmlinux if guest is not None else None,
            initrd=guest.initramfs if guest is not None else None, append=append,
            base_image=image, mac=mac(spec), accel=self.accel, extra_args=extra)


def safe_hostname(hostname: str) -> str:
    """A hostname that is one word of the kernel command line."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]", "-", hostname).strip("-.")[:63]
    return cleaned or "guest"


def mac(spec: InstanceSpec) -> str:
    """The boot NIC's MAC: its first port's (as Nova's libvirt driver sets the interface's
    ``<mac>``), else the first fixed address's, else one derived from the uuid (QEMU's
    prefix)."""
    if spec.vifs:
        return spec.vifs[0].mac.lower()
    for _net, _address, address in spec.addresses:
        if re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", address):
            return address.lower()
    digest = hashlib.sha256(spec.uuid.encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])
