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
trigger_crash_dump  ``inject-nmi``
get_console_output  the serial log (earlier runs of the process included)
recover             adopt QEMUs from pid files and sockets; gone -> SHUTDOWN
=================== ===============================================================

Every other verb of the seam raises ``NotSupported`` for now.

The free guest (``GuestImage``) boots its PVH ``vmlinux`` + initramfs directly with
``root=/dev/vda`` on the overlay and ``hostname=`` on the command line; any other image
boots from its disk through SeaBIOS.

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
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
from backends.qemu.qmp import MonitorDisconnected, MonitorError, MonitorTimeout

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


class InvalidPowerState(BackendError):
    """The guest is not in a power state the verb can start from."""


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
        """Stop watching (guests keep running: a later backend ``recover``s them)."""
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
            image = self._image_path(instance)
            config = self._config(instance, image)
            vm = _Vm(instance, config, paths)
            try:
                shutil.rmtree(paths.root, ignore_errors=True)  # leftovers of an old one
                paths.root.mkdir(parents=True)
                await self._create_disk(instance, image, paths.disk)
                (paths.root / BOOT_RECORD).write_text(json.dumps(
                    {"image": str(image), "kernel_boot": config.kernel is not None}) + "\n")
                await self._start(vm)
            except BackendError as err:
                await self._discard(vm)
                if isinstance(err, SpawnFailed):
                    raise
                raise SpawnFailed(f"Build of instance {uuid} aborted: {err}") from err
            except OSError as err:
                await self._discard(vm)
                raise SpawnFailed(f"Build of instance {uuid} aborted: {err}") from err
            except asyncio.CancelledError:  # nothing may outlive a cancelled build
                await self._discard(vm)
                raise
            self._vms[uuid] = vm
        finally:
            self._spawning.discard(uuid)

    async def destroy(self, instance: InstanceSpec) -> None:
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
            process = self._live(vm)
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
            process = self._live(vm)
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
            process = self._require_live(vm)
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
            process = self._require_live(vm)
            status = await process.monitor.status()
            if status == "running":
                return
            if status != "paused":
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not paused ({status}).")
            await self._cont(vm, process)

    async def trigger_crash_dump(self, instance: InstanceSpec) -> None:
        vm = self._vm(instance)
        async with self._busy(vm):
            process = self._require_live(vm)
            await process.monitor.execute("inject-nmi")

    async def get_console_output(self, instance: InstanceSpec) -> str:
        vm = self._vms.get(instance.uuid)
        if vm is None:
            raise InstanceNotFound(f"Instance {instance.uuid} could not be found.")
        return await asyncio.to_thread(self._read_console, vm.paths)

    async def get_vnc_socket(self, instance: InstanceSpec) -> str:
        vm = self._vm(instance)
        process = self._require_live(vm)
        return str(process.paths.vnc_sock)

    async def recover(
        self, instances: Sequence[tuple[InstanceSpec, PowerState]]
    ) -> dict[str, PowerState]:
        """Adopt each instance's QEMU from its pid file and socket; an instance whose
        directory is left but whose process is gone is SHUTDOWN (``power_on`` starts it
        again on its disk); one with no directory is NOSTATE."""
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
            image: Path | None
            try:
                image = self._image_path(spec)
            except SpawnFailed:
                image = self._recorded_image(paths)
            vm = _Vm(spec, self._config(spec, image, recorded=paths), paths)
            self._vms[spec.uuid] = vm
            process = await self._adopt(spec.uuid)
            if process is not None:
                vm.process = process
                self._watch(vm, process)
            vm.power = await self._query_power(vm)
            found[spec.uuid] = vm.power
        return found

    # --- the seam: not (yet) on QEMU ---------------------------------------------------------

    async def suspend(self, instance: InstanceSpec) -> None:
        raise NotSupported("suspend is not supported by the QEMU backend yet.")

    async def resume(self, instance: InstanceSpec) -> None:
        raise NotSupported("resume is not supported by the QEMU backend yet.")

    async def set_admin_password(self, instance: InstanceSpec, password: str) -> None:
        raise NotSupported("set_admin_password is not supported by the QEMU backend.")

    async def rebuild(self, instance: InstanceSpec, power_on: bool) -> None:
        raise NotSupported("rebuild is not supported by the QEMU backend yet.")

    async def resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        raise NotSupported("resize is not supported by the QEMU backend yet.")

    async def confirm_resize(self, instance: InstanceSpec) -> None:
        raise NotSupported("confirm_resize is not supported by the QEMU backend yet.")

    async def revert_resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        raise NotSupported("revert_resize is not supported by the QEMU backend yet.")

    async def snapshot(self, instance: InstanceSpec) -> bytes:
        raise NotSupported("snapshot is not supported by the QEMU backend yet.")

    async def rescue(self, instance: InstanceSpec, password: str) -> None:
        raise NotSupported("rescue is not supported by the QEMU backend yet.")

    async def unrescue(self, instance: InstanceSpec) -> None:
        raise NotSupported("unrescue is not supported by the QEMU backend yet.")

    async def shelve(self, instance: InstanceSpec) -> None:
        raise NotSupported("shelve is not supported by the QEMU backend yet.")

    async def shelve_offload(self, instance: InstanceSpec) -> None:
        raise NotSupported("shelve_offload is not supported by the QEMU backend yet.")

    async def unshelve(self, instance: InstanceSpec) -> None:
        raise NotSupported("unshelve is not supported by the QEMU backend yet.")

    async def soft_delete(self, instance: InstanceSpec) -> None:
        raise NotSupported("soft_delete is not supported by the QEMU backend yet.")

    async def restore(self, instance: InstanceSpec) -> None:
        raise NotSupported("restore is not supported by the QEMU backend yet.")

    async def get_diagnostics(self, instance: InstanceSpec) -> Diagnostics:
        raise NotSupported("get_diagnostics is not supported by the QEMU backend yet.")

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

    @staticmethod
    def _recorded_image(paths: InstancePaths) -> Path | None:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return Path(json.loads((paths.root / BOOT_RECORD).read_text())["image"])
        return None

    def _is_free_guest(self, image: Path | None) -> bool:
        if self.guest is None or image is None:
            return False
        with contextlib.suppress(OSError):
            return image.resolve() == self.guest.base_qcow2.resolve()
        return False

    def _config(self, spec: InstanceSpec, image: Path | None,
                recorded: InstancePaths | None = None) -> MachineConfig:
        kernel_boot = self._is_free_guest(image)
        if image is None and recorded is not None and self.guest is not None:
            with contextlib.suppress(OSError, ValueError, KeyError):
                kernel_boot = bool(json.loads(
                    (recorded.root / BOOT_RECORD).read_text())["kernel_boot"])
        append = None
        if kernel_boot:
            append = (f"console=ttyS0 quiet no_timer_check "
                      f"hostname={_safe_hostname(spec.hostname)} root=/dev/vda")
        guest = self.guest if kernel_boot else None
        return MachineConfig(
            name=spec.uuid, memory_mb=max(MIN_MEMORY_MB, spec.memory_mb),
            vcpus=max(1, spec.vcpus),
            kernel=guest.vmlinux if guest is not None else None,
            initrd=guest.initramfs if guest is not None else None, append=append,
            base_image=image, mac=_mac(spec), accel=self.accel)

    @staticmethod
    async def _create_disk(spec: InstanceSpec, image: Path, target: Path) -> None:
        """A qcow2 overlay on ``image`` (qcow2 or raw), grown to the flavor's root disk."""
        fmt, size = await _image_info(image)
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

    def _live(self, vm: _Vm) -> QemuProcess | None:
        process = vm.process
        if process is None or not process.is_alive() or not process.monitor.connected:
            return None
        return process

    def _require_live(self, vm: _Vm) -> QemuProcess:
        process = self._live(vm)
        if process is None:
            raise InvalidPowerState(f"Instance {vm.spec.uuid} is not running (shut down).")
        return process

    async def _adopt(self, name: str) -> QemuProcess | None:
        try:
            return await self.manager.adopt(name)
        except MonitorError as err:  # alive but the monitor does not answer: stop it
            log.warning("%s: cannot adopt QEMU: %s", name, err)
            return None

    async def _start(self, vm: _Vm) -> None:
        """Start QEMU for ``vm`` (keeping its disk and console history) and wait until
        it runs; takes a boot slot, given back once the guest is up."""
        await self._unwatch(vm)
        self._end_boot(vm)
        await asyncio.to_thread(self._carry_console, vm.paths)
        slots = self._slots()
        await slots.acquire()
        released = False
        try:
            try:
                process = await self.manager.start(vm.config)
            except InstanceExists:
                raise
            except BackendError as err:
                raise SpawnFailed(str(err)) from err
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
        process = vm.process
        if process is None:
            return PowerState.SHUTDOWN
        status = await self._status(process)
        state = PowerState.SHUTDOWN if status is None else states.power_state(status)
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
        process = self._live(vm)
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
        process = self._live(vm)
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
        watcher, vm.watcher = vm.watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _follow(self, vm: _Vm, process: QemuProcess) -> None:
        """Follow ``process``'s events and liveness until it ends; report changes."""
        try:
            if process.monitor.connected:
                with process.monitor.listen(list(states.EVENTS)) as waiter:
                    while process.monitor.connected:
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
            while process.is_alive():  # no monitor (an adopted one lost it): poll
                await asyncio.sleep(self.poll_interval)
            await process.wait(1.0)  # reap our child
            if vm.process is process:
                vm.process = None
                with contextlib.suppress(OSError):
                    process.paths.pid_file.unlink(missing_ok=True)
                    process.paths.qmp_sock.unlink(missing_ok=True)
                    process.paths.vnc_sock.unlink(missing_ok=True)
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
