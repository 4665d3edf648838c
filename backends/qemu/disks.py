"""Instance disks: qcow2 overlays on images, their sizes, copies, and live backups.

Every instance's root disk is a qcow2 overlay on the image it was built from, grown to
its flavor's root disk. An image is looked at before anything refers to it: QEMU must be
able to open it, and it must not refer to other files of the host (Nova's image safety
check). Snapshots are a full ``drive-backup`` of the running disk, or a ``qemu-img
convert`` of a stopped one; both give a self-contained qcow2.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from backends.base import BackendError, InstanceSpec
from backends.qemu.process import ProcessError, QemuProcess, qemu_img

GIB = 2**30
#: The formats an image may have (a qcow2 overlay can sit on either).
IMAGE_FORMATS = ("raw", "qcow2")


class ImageUnacceptable(BackendError):
    """Nova's ``ImageUnacceptable``: QEMU cannot (or must not) open the image."""


async def image_info(path: Path) -> tuple[str, int]:
    """(format, virtual size in bytes) of a disk image."""
    info = json.loads(await qemu_img("info", "-U", "--output=json", str(path)))
    return str(info.get("format", "raw")), int(info.get("virtual-size", 0))


async def create_disk(spec: InstanceSpec, image: Path, target: Path) -> None:
    """A qcow2 overlay on ``image`` (qcow2 or raw), grown to the flavor's root disk. An
    image QEMU cannot open, or one that refers to other files of the host (a backing or
    data file: Nova's image safety check), is ``ImageUnacceptable`` in Nova's words:
    "Image <id> is unacceptable: <reason>"."""
    name = spec.image_id or image.name
    try:
        info = json.loads(await qemu_img("info", "-U", "--output=json", str(image)))
    except ProcessError as err:
        reason = str(err).split(": ", 1)[-1].replace(str(image), name)
        raise ImageUnacceptable(f"Image {name} is unacceptable: {reason}") from err
    fmt, size = str(info.get("format", "raw")), int(info.get("virtual-size", 0))
    specific = info.get("format-specific", {}).get("data", {})
    if fmt not in IMAGE_FORMATS:
        raise ImageUnacceptable(f"Image {name} is unacceptable: disk format {fmt} is not "
                                "supported")
    if info.get("backing-filename") or specific.get("data-file"):
        raise ImageUnacceptable(f"Image {name} is unacceptable: it refers to other files "
                                "(a backing or data file)")
    args = ["create", "-q", "-f", "qcow2", "-b", str(image.absolute()), "-F", fmt,
            str(target)]
    wanted = spec.root_gb * GIB
    if wanted > size:
        args.append(str(wanted))
    await qemu_img(*args)


async def grow(disk: Path, root_gb: int) -> None:
    """Grow ``disk`` to ``root_gb`` GiB; a disk that is already as large stays as it is."""
    _fmt, size = await image_info(disk)
    if root_gb * GIB > size:
        await qemu_img("resize", "-q", str(disk), str(root_gb * GIB))


async def flatten(disk: Path, target: Path) -> None:
    """A self-contained qcow2 copy of ``disk`` (its image's data included)."""
    await qemu_img("convert", "-O", "qcow2", str(disk), str(target))


async def head(image: Path, target: Path, size: int) -> None:
    """The first ``size`` bytes of the disk ``image`` shows its guest, as a raw file."""
    fmt, _size = await image_info(image)
    await qemu_img("dd", "-f", fmt, "-O", "raw", f"bs={size}", "count=1", f"if={image}",
                   f"of={target}")


async def backup(process: QemuProcess, target: Path, timeout: float) -> None:
    """A full qcow2 ``drive-backup`` of the running root disk to ``target``."""
    job = f"snap-{time.monotonic_ns()}"
    with process.monitor.listen(["BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"],
                                lambda e: e.data.get("device") == job) as waiter:
        await process.monitor.execute("drive-backup", {
            "device": "root", "job-id": job, "target": str(target), "sync": "full",
            "format": "qcow2"})
        event = await waiter.wait(timeout)
    if event.name != "BLOCK_JOB_COMPLETED" or event.data.get("error"):
        raise BackendError(f"Snapshot of instance {process.name} failed: "
                           f"{event.data.get('error', 'cancelled')}")
