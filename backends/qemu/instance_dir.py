"""One instance of the QEMU backend: what the backend holds of it, and its directory.

``<run_dir>/<uuid>/`` holds QEMU's own files (``backends.qemu.process``: disk, serial
log, sockets, pid) and these, which only some states have::

    boot.json              how spawn booted it (image, kernel boot): for a restart after
                           an emulator restart
    console.prev.log       the serial output of earlier QEMU processes (QEMU truncates its
                           ``-serial file:`` on start, so the log is carried over)
    suspend.state          the guest's memory saved by suspend
    disk.pre-resize.qcow2  the disk before a resize (revert puts it back)
    resize.json            whether the guest ran before the resize
    disk.rescued.qcow2     the server's own disk while rescued
    snapshot.qcow2         a snapshot being taken

and ``<run_dir>/.shelved/<uuid>.qcow2`` is the flattened disk of an offloaded instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from backends.base import InstanceSpec, PowerState
from backends.qemu.process import InstancePaths, MachineConfig, ProcessError, QemuProcess

BOOT_RECORD = "boot.json"
PREVIOUS_CONSOLE = "console.prev.log"
SUSPEND_STATE = "suspend.state"
PRE_RESIZE_DISK = "disk.pre-resize.qcow2"
RESIZE_RECORD = "resize.json"
RESCUED_DISK = "disk.rescued.qcow2"
SNAPSHOT_FILE = "snapshot.qcow2"
SHELVED_DIR = ".shelved"
#: What a rebuild leaves behind of the instance's past (a new disk, a fresh boot).
PAST_STATES = (SUSPEND_STATE, PRE_RESIZE_DISK, RESIZE_RECORD, RESCUED_DISK)


@dataclass
class Instance:
    """What the backend holds of one instance. ``lock`` admits one verb at a time;
    ``watcher`` follows its QEMU (``backends.qemu.watcher``); ``booting`` holds a boot slot
    until the guest is up (``backends.qemu.boot_slots``)."""

    spec: InstanceSpec
    config: MachineConfig
    paths: InstancePaths
    process: QemuProcess | None = None
    power: PowerState = PowerState.NOSTATE
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    watcher: asyncio.Task[None] | None = None
    booting: asyncio.Task[None] | None = None
    #: The image its disk was made from and whether it boots the free guest's kernel.
    image: Path | None = None
    kernel_boot: bool = False

    def file(self, name: str) -> Path:
        """One of the files above, in this instance's directory."""
        return self.paths.root / name


def shelved_disk(run_dir: Path, uuid: str) -> Path:
    """Where an offloaded instance's disk waits for its unshelve."""
    if not uuid or "/" in uuid or uuid.startswith("."):
        raise ProcessError(f"invalid instance name {uuid!r}")
    return run_dir / SHELVED_DIR / f"{uuid}.qcow2"


def write_boot_record(instance: Instance) -> None:
    instance.file(BOOT_RECORD).write_text(json.dumps(
        {"image": str(instance.image), "kernel_boot": instance.kernel_boot}) + "\n")


def read_boot_record(paths: InstancePaths) -> tuple[Path, bool] | None:
    """(image, kernel boot) as spawn recorded them; None without a readable record."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        record = json.loads((paths.root / BOOT_RECORD).read_text())
        return Path(record["image"]), bool(record["kernel_boot"])
    return None


def write_resize_record(instance: Instance, ran: bool) -> None:
    instance.file(RESIZE_RECORD).write_text(json.dumps({"ran": ran}) + "\n")


def read_resize_record(instance: Instance) -> bool:
    """Whether the guest ran before its resize (True when unknown)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return bool(json.loads(instance.file(RESIZE_RECORD).read_text())["ran"])
    return True


def carry_console(paths: InstancePaths) -> None:
    """Append the current serial log to the previous ones (QEMU truncates it on start)."""
    with contextlib.suppress(OSError):
        current = paths.console_log.read_bytes()
        if current:
            with (paths.root / PREVIOUS_CONSOLE).open("ab") as out:
                out.write(current)
        paths.console_log.unlink(missing_ok=True)


def read_console(paths: InstancePaths) -> str:
    """The whole serial output: earlier processes' first, then the current one's."""
    text = ""
    for path in (paths.root / PREVIOUS_CONSOLE, paths.console_log):
        with contextlib.suppress(OSError):
            text += path.read_text(errors="replace")
    return text
