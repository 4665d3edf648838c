"""The QEMU backend: every instance is a real ``qemu-system-x86_64`` process (TCG).

One host (this machine); one instance directory per server (``<run_dir>/<uuid>/``, see
``backends.qemu.process``), holding its qcow2 overlay, serial log, QMP socket and pid file.

What each verb does on the hypervisor:

=================== ===============================================================
spawn               overlay on the image's disk; start QEMU; return once ``running``
destroy             ``quit`` (then SIGTERM, SIGKILL), reap, remove the directory
get_info            ``query-status`` -> power state; no process -> SHUTDOWN
power_off           ACPI ``system_powerdown``, wait for SHUTDOWN up to
                    ``shutdown_timeout``; else ``quit`` (hard)
power_on            status ``shutdown``: ``system_reset`` + ``cont``; no process:
                    start QEMU again on the same disk
reboot_hard         ``system_reset`` (+ ``cont`` when not running)
reboot_soft         ACPI power-off, then ``system_reset`` + ``cont``; hard after
                    the timeout
pause / unpause     ``stop`` / ``cont`` (waiting for STOP / RESUME)
suspend             ``stop``; migrate the state to ``suspend.state`` (``fd:``); quit
resume              QEMU with ``-incoming defer``; ``migrate-incoming`` from the file;
                    ``cont``
snapshot            ``drive-backup`` (full, qcow2) of the running disk; a stopped
                    one: ``qemu-img convert``; returns the qcow2 bytes
rebuild             clean power-off; a new overlay on the (new) image; start
resize              clean power-off; old disk kept as ``disk.pre-resize.qcow2``;
                    ``qemu-img resize`` up; start with the new memory/vCPUs
confirm / revert    drop the kept disk / put it back and start on the old flavor
rescue / unrescue   own disk moved to ``disk.rescued.qcow2`` and attached second;
                    the rescue image boots as the first disk / put back, start
shelve              clean power-off (disk kept)
shelve_offload      the disk flattened to ``<run_dir>/.shelved/<uuid>.qcow2``;
                    the instance directory removed; unshelve boots from it
soft_delete/restore QEMU stopped hard (Nova's libvirt ``power_off``) / started
trigger_crash_dump  ``inject-nmi``
get_console_output  the serial log (earlier runs of the process included)
get_diagnostics     ``query-status``, ``query-cpus-fast`` + /proc (CPU time),
                    ``query-blockstats``; uptime from the process start time
recover             adopt QEMUs from pid files and sockets; gone -> SHUTDOWN
                    (SUSPENDED with a saved state); reap directories whose
                    instance the database does not know
=================== ===============================================================

``set_admin_password`` raises ``NotSupported`` (no guest agent; Nova's libvirt needs
``qemu-guest-agent`` too).

A lost QMP monitor (its socket gone, another client on it) is tried again once per
verb; if it stays lost the verb raises ``MonitorUnreachable`` and the instance keeps its
last known power state (the guest still runs; ``destroy`` ends it by its pid).

The free guest (``GuestImage``) boots its PVH ``vmlinux`` + initramfs directly with
``root=/dev/vda`` on the overlay and ``hostname=`` on the command line; so does any disk
that is a bare ext2/3/4 file system (its snapshots, shelved disks: no BIOS could boot
them). Any other image boots from its disk through SeaBIOS.

Power-state watcher: each QEMU has a task that follows its QMP event stream and checks
every ``poll_interval`` (0.5 s) that the process is still alive; a change of power state
(a guest that powers itself off, a killed process, a pause) goes to the callback set with
``set_power_listener`` as ``(uuid, PowerState)``, in order, from one dispatcher task.

At most ``boot_concurrency`` (2) guests boot at once: a boot slot is taken before QEMU
starts and given back when the free guest prints ``GUEST-READY`` (other images: after
``boot_grace`` seconds), or when the process ends. Everything runs on the event loop of the
caller; ``qemu-img`` runs as an asyncio subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from backends.base import (
    BackendError,
    Diagnostics,
    HostInfo,
    HostUnavailable,
    InstanceExists,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    NotSupported,
    PowerState,
    SpawnFailed,
)
from backends.qemu import states
from backends.qemu.guest import GuestImage
from backends.qemu.process import (
    QEMU_BINARY,
    InstancePaths,
    MachineConfig,
    ProcessError,
    ProcessManager,
    QemuProcess,
)
from backends.qemu.qmp import Monitor, MonitorDisconnected, MonitorError, MonitorTimeout

log = logging.getLogger(__name__)

PowerListener = Callable[[str, PowerState], Awaitable[None]]

#: The free guest prints this once its userspace is up (``backends.qemu.guest``).
READY_MARKER = "GUEST-READY"
#: Console output of earlier QEMU processes of an instance (QEMU truncates its
#: ``-serial file:`` on start, so the log is carried over before a restart).
PREVIOUS_CONSOLE = "console.prev.log"
#: What spawn recorded of the instance's boot (for a restart after an emulator restart).
BOOT_RECORD = "boot.json"
#: The smallest guest RAM the free guest's kernel boots with (the reference: ~80 MiB).
MIN_MEMORY_MB = 128
#: Files of an instance directory that only some states have.
SUSPEND_STATE = "suspend.state"         # the guest's memory saved by suspend
PRE_RESIZE_DISK = "disk.pre-resize.qcow2"  # the disk before a resize (revert restores it)
RESIZE_RECORD = "resize.json"           # whether the guest ran before the resize
RESCUED_DISK = "disk.rescued.qcow2"     # the server's own disk while rescued
SNAPSHOT_FILE = "snapshot.qcow2"        # a snapshot being taken
#: Under the run directory: flattened disks of offloaded (shelved) instances.
SHELVED_DIR = ".shelved"
#: ext2/3/4 superblock magic, at byte 1080 of a disk that is a bare file system.
_EXT_MAGIC_OFFSET, _EXT_MAGIC = 1080, b"\x53\xef"


class InvalidPowerState(BackendError):
    """The guest is not in a power state the verb can start from."""


class MonitorUnreachable(BackendError):
    """The guest's QEMU runs but its QMP monitor cannot be reached."""


class ResizeError(BackendError):
    """Nova's ``ResizeError``."""


class ImageUnacceptable(BackendError):
    """Nova's ``ImageUnacceptable``: QEMU cannot (or must not) open the image."""


