"""One instance of the QEMU backend: what the backend holds of it, and its directory.

``<host run dir>/<uuid>/`` (``inventory``: the run directory itself with one host) holds
QEMU's own files (``backends.qemu.process``: disk, serial log, sockets, pid) and these,
which only some states have::

    boot.json              how spawn booted it (image, kernel boot): for a restart after
                           an emulator restart
    console.prev.log       the serial output of earlier QEMU processes (QEMU truncates its
                           ``-serial file:`` on start, so the log is carried over)
    suspend.state          the guest's memory saved by suspend
    disk.pre-resize.qcow2  the disk before a resize (revert puts it back)
    resize.json            whether the guest ran before the resize, and the host it
                           came from (a resize to another host: the source keeps its
                           directory, as it was, until confirm or revert)
    disk.rescued.qcow2     the server's own disk while rescued
    snapshot.qcow2         a snapshot being taken

and ``<run_dir>/.shelved/<uuid>.qcow2`` is the flattened disk of an offloaded instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from backends.base import InstanceSpec, PowerState
from backends.qemu.inventory import QemuHost
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
    """What the backend holds of one instance, on ``host`` (its directory is ``paths``).
    ``lock`` admits one verb at a time;
    ``watcher`` follows its QEMU (``backends.qemu.watcher``); ``booting`` holds a boot slot
    until the guest is up (``backends.qemu.boot_slots``)."""

    spec: InstanceSpec
    config: MachineConfig
    host: QemuHost
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

    def relocate(self, host: QemuHost) -> None:
        """The instance lives on ``host`` now, in its directory there."""
        self.host, self.paths = host, host.manager.paths(self.spec.uuid)


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


def write_resize_record(instance: Instance, ran: bool, source: str | None = None) -> None:
    """Whether the guest ran, and (a resize to another host) the host it came from."""
    instance.file(RESIZE_RECORD).write_text(json.dumps({"ran": ran, "source": source}) + "\n")


def read_resize_record(instance: Instance) -> bool:
    """Whether the guest ran before its resize (True when unknown)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return bool(json.loads(instance.file(RESIZE_RECORD).read_text())["ran"])
    return True


def resize_source(paths: InstancePaths) -> str | None:
    """The host a resize to another host came from (its directory waits there until the
    resize is confirmed or reverted); None: no such resize."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        source = json.loads((paths.root / RESIZE_RECORD).read_text())["source"]
        return source if isinstance(source, str) else None
    return None


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


def is_instance_dir(path: Path) -> bool:
    """Whether ``path`` holds an instance (not, say, a host's run directory)."""
    paths = InstancePaths(path)
    return any(p.exists() for p in (paths.disk, paths.pid_file, paths.argv_file,
                                    path / BOOT_RECORD))


def copy_instance_dir(source: InstancePaths, target: InstancePaths) -> None:
    """Copy an instance directory whose QEMU is stopped, every file but a running QEMU's
    (pid file, sockets), to ``target`` (another host's), replacing what was there."""
    runtime = {p.name for p in (source.pid_file, source.qmp_sock, source.vnc_sock,
                                source.observer_sock)}
    shutil.rmtree(target.root, ignore_errors=True)
    shutil.copytree(source.root, target.root,
                    ignore=lambda _dir, names: [n for n in names if n in runtime])


def hand_over_console(source: InstancePaths, target: InstancePaths) -> None:
    """``source``'s whole serial output becomes ``target``'s earlier output: a guest that
    moved on to ``target``'s QEMU keeps its console history."""
    text = b""
    for path in (source.root / PREVIOUS_CONSOLE, source.console_log):
        with contextlib.suppress(OSError):
            text += path.read_bytes()
    (target.root / PREVIOUS_CONSOLE).write_bytes(text)