@dataclass
class _Vm:
    """What the backend holds of one instance."""

    spec: InstanceSpec
    config: MachineConfig
    paths: InstancePaths
    process: QemuProcess | None = None
    power: PowerState = PowerState.NOSTATE
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    watcher: asyncio.Task[None] | None = None
    booting: asyncio.Task[None] | None = None  # holds a boot slot until the guest is up
    #: The image its disk was made from and whether it boots the free guest's kernel.
    image: Path | None = None
    kernel_boot: bool = False


def _meminfo_mb() -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    return 0


def _safe_hostname(hostname: str) -> str:
    """A hostname that is one word of the kernel command line."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]", "-", hostname).strip("-.")[:63]
    return cleaned or "guest"


def _mac(spec: InstanceSpec) -> str:
    for _net, _address, mac in spec.addresses:
        if re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", mac):
            return mac.lower()
    digest = hashlib.sha256(spec.uuid.encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


#: Power state -> the diagnostics' ``state`` (Nova's ``diagnostics`` states).
_DIAGNOSTIC_STATES: Mapping[PowerState, str] = {
    PowerState.RUNNING: "running", PowerState.PAUSED: "paused",
    PowerState.SHUTDOWN: "shutdown", PowerState.CRASHED: "crashed",
    PowerState.SUSPENDED: "suspended", PowerState.NOSTATE: "pending",
}


def _stat_fields(path: str) -> list[str]:
    """The fields of a /proc ``stat`` file after the command name (field 3 first)."""
    with contextlib.suppress(OSError):
        text = Path(path).read_text()
        return text[text.rindex(")") + 2:].split()
    return []


def _thread_cpu_ns(pid: int, thread: object) -> int | None:
    """CPU time (user + system) of one vCPU thread of QEMU, in nanoseconds."""
    if not isinstance(thread, int):
        return None
    fields = _stat_fields(f"/proc/{pid}/task/{thread}/stat")
    if len(fields) < 13:
        return None
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _process_uptime(pid: int) -> int | None:
    """Seconds since QEMU started (from /proc)."""
    fields = _stat_fields(f"/proc/{pid}/stat")
    if len(fields) < 20:
        return None
    with contextlib.suppress(OSError, ValueError):
        booted = float(Path("/proc/uptime").read_text().split()[0])
        return max(0, int(booted - int(fields[19]) / os.sysconf("SC_CLK_TCK")))
    return None


def _process_rss_mb(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return None


async def _qemu_img(*args: str) -> str:
    try:
        proc = await asyncio.create_subprocess_exec(
            "qemu-img", *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as err:
        raise ProcessError(f"cannot run qemu-img: {err}") from err
    out, err_out = await proc.communicate()
    if proc.returncode != 0:
        raise ProcessError(f"qemu-img {args[0]} failed: "
                           f"{err_out.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


async def _image_info(path: Path) -> tuple[str, int]:
    """(format, virtual size in bytes) of a disk image."""
    info = json.loads(await _qemu_img("info", "-U", "--output=json", str(path)))
    return str(info.get("format", "raw")), int(info.get("virtual-size", 0))


class QemuBackend:
    """The ``ComputeBackend`` of real QEMU guests on this machine (see the module doc)."""

    name = "qemu"
    #: No guest agent in the free guest (and none asked of other images).
    guest_agent = False

    def __init__(
        self,
        run_dir: Path | str,
        guest: GuestImage | None = None,
        images: Mapping[str, Path | str] | None = None,
        *,
        host_name: str | None = None,
        availability_zone: str = "nova",
        vcpus: int = 0,
        memory_mb: int = 0,
        local_gb: int = 0,
        reserved_host_memory_mb: int = 0,
        cpu_allocation_ratio: float = 4.0,
        ram_allocation_ratio: float = 1.0,
        disk_allocation_ratio: float = 1.0,
        shutdown_timeout: float = 60.0,
        boot_timeout: float = 60.0,
        boot_concurrency: int = 2,
        boot_grace: float = 10.0,
        poll_interval: float = 0.5,
        accel: str = "tcg",
        binary: str = QEMU_BINARY,
        die_with_parent: bool = False,
        ephemeral: bool = False,
    ) -> None:
        self.run_dir = Path(run_dir).absolute()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.guest = guest
        #: image id -> its file; any mapping (e.g. one reading an image store lazily).
        self.images: Mapping[str, Path | str] = {} if images is None else images
        self.shutdown_timeout = shutdown_timeout
        self.boot_timeout = boot_timeout
        self.boot_grace = boot_grace
        self.poll_interval = poll_interval
        self.accel = accel
        #: Guests end with the backend (``close``): nobody could re-adopt them.
        self.ephemeral = ephemeral
        self.manager = ProcessManager(self.run_dir, binary=binary,
                                      die_with_parent=die_with_parent)
        self._boot_concurrency = max(1, boot_concurrency)
        self._boot_slots: asyncio.Semaphore | None = None
        self._vms: dict[str, _Vm] = {}
        self._spawning: set[str] = set()
        self._listener: PowerListener | None = None
        self._events: asyncio.Queue[tuple[str, PowerState]] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        # NOTE: as Nova's libvirt driver, the inventory is the machine's (or configured),
        # reserved memory taken off (Nova reports it as reserved; the scheduler here sees
        # only what is left).
        disk_gb = shutil.disk_usage(self.run_dir).total // 2**30
        memory = (memory_mb or _meminfo_mb()) - reserved_host_memory_mb
        self._host = HostInfo(
            name=host_name or socket.gethostname(), availability_zone=availability_zone,
            hypervisor_type="QEMU", vcpus=vcpus or os.cpu_count() or 1,
            memory_mb=max(0, memory), local_gb=local_gb or int(disk_gb),
            cpu_allocation_ratio=cpu_allocation_ratio,
            ram_allocation_ratio=ram_allocation_ratio,
            disk_allocation_ratio=disk_allocation_ratio)

    # --- host, listener, shutdown of the backend itself ---------------------------------

    def hosts(self) -> list[HostInfo]:
        return [self._host]

    def set_power_listener(self, callback: PowerListener | None) -> None:
        """``callback(uuid, power_state)`` is awaited on every observed change of an
        instance's power state (one at a time, in order); None unsubscribes."""
        self._listener = callback

    async def close(self) -> None:
        """Stop watching (guests keep running: a later backend ``recover``s them); when
        ``ephemeral``, end every guest of the run directory and remove its files (a state
        that does not outlive the process: nobody could re-adopt them)."""
        if self.ephemeral:
            for vm in list(self._vms.values()):
                with contextlib.suppress(BackendError):
                    await self.destroy(vm.spec)
            await self._reap(set())
            shutil.rmtree(self.run_dir / SHELVED_DIR, ignore_errors=True)
        for vm in self._vms.values():
            await self._unwatch(vm)
            self._end_boot(vm)
            if vm.process is not None:
                await vm.process.monitor.disconnect()
        self._vms.clear()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        self._events = None

    # --- the seam: lifecycle ---------------------------------------------------------------

    async def spawn(self, instance: InstanceSpec) -> None:
        await self._spawn(instance, None)

    async def _spawn(self, instance: InstanceSpec, image: Path | None,
                     adopt_disk: bool = False) -> None:
        """Build ``instance`` on a new overlay of ``image`` (default: its Glance image), or
        with ``adopt_disk`` on ``image`` itself, moved in as its disk (an unshelve; moved
        back if the build fails)."""
        if instance.host != self._host.name:
            raise HostUnavailable(f"Compute host {instance.host} is not available.")
        uuid = instance.uuid
        if uuid in self._vms or uuid in self._spawning:
            raise InstanceExists(f"Instance {uuid} already exists.")
        self._spawning.add(uuid)
        vm: _Vm | None = None
        try:
            try:
                paths = self.manager.paths(uuid)
            except ProcessError as err:
                raise SpawnFailed(str(err)) from err
            if self.manager.running_pid(uuid) is not None:
                raise InstanceExists(f"Instance {uuid} already exists.")
            if image is None:
                image = self._image_path(instance)
            vm = _Vm(instance, self._config(instance, image, False), paths, image=image)
            try:
                shutil.rmtree(paths.root, ignore_errors=True)  # leftovers of an old one
                paths.root.mkdir(parents=True)
                if adopt_disk:
                    os.replace(image, paths.disk)
                else:
                    await self._create_disk(instance, image, paths.disk)
                await self._boot_from(vm, paths.disk if adopt_disk else image)
                await self._start(vm)
            except BackendError as err:
                self._give_back(vm, image, adopt_disk)
                await self._discard(vm)
                if isinstance(err, SpawnFailed):
                    raise
                raise SpawnFailed(f"Build of instance {uuid} aborted: {err}") from err
            except OSError as err:
                self._give_back(vm, image, adopt_disk)
                await self._discard(vm)
                raise SpawnFailed(f"Build of instance {uuid} aborted: {err}") from err
            except asyncio.CancelledError:  # nothing may outlive a cancelled build
                self._give_back(vm, image, adopt_disk)
                await self._discard(vm)
                raise
            self._vms[uuid] = vm
        finally:
            self._spawning.discard(uuid)

    async def destroy(self, instance: InstanceSpec) -> None:
        with contextlib.suppress(OSError, ProcessError):
            self._shelved(instance.uuid).unlink(missing_ok=True)
        vm = self._vms.pop(instance.uuid, None)
        if vm is None:
            # not ours (or left by a crash): stop whatever runs there and clean up
            with contextlib.suppress(ProcessError):
                paths = self.manager.paths(instance.uuid)
                if paths.root.exists():
                    process = await self._adopt(instance.uuid)
                    if process is not None:
                        await process.stop()
                    shutil.rmtree(paths.root, ignore_errors=True)
            return
        async with self._busy(vm):
            await self._discard(vm)

    async def get_info(self, instance: InstanceSpec) -> InstanceInfo:
        vm = self._vm(instance)
        return InstanceInfo(power_state=await self._query_power(vm))

    async def power_off(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            await self._power_off(vm)

    async def power_on(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            process = await self._process(vm)
            if process is None:
                await self._start(vm)
                return
            status = await process.monitor.status()
            if status == "running":
                return
            if status == "shutdown":
                await process.monitor.execute("system_reset")
            await self._cont(vm, process)

    async def reboot_hard(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            await self._reboot_hard(vm)

    async def reboot_soft(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            process = await self._process(vm)
            if process is None or await process.monitor.status() != "running":
                await self._reboot_hard(vm)
                return
            if await self._acpi_powerdown(process):
                await process.monitor.execute("system_reset")
                await self._cont(vm, process)
            else:
                log.info("%s: no clean shutdown within %g s; hard reboot",
                         vm.spec.uuid, self.shutdown_timeout)
                await self._reboot_hard(vm)

    async def pause(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            process = await self._require_live(vm)
            status = await process.monitor.status()
            if status == "paused":
                return
            if status != "running":
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not running ({status}).")
            await process.monitor.execute_and_wait("stop", None, "STOP", self.boot_timeout)
            self._observe(vm, PowerState.PAUSED)

    async def unpause(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            process = await self._require_live(vm)
            status = await process.monitor.status()
            if status == "running":
                return
            if status != "paused":
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not paused ({status}).")
            await self._cont(vm, process)

    async def trigger_crash_dump(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            process = await self._require_live(vm)
            await process.monitor.execute("inject-nmi")

    async def get_console_output(self, instance: InstanceSpec) -> str:
        vm = self._vms.get(instance.uuid)
        if vm is None:
            raise InstanceNotFound(f"Instance {instance.uuid} could not be found.")
        return await asyncio.to_thread(self._read_console, vm.paths)

    async def get_vnc_socket(self, instance: InstanceSpec) -> str:
        vm = self._vm(instance)
        process = await self._require_live(vm)
        return str(process.paths.vnc_sock)

    async def recover(
        self, instances: Sequence[tuple[InstanceSpec, PowerState]]
    ) -> dict[str, PowerState]:
        """Adopt each instance's QEMU from its pid file and socket; an instance whose
        directory is left but whose process is gone is SHUTDOWN (``power_on`` starts it
        again on its disk; SUSPENDED with a saved state); one with no directory is
        NOSTATE. Then reap: every other instance directory (its server is gone) is
        stopped and removed, as Nova's ``_cleanup_running_deleted_instances`` reaps."""
        found: dict[str, PowerState] = {}
        for spec, _recorded in instances:
            if spec.uuid in self._vms:
                found[spec.uuid] = await self._query_power(self._vms[spec.uuid])
                continue
            try:
                paths = self.manager.paths(spec.uuid)
            except ProcessError:
                found[spec.uuid] = PowerState.NOSTATE
                continue
            if not paths.disk.exists():
                found[spec.uuid] = PowerState.NOSTATE
                continue
            image, kernel_boot = self._boot_record(spec, paths)
            rescued = paths.root / RESCUED_DISK
            vm = _Vm(spec, self._config(spec, image, kernel_boot,
                                        rescued if rescued.exists() else None),
                     paths, image=image, kernel_boot=kernel_boot)
            self._vms[spec.uuid] = vm
            process = await self._adopt(spec.uuid)
            if process is not None:
                vm.process = process
                if process.monitor.connected:
                    self._watch(vm, process)
            vm.power = _recorded if process is not None and not process.monitor.connected \
                else await self._query_power(vm)
            found[spec.uuid] = vm.power
        await self._reap({spec.uuid for spec, _ in instances})
        return found

    async def _reap(self, keep: set[str]) -> None:
        """Stop and remove every instance directory not in ``keep`` (nor ours)."""
        for entry in sorted(self.run_dir.iterdir()):
            name = entry.name
            if name.startswith(".") or not entry.is_dir() or name in keep or name in self._vms:
                continue
            with contextlib.suppress(ProcessError):
                process = await self._adopt(name)
                if process is not None:
                    log.info("%s: reaping the QEMU of a server that no longer exists", name)
                    await process.stop()
                shutil.rmtree(entry, ignore_errors=True)

    def _boot_record(self, spec: InstanceSpec, paths: InstancePaths) -> tuple[Path | None, bool]:
        """(image, kernel boot) as spawn recorded them; else the spec's image."""
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            record = json.loads((paths.root / BOOT_RECORD).read_text())
            return Path(record["image"]), bool(record["kernel_boot"])
        try:
            image = self._image_path(spec)
        except SpawnFailed:
            return None, False
        return image, self._is_free_guest(image)

    # --- the seam: state saved to files, disks replaced ---------------------------------

    async def suspend(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            process = await self._require_live(vm)
            status = await process.monitor.status()
            if status not in ("running", "paused"):
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not running ({status}).")
            if status == "running":
                await process.monitor.execute_and_wait("stop", None, "STOP", self.boot_timeout)
            target = vm.paths.root / SUSPEND_STATE
            partial = target.with_suffix(".part")
            await self._migrate(process, "migrate", partial, os.O_WRONLY | os.O_CREAT
                                | os.O_TRUNC)
            os.replace(partial, target)
            await self._halt(vm)
            self._observe(vm, PowerState.SUSPENDED)

    async def resume(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            saved = vm.paths.root / SUSPEND_STATE
            if await self._process(vm) is not None or not saved.exists():
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not suspended.")
            await self._start(vm, incoming=True)
            process = await self._require_live(vm)
            await self._migrate(process, "migrate-incoming", saved, os.O_RDONLY)
            await self._settled(process, "paused", self.boot_timeout)
            await self._cont(vm, process)
            saved.unlink(missing_ok=True)

    async def _migrate(self, process: QemuProcess, command: str, path: Path,
                       flags: int) -> None:
        """Migrate the guest's state to (``migrate``) or from (``migrate-incoming``) the
        file ``path``, passed to QEMU as an open fd; return once the migration completed.
        (QEMU 7.2 has no ``file:`` URI; the fd needs no shell.)"""
        monitor = process.monitor
        await monitor.execute("migrate-set-capabilities", {"capabilities": [
            {"capability": "events", "state": True}]})
        fd = os.open(path, flags, 0o600)
        try:
            await monitor.send_fd(fd, "state")
        finally:
            os.close(fd)
        # NOTE: query-migrate can report an earlier migration's "completed" (the reference's
        # pitfall 8); the MIGRATION events of this one are the truth.
        ended = {"completed", "failed", "cancelled"}
        with monitor.listen("MIGRATION", lambda e: e.data.get("status") in ended) as waiter:
            await monitor.execute(command, {"uri": "fd:state"})
            event = await waiter.wait(self.boot_timeout)
        if event.data.get("status") != "completed":
            raise BackendError(f"{command} of instance {process.name} "
                               f"{event.data.get('status')}: {self._last_words(process)}")

    @staticmethod
    def _last_words(process: QemuProcess) -> str:
        with contextlib.suppress(OSError):
            lines = process.paths.log_file.read_text(errors="replace").strip().splitlines()
            return lines[-1] if lines else ""
        return ""

    async def snapshot(self, instance: InstanceSpec) -> bytes:
        vm = self._vm(instance)
        async with self._busy(vm):
            target = vm.paths.root / SNAPSHOT_FILE
            target.unlink(missing_ok=True)
            try:
                process = await self._process(vm)
                if process is not None:
                    job = f"snap-{time.monotonic_ns()}"
                    with process.monitor.listen(
                            ["BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED"],
                            lambda e: e.data.get("device") == job) as waiter:
                        await process.monitor.execute("drive-backup", {
                            "device": "root", "job-id": job, "target": str(target),
                            "sync": "full", "format": "qcow2"})
                        event = await waiter.wait(self.boot_timeout * 5)
                    if event.name != "BLOCK_JOB_COMPLETED" or event.data.get("error"):
                        raise BackendError(f"Snapshot of instance {vm.spec.uuid} failed: "
                                           f"{event.data.get('error', 'cancelled')}")
                else:
                    await _qemu_img("convert", "-O", "qcow2", str(vm.paths.disk),
                                    str(target))
                return await asyncio.to_thread(target.read_bytes)
            finally:
                target.unlink(missing_ok=True)

    async def rebuild(self, instance: InstanceSpec, power_on: bool) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            image = self._image_path(instance)
            await self._power_off(vm)  # NOTE: Nova powers off cleanly first, with its timeout
            await self._halt(vm)
            for name in (SUSPEND_STATE, PRE_RESIZE_DISK, RESIZE_RECORD, RESCUED_DISK):
                (vm.paths.root / name).unlink(missing_ok=True)
            vm.paths.disk.unlink(missing_ok=True)
            await self._create_disk(instance, image, vm.paths.disk)
            vm.spec = instance
            await self._boot_from(vm, image)
            if power_on:
                await self._start(vm)
            else:
                self._observe(vm, PowerState.SHUTDOWN)

    async def resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        # NOTE: as Nova's libvirt driver, refused before anything moves.
        if instance.root_gb < previous.root_gb or instance.ephemeral_gb < previous.ephemeral_gb:
            raise ResizeError("Resize error: Unable to resize disk down.")
        if instance.host != self._host.name:
            raise HostUnavailable(f"Compute host {instance.host} is not available.")
        vm = self._vm(instance)
        async with self._busy(vm):
            ran = await self._query_power(vm) == PowerState.RUNNING
            await self._power_off(vm)
            await self._halt(vm)
            kept = vm.paths.root / PRE_RESIZE_DISK
            if not kept.exists():  # a resize after a resize keeps the first disk
                await asyncio.to_thread(shutil.copyfile, vm.paths.disk, kept)
                (vm.paths.root / RESIZE_RECORD).write_text(json.dumps({"ran": ran}) + "\n")
            _fmt, size = await _image_info(vm.paths.disk)
            if instance.root_gb * 2**30 > size:
                await _qemu_img("resize", "-q", str(vm.paths.disk), str(instance.root_gb * 2**30))
            vm.spec = instance
            vm.config = self._config(instance, vm.image, vm.kernel_boot)
            if ran:
                await self._start(vm)
            else:
                self._observe(vm, PowerState.SHUTDOWN)

    async def confirm_resize(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            for name in (PRE_RESIZE_DISK, RESIZE_RECORD):
                (vm.paths.root / name).unlink(missing_ok=True)

    async def revert_resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            kept = vm.paths.root / PRE_RESIZE_DISK
            if not kept.exists():
                raise ResizeError(f"Instance {vm.spec.uuid} has no resize to revert.")
            ran = True
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                ran = bool(json.loads((vm.paths.root / RESIZE_RECORD).read_text())["ran"])
            await self._halt(vm)  # NOTE: Nova's revert destroys the resized guest (no ACPI)
            os.replace(kept, vm.paths.disk)
            (vm.paths.root / RESIZE_RECORD).unlink(missing_ok=True)
            vm.spec = previous
            vm.config = self._config(previous, vm.image, vm.kernel_boot)
            if ran:
                await self._start(vm)
            else:
                self._observe(vm, PowerState.SHUTDOWN)

    async def rescue(self, instance: InstanceSpec, password: str,
                     rescue_image_id: str | None = None) -> None:
        """Boot the rescue image (default: the instance's own, as Nova's) on a new overlay,
        with the server's own disk attached as the second disk (``/dev/vdb``)."""
        vm = self._vm(instance)
        async with self._busy(vm):
            rescued = vm.paths.root / RESCUED_DISK
            if rescued.exists():
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is already rescued.")
            image = self._image_path(replace(instance, image_id=rescue_image_id)
                                     if rescue_image_id else instance)
            await self._power_off(vm)
            await self._halt(vm)
            (vm.paths.root / SUSPEND_STATE).unlink(missing_ok=True)
            os.replace(vm.paths.disk, rescued)
            try:
                await self._create_disk(instance, image, vm.paths.disk)
                kernel_boot = await self._kernel_boot(image)
            except BackendError:
                os.replace(rescued, vm.paths.disk)
                raise
            vm.config = self._config(instance, image, kernel_boot, extra_disk=rescued)
            await self._start(vm)

    async def unrescue(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            rescued = vm.paths.root / RESCUED_DISK
            if not rescued.exists():
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not rescued.")
            await self._halt(vm)  # NOTE: Nova's libvirt unrescue destroys the rescue guest
            os.replace(rescued, vm.paths.disk)
            vm.config = self._config(vm.spec, vm.image, vm.kernel_boot)
            await self._start(vm)

    async def shelve(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            await self._power_off(vm)
            await self._halt(vm)
            self._observe(vm, PowerState.SHUTDOWN)

    async def shelve_offload(self, instance: InstanceSpec) -> None:
        """Flatten the disk to the shelved store (Nova's shelve snapshot), then remove
        everything of the instance from the host."""
        vm = self._vm(instance)
        async with self._busy(vm):
            await self._halt(vm)
            target = self._shelved(instance.uuid)
            target.parent.mkdir(exist_ok=True)
            partial = target.with_suffix(".part")
            await _qemu_img("convert", "-O", "qcow2", str(vm.paths.disk), str(partial))
            os.replace(partial, target)
            await self._discard(vm)
            self._vms.pop(instance.uuid, None)

    async def unshelve(self, instance: InstanceSpec) -> None:
        vm = self._vms.get(instance.uuid)
        if vm is not None:  # shelved, not offloaded: start it where it is
            await self.power_on(instance)
            return
        shelved = self._shelved(instance.uuid)
        if not shelved.exists():
            raise SpawnFailed(f"Instance {instance.uuid} has no shelved disk to unshelve.")
        await self._spawn(instance, shelved, adopt_disk=True)

    async def soft_delete(self, instance: InstanceSpec) -> None:
        # NOTE: Nova's libvirt has no soft_delete: the manager calls power_off() with no
        # timeout, i.e. a hard stop.
        vm = self._vm(instance)
        async with self._busy(vm):
            await self._halt(vm)
            self._observe(vm, PowerState.SHUTDOWN)

    async def restore(self, instance: InstanceSpec) -> None:
        await self.power_on(instance)

    async def set_admin_password(self, instance: InstanceSpec, password: str) -> None:
        raise NotSupported("set_admin_password is not supported by the QEMU backend "
                           "(no guest agent).")

    async def get_diagnostics(self, instance: InstanceSpec) -> Diagnostics:
        vm = self._vm(instance)
        process = await self._process(vm)
        power = await self._query_power(vm)
        state = _DIAGNOSTIC_STATES.get(power, "pending")
        memory = vm.config.memory_mb
        if process is None:
            return Diagnostics(state=state, driver="libvirt", hypervisor="qemu",
                               hypervisor_os="linux", uptime=None,
                               config_drive=instance.config_drive, memory_maximum=memory,
                               nic_details=({"mac_address": vm.config.mac, "rx_octets": None,
                                             "rx_errors": None, "rx_drop": None,
                                             "rx_packets": None, "rx_rate": None,
                                             "tx_octets": None, "tx_errors": None,
                                             "tx_drop": None, "tx_packets": None,
                                             "tx_rate": None},),
                               legacy={"memory": memory * 1024})
        cpus = await process.monitor.execute("query-cpus-fast")
        blocks = await process.monitor.execute("query-blockstats")
        cpu_details = tuple(
            {"id": int(cpu.get("cpu-index", i)),
             "time": _thread_cpu_ns(process.pid, cpu.get("thread-id")),
             "utilisation": None}
            for i, cpu in enumerate(cpus if isinstance(cpus, list) else []))
        disk_details: list[dict[str, int | None]] = []
        legacy: dict[str, int] = {"memory": memory * 1024}
        for device in blocks if isinstance(blocks, list) else []:
            stats = device.get("stats", {})
            name = str(device.get("qdev") or device.get("node-name") or "disk")
            disk_details.append({"read_bytes": stats.get("rd_bytes"),
                                 "read_requests": stats.get("rd_operations"),
                                 "write_bytes": stats.get("wr_bytes"),
                                 "write_requests": stats.get("wr_operations"),
                                 "errors_count": stats.get("failed_rd_operations", 0)
                                 + stats.get("failed_wr_operations", 0)})
            short = "vda" if "rootdisk" in name else "vdb"
            legacy[f"{short}_read"] = int(stats.get("rd_bytes", 0))
            legacy[f"{short}_read_req"] = int(stats.get("rd_operations", 0))
            legacy[f"{short}_write"] = int(stats.get("wr_bytes", 0))
            legacy[f"{short}_write_req"] = int(stats.get("wr_operations", 0))
        for detail in cpu_details:
            legacy[f"cpu{detail['id']}_time"] = int(detail["time"] or 0)
        return Diagnostics(
            state=state, driver="libvirt", hypervisor="qemu", hypervisor_os="linux",
            uptime=_process_uptime(process.pid), config_drive=instance.config_drive,
            cpu_details=cpu_details,
            # NOTE: user-mode networking keeps no counters QMP can read (libvirt reads tap
            # devices); the NIC is listed with its MAC only.
            nic_details=({"mac_address": vm.config.mac, "rx_octets": None, "rx_errors": None,
                          "rx_drop": None, "rx_packets": None, "rx_rate": None,
                          "tx_octets": None, "tx_errors": None, "tx_drop": None,
                          "tx_packets": None, "tx_rate": None},),
            disk_details=tuple(disk_details), memory_maximum=memory,
            memory_used=_process_rss_mb(process.pid), legacy=legacy)

    # --- helpers: instances, images, disks -----------------------------------------------------

    def _vm(self, instance: InstanceSpec) -> _Vm:
        try:
            return self._vms[instance.uuid]
        except KeyError:
            raise InstanceNotFound(f"Instance {instance.uuid} could not be found.") from None

    def _image_path(self, spec: InstanceSpec) -> Path:
        if spec.image_id is None:
            if self.guest is None:
                raise SpawnFailed(f"Instance {spec.uuid} has no image to boot from.")
            return self.guest.base_qcow2
        found = self.images.get(spec.image_id)
        path = None if found is None else Path(found)
        if path is None or not path.is_file():
            raise SpawnFailed(f"Image {spec.image_id} is not available on the QEMU host.")
        return path

    def _is_free_guest(self, image: Path | None) -> bool:
        if self.guest is None or image is None:
            return False
        with contextlib.suppress(OSError):
            return image.resolve() == self.guest.base_qcow2.resolve()
        return False

    async def _kernel_boot(self, image: Path) -> bool:
        """Whether ``image`` boots the free guest's kernel: it is the free guest, or a disk
        that is a bare ext2/3/4 file system (a snapshot of one; no BIOS boots those)."""
        if self.guest is None:
            return False
        if self._is_free_guest(image):
            return True
        fmt, _size = await _image_info(image)
        with tempfile.TemporaryDirectory(dir=self.run_dir) as scratch:
            head = Path(scratch) / "head"
            await _qemu_img("dd", "-f", fmt, "-O", "raw", "bs=2048", "count=1",
                            f"if={image}", f"of={head}")
            data = await asyncio.to_thread(head.read_bytes)
        return data[_EXT_MAGIC_OFFSET:_EXT_MAGIC_OFFSET + 2] == _EXT_MAGIC

    async def _boot_from(self, vm: _Vm, image: Path) -> None:
        """Configure ``vm`` to boot its disk made from ``image``, and record how."""
        vm.image = image
        vm.kernel_boot = await self._kernel_boot(image)
        vm.config = self._config(vm.spec, image, vm.kernel_boot)
        (vm.paths.root / BOOT_RECORD).write_text(json.dumps(
            {"image": str(image), "kernel_boot": vm.kernel_boot}) + "\n")

    @staticmethod
    def _give_back(vm: _Vm, image: Path, adopt_disk: bool) -> None:
        """After a failed unshelve: the shelved disk goes back where it was."""
        if adopt_disk and vm.paths.disk.exists() and not image.exists():
            with contextlib.suppress(OSError):
                os.replace(vm.paths.disk, image)

    def _shelved(self, uuid: str) -> Path:
        if not uuid or "/" in uuid or uuid.startswith("."):
            raise ProcessError(f"invalid instance name {uuid!r}")
        return self.run_dir / SHELVED_DIR / f"{uuid}.qcow2"

    def _config(self, spec: InstanceSpec, image: Path | None, kernel_boot: bool,
                extra_disk: Path | None = None) -> MachineConfig:
        """The machine of ``spec`` on its disk (an overlay of ``image``); ``extra_disk``
        is attached second (``/dev/vdb``: the server's own disk while rescued)."""
        guest = self.guest if kernel_boot else None
        append = None
        if guest is not None:
            append = (f"console=ttyS0 quiet no_timer_check "
                      f"hostname={_safe_hostname(spec.hostname)} root=/dev/vda")
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
            base_image=image, mac=_mac(spec), accel=self.accel, extra_args=extra)

    @staticmethod
    async def _create_disk(spec: InstanceSpec, image: Path, target: Path) -> None:
        """A qcow2 overlay on ``image`` (qcow2 or raw), grown to the flavor's root disk.
        An image QEMU cannot open, or one that refers to other files of the host (a
        backing or data file: Nova's image safety check), is ``SpawnFailed`` in Nova's
        words: "Image <id> is unacceptable: <reason>"."""
        name = spec.image_id or image.name
        try:
            info = json.loads(await _qemu_img("info", "-U", "--output=json", str(image)))
        except ProcessError as err:
            reason = str(err).split(": ", 1)[-1].replace(str(image), name)
            raise ImageUnacceptable(f"Image {name} is unacceptable: {reason}") from err
        fmt, size = str(info.get("format", "raw")), int(info.get("virtual-size", 0))
        specific = info.get("format-specific", {}).get("data", {})
        if fmt not in ("raw", "qcow2"):
            raise ImageUnacceptable(f"Image {name} is unacceptable: disk format {fmt} is not "
                              "supported")
        if info.get("backing-filename") or specific.get("data-file"):
            raise ImageUnacceptable(f"Image {name} is unacceptable: it refers to other files "
                              "(a backing or data file)")
        args = ["create", "-q", "-f", "qcow2", "-b", str(image.absolute()), "-F", fmt,
                str(target)]
        wanted = spec.root_gb * 2**30
        if wanted > size:
            args.append(str(wanted))
        await _qemu_img(*args)

    @staticmethod
    def _read_console(paths: InstancePaths) -> str:
        text = ""
        for path in (paths.root / PREVIOUS_CONSOLE, paths.console_log):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")
        return text

    # --- helpers: processes --------------------------------------------------------------------

    async def _process(self, vm: _Vm) -> QemuProcess | None:
        """``vm``'s running QEMU with its monitor connected; None when no QEMU runs.
        A monitor found disconnected is connected again (its socket may be back);
        ``MonitorUnreachable`` when that fails while the process still runs."""
        process = vm.process
        if process is None or not process.is_alive():
            return None
        if process.monitor.connected:
            return process
        if await process.wait(0.2):  # a lost monitor usually means the process is ending
            return None
        try:
            await process.monitor.connect(2.0, gone=lambda: not process.is_alive())
        except MonitorError as err:
            if not process.is_alive():
                return None
            raise MonitorUnreachable(
                f"The QMP monitor of instance {vm.spec.uuid} is unreachable ({err}); its "
                f"QEMU (pid {process.pid}) still runs.") from err
        if vm.watcher is None or vm.watcher.done():
            self._watch(vm, process)
        return process

    async def _require_live(self, vm: _Vm) -> QemuProcess:
        process = await self._process(vm)
        if process is None:
            raise InvalidPowerState(f"Instance {vm.spec.uuid} is not running (shut down).")
        return process

    async def _adopt(self, name: str) -> QemuProcess | None:
        """The QEMU of ``name`` left by an earlier emulator; one whose monitor does not
        answer is kept with its monitor disconnected (verbs say so; destroy kills it)."""
        try:
            return await self.manager.adopt(name)
        except MonitorError as err:
            log.warning("%s: QEMU runs but its monitor does not answer: %s", name, err)
            paths = self.manager.paths(name)
            pid = self.manager.running_pid(name)
            if pid is None:
                return None
            return QemuProcess(name, paths, pid, Monitor(paths.qmp_sock, name))

    async def _halt(self, vm: _Vm) -> None:
        """Stop ``vm``'s QEMU at once (quit, then signals); its files stay."""
        await self._unwatch(vm)
        self._end_boot(vm)
        process, vm.process = vm.process, None
        if process is not None:
            await process.stop()

    async def _start(self, vm: _Vm, incoming: bool = False) -> None:
        """Start QEMU for ``vm`` (keeping its disk and console history) and wait until
        it runs; takes a boot slot, given back once the guest is up. With ``incoming``
        it waits for a migration stream instead (a resume): no boot, no slot. A fresh
        boot forgets a suspended state (as libvirt's hard reboot drops a managed save)."""
        await self._unwatch(vm)
        self._end_boot(vm)
        await asyncio.to_thread(self._carry_console, vm.paths)
        if incoming:
            process = await self._launch(replace(vm.config, incoming=True))
            vm.process = process
            self._watch(vm, process)
            if not await self._settled(process, "inmigrate", self.boot_timeout):
                raise SpawnFailed(f"QEMU {vm.spec.uuid} does not wait for its state.")
            return
        (vm.paths.root / SUSPEND_STATE).unlink(missing_ok=True)
        slots = self._slots()
        await slots.acquire()
        released = False
        try:
            process = await self._launch(vm.config)
            vm.process = process
            self._watch(vm, process)
            deadline = time.monotonic() + self.boot_timeout
            while (status := await self._status(process)) != "running":
                if status is None or time.monotonic() > deadline:
                    raise SpawnFailed(f"QEMU {vm.spec.uuid} is not running "
                                      f"({status or 'exited'}).")
                await asyncio.sleep(0.01)
            self._observe(vm, PowerState.RUNNING)
            vm.booting = asyncio.create_task(self._hold_boot_slot(vm, process, slots))
            released = True
        finally:
            if not released:
                slots.release()

    async def _launch(self, config: MachineConfig) -> QemuProcess:
        try:
            return await self.manager.start(config)
        except InstanceExists:
            raise
        except BackendError as err:
            raise SpawnFailed(str(err)) from err

    async def _hold_boot_slot(self, vm: _Vm, process: QemuProcess,
                              slots: asyncio.Semaphore) -> None:
        """Keep the boot slot until the free guest is ready (or the grace time is over,
        or the process ends)."""
        try:
            free = vm.config.kernel is not None
            limit = self.boot_timeout if free else self.boot_grace
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline and process.is_alive():
                if free and await asyncio.to_thread(self._ready, vm.paths):
                    return
                await asyncio.sleep(0.1)
        finally:
            slots.release()

    @staticmethod
    def _ready(paths: InstancePaths) -> bool:
        with contextlib.suppress(OSError):
            return READY_MARKER in paths.console_log.read_text(errors="replace")
        return False

    def _end_boot(self, vm: _Vm) -> None:
        if vm.booting is not None:
            vm.booting.cancel()  # its finally gives the slot back
            vm.booting = None

    def _slots(self) -> asyncio.Semaphore:
        if self._boot_slots is None:
            self._boot_slots = asyncio.Semaphore(self._boot_concurrency)
        return self._boot_slots

    @staticmethod
    def _carry_console(paths: InstancePaths) -> None:
        """Append the current serial log to the previous ones (QEMU truncates it)."""
        with contextlib.suppress(OSError):
            current = paths.console_log.read_bytes()
            if current:
                with (paths.root / PREVIOUS_CONSOLE).open("ab") as out:
                    out.write(current)
            paths.console_log.unlink(missing_ok=True)

    async def _discard(self, vm: _Vm) -> None:
        """Stop ``vm``'s QEMU and remove its directory and disk."""
        await self._unwatch(vm)
        self._end_boot(vm)
        process, vm.process = vm.process, None
        if process is None:
            process = await self._adopt(vm.spec.uuid)
        if process is not None:
            await process.stop(quit_timeout=5.0)
        shutil.rmtree(vm.paths.root, ignore_errors=True)

    async def _status(self, process: QemuProcess) -> str | None:
        """``query-status``; None when the process is gone."""
        if not process.is_alive():
            return None
        try:
            return await process.monitor.status()
        except MonitorDisconnected:
            if not process.is_alive() or not await self._gone_soon(process):
                return None
            raise

    @staticmethod
    async def _gone_soon(process: QemuProcess) -> bool:
        """Whether the process still runs after a short wait (a lost monitor usually
        means it is exiting)."""
        return not await process.wait(0.5)

    async def _query_power(self, vm: _Vm) -> PowerState:
        """The power state QEMU reports; with no QEMU, SUSPENDED if a saved state waits,
        else SHUTDOWN; with a monitor that stays unreachable, the last one known."""
        try:
            process = await self._process(vm)
        except MonitorUnreachable:
            return vm.power
        status = None if process is None else await self._status(process)
        if status is None:
            saved = (vm.paths.root / SUSPEND_STATE).exists()
            state = PowerState.SUSPENDED if saved else PowerState.SHUTDOWN
        else:
            state = states.power_state(status)
        self._observe(vm, state)
        return state

    async def _cont(self, vm: _Vm, process: QemuProcess) -> None:
        """``cont`` and wait until the status is ``running``."""
        with process.monitor.listen("RESUME") as waiter:
            await process.monitor.execute("cont")
            with contextlib.suppress(MonitorTimeout):
                await waiter.wait(5.0)
        deadline = time.monotonic() + self.boot_timeout
        while (status := await self._status(process)) != "running":
            if status is None or time.monotonic() > deadline:
                raise InvalidPowerState(f"Instance {vm.spec.uuid} did not resume "
                                        f"({status or 'exited'}).")
            await asyncio.sleep(0.01)
        self._observe(vm, PowerState.RUNNING)

    async def _acpi_powerdown(self, process: QemuProcess) -> bool:
        """Press the ACPI power button; whether the guest shut down within the timeout."""
        with process.monitor.listen("SHUTDOWN") as waiter:
            await process.monitor.execute("system_powerdown")
            try:
                await waiter.wait(self.shutdown_timeout)
            except MonitorTimeout:
                return False
            except MonitorDisconnected:
                return not process.is_alive() or not await self._gone_soon(process)
        return True

    async def _power_off(self, vm: _Vm) -> None:
        process = await self._process(vm)
        if process is not None:
            status = await self._status(process)
            if status == "shutdown":
                self._observe(vm, PowerState.SHUTDOWN)
                return
            clean = status == "running" and await self._acpi_powerdown(process)
            if clean and await self._settled(process, "shutdown", 5.0):
                self._observe(vm, PowerState.SHUTDOWN)
                return
            log.info("%s: no clean shutdown within %g s; stopping QEMU",
                     vm.spec.uuid, self.shutdown_timeout)
        await self._unwatch(vm)
        self._end_boot(vm)
        process, vm.process = vm.process, None
        if process is not None:
            await process.stop()
        self._observe(vm, PowerState.SHUTDOWN)

    async def _settled(self, process: QemuProcess, wanted: str, timeout: float) -> bool:
        """Whether the status becomes ``wanted`` (or the process ends) within ``timeout``."""
        deadline = time.monotonic() + timeout
        while await self._status(process) not in (None, wanted):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def _reboot_hard(self, vm: _Vm) -> None:
        process = await self._process(vm)
        if process is None:
            await self._start(vm)
            return
        await process.monitor.execute("system_reset")
        if await self._status(process) != "running":
            await self._cont(vm, process)

    # --- the power-state watcher -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _busy(self, vm: _Vm) -> AsyncIterator[None]:
        """One verb at a time per instance; while it runs the watcher reports nothing but
        a process that ended (the verb's intermediate states are no news), and afterwards
        the state it left is reported."""
        async with vm.lock:
            try:
                yield
            finally:
                if vm.spec.uuid in self._vms:
                    with contextlib.suppress(BackendError):
                        await self._query_power(vm)

    def _observe(self, vm: _Vm, state: PowerState, *, watcher: bool = False) -> None:
        if state == vm.power or (watcher and vm.lock.locked()):
            return
        vm.power = state
        if self._listener is None:
            return
        if self._events is None:
            self._events = asyncio.Queue()
        self._events.put_nowait((vm.spec.uuid, state))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(self._events))

    async def _dispatch(self, queue: asyncio.Queue[tuple[str, PowerState]]) -> None:
        while True:
            uuid, state = await queue.get()
            listener = self._listener
            if listener is None:
                continue
            try:
                await listener(uuid, state)
            except Exception:
                log.exception("power listener failed for %s -> %s", uuid, state.name)

    def _watch(self, vm: _Vm, process: QemuProcess) -> None:
        vm.watcher = asyncio.create_task(self._follow(vm, process),
                                         name=f"qemu-watch-{vm.spec.uuid}")

    async def _unwatch(self, vm: _Vm) -> None:
        """Stop ``vm``'s watcher. NOTE: never waits for ever: Python 3.11's ``wait_for``
        can swallow a cancellation that meets a completing command (gh-86296); the
        watcher also stops by itself once it is no longer ``vm.watcher``."""
        watcher, vm.watcher = vm.watcher, None
        if watcher is None or watcher is asyncio.current_task():
            return
        for _attempt in range(3):
            watcher.cancel()
            await asyncio.wait({watcher}, timeout=self.poll_interval * 2 + 0.5)
            if watcher.done():
                if not watcher.cancelled():
                    watcher.exception()  # logged by _follow itself; taken here
                return
        log.warning("%s: the power-state watcher did not stop", vm.spec.uuid)

    async def _follow(self, vm: _Vm, process: QemuProcess) -> None:
        """Follow ``process``'s events and liveness until it ends; report changes."""
        me = asyncio.current_task()

        def watching() -> bool:  # _watch sets vm.watcher before this task first runs
            return vm.watcher is me

        try:
            if process.monitor.connected:
                with process.monitor.listen(list(states.EVENTS)) as waiter:
                    while process.monitor.connected and watching():
                        try:
                            event = await waiter.wait(self.poll_interval)
                        except MonitorTimeout:
                            if not process.is_alive():
                                break
                            continue
                        except MonitorDisconnected:
                            break
                        # The run state is the truth (a guest power-off sends SHUTDOWN
                        # and then STOP, which is no pause); the event only where the
                        # monitor cannot answer, or where it is ahead of the status.
                        state = states.after_event(event.name)
                        status = await self._status_quietly(process)
                        if status is not None and not (
                                event.name == "SHUTDOWN" and status == "running"):
                            state = states.power_state(status)
                        if state is not None:
                            self._observe(vm, state, watcher=True)
            if not watching():
                return
            while process.is_alive():  # no monitor (an adopted one lost it): poll
                if not watching():
                    return
                await asyncio.sleep(self.poll_interval)
            await process.wait(1.0)  # reap our child
            if vm.process is process:
                vm.process = None
                with contextlib.suppress(OSError):
                    process.paths.pid_file.unlink(missing_ok=True)
                    process.paths.qmp_sock.unlink(missing_ok=True)
                    process.paths.vnc_sock.unlink(missing_ok=True)
                    process.paths.observer_sock.unlink(missing_ok=True)
                with contextlib.suppress(BackendError):
                    await process.monitor.disconnect()
            self._observe(vm, PowerState.SHUTDOWN)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watcher of %s failed", vm.spec.uuid)

    @staticmethod
    async def _status_quietly(process: QemuProcess) -> str | None:
        if not process.is_alive() or not process.monitor.connected:
            return None
        try:
            return await process.monitor.status()
        except MonitorError:
            return None
