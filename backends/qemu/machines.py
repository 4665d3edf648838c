"""Each instance's QEMU: started (with a boot slot), stopped, powered off, continued, reset,
and the run state it reports.

A lost QMP monitor (its socket gone, another client on it) is tried again once per call of
``process``; if it stays lost that raises ``MonitorUnreachable`` and the instance keeps
its last known power state (the guest still runs; ``discard`` ends it by its pid). Every
wait has a deadline (``boot_timeout``, ``shutdown_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import replace

from backends.base import BackendError, InstanceExists, PowerState, SpawnFailed
from backends.qemu import states
from backends.qemu.boot_slots import BootSlots
from backends.qemu.device_record import boot_forwards, device_args
from backends.qemu.instance_dir import SUSPEND_STATE, Instance, carry_console
from backends.qemu.process import MachineConfig, ProcessManager, QemuProcess
from backends.qemu.qmp import Monitor, MonitorDisconnected, MonitorError, MonitorTimeout
from backends.qemu.watcher import PowerWatcher

log = logging.getLogger(__name__)


class InvalidPowerState(BackendError):
    """The guest is not in a power state the verb can start from."""


class MonitorUnreachable(BackendError):
    """The guest's QEMU runs but its QMP monitor cannot be reached."""


class Machines:
    def __init__(self, slots: BootSlots, watcher: PowerWatcher, *,
                 boot_timeout: float, shutdown_timeout: float) -> None:
        self.slots = slots
        self.watcher = watcher
        self.boot_timeout = boot_timeout
        self.shutdown_timeout = shutdown_timeout

    # --- finding the process -------------------------------------------------------------

    async def process(self, vm: Instance) -> QemuProcess | None:
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
        if not self.watcher.watching(vm):
            self.watcher.watch(vm, process)
        return process

    async def require_live(self, vm: Instance) -> QemuProcess:
        process = await self.process(vm)
        if process is None:
            raise InvalidPowerState(f"Instance {vm.spec.uuid} is not running (shut down).")
        return process

    @staticmethod
    async def adopt(manager: ProcessManager, name: str) -> QemuProcess | None:
        """The QEMU of ``name`` (in ``manager``'s run directory) left by an earlier
        emulator; one whose monitor does not answer is kept with its monitor disconnected
        (verbs say so; destroy kills it)."""
        try:
            return await manager.adopt(name)
        except MonitorError as err:
            log.warning("%s: QEMU runs but its monitor does not answer: %s", name, err)
            paths = manager.paths(name)
            pid = manager.running_pid(name)
            if pid is None:
                return None
            return QemuProcess(name, paths, pid, Monitor(paths.qmp_sock, name))

    # --- starting and stopping -------------------------------------------------------------

    async def start(self, vm: Instance, incoming: bool = False) -> None:
        """Start QEMU for ``vm`` (keeping its disk and console history) and wait until
        it runs; takes a boot slot, given back once the guest is up. With ``incoming``
        it waits for a migration stream instead (a resume): no boot, no slot. A fresh
        boot forgets a suspended state (as libvirt's hard reboot drops a managed save)."""
        await self.detach(vm)
        await asyncio.to_thread(carry_console, vm.paths)
        if incoming:
            process = await self._launch(vm, replace(vm.config, incoming=True))
            if not await self.settled(process, "inmigrate", self.boot_timeout):
                raise SpawnFailed(f"QEMU {vm.spec.uuid} does not wait for its state.")
            return
        vm.file(SUSPEND_STATE).unlink(missing_ok=True)
        await self.slots.take()
        held = False
        try:
            process = await self._launch(vm, vm.config)
            await self._until_running(vm, process, lambda status: SpawnFailed(
                f"QEMU {vm.spec.uuid} is not running ({status})."))
            self.slots.hold(vm, process)
            held = True
        finally:
            if not held:
                self.slots.give_back()

    async def _launch(self, vm: Instance, config: MachineConfig) -> QemuProcess:
        """Start ``config`` with the volumes and NICs plugged into ``vm`` (``hotplug``),
        its config drive and its addresses forwarded (``reach``)."""
        plugged = device_args(vm.paths.root)
        if plugged:
            config = replace(config, extra_args=(*config.extra_args, *plugged))
        config = replace(config, forwards=boot_forwards(vm.paths.root))
        try:
            process = await vm.host.manager.start(config)
        except InstanceExists:
            raise
        except BackendError as err:
            raise SpawnFailed(str(err)) from err
        vm.process = process
        self.watcher.watch(vm, process)
        return process

    async def halt(self, vm: Instance, quit_timeout: float = 3.0) -> None:
        """Stop ``vm``'s QEMU at once (quit, then signals); its files stay."""
        await self.detach(vm)
        process, vm.process = vm.process, None
        if process is not None:
            await process.stop(quit_timeout=quit_timeout)

    async def discard(self, vm: Instance) -> None:
        """Stop ``vm``'s QEMU (one left by an earlier emulator too) and remove its
        directory and disk."""
        if vm.process is None:
            vm.process = await self.adopt(vm.host.manager, vm.spec.uuid)
        await self.halt(vm, quit_timeout=5.0)
        shutil.rmtree(vm.paths.root, ignore_errors=True)

    async def detach(self, vm: Instance) -> None:
        """Stop following ``vm``'s QEMU and give back its boot slot."""
        await self.watcher.unwatch(vm)
        self.slots.end(vm)

    # --- power -------------------------------------------------------------------------------

    async def power_off(self, vm: Instance) -> None:
        """Nova's clean shutdown: the ACPI power button, up to ``shutdown_timeout``; a
        guest that does not go is stopped hard. Either way its QEMU ends (NOTE: as libvirt
        ends a domain whose guest powered off): no console shows a stopped guest, and
        ``start`` boots a new QEMU on the same disk."""
        process = await self.process(vm)
        if process is not None:
            status = await self.status(process)
            clean = status == "shutdown" or (
                status == "running" and await self.acpi_powerdown(process)
                and await self.settled(process, "shutdown", 5.0))
            if not clean:
                log.info("%s: no clean shutdown within %g s; stopping QEMU",
                         vm.spec.uuid, self.shutdown_timeout)
        await self.halt(vm)
        self.watcher.observe(vm, PowerState.SHUTDOWN)

    async def acpi_powerdown(self, process: QemuProcess) -> bool:
        """Press the ACPI power button; whether the guest shut down within the timeout."""
        with process.monitor.listen("SHUTDOWN") as waiter:
            await process.monitor.execute("system_powerdown")
            try:
                await waiter.wait(self.shutdown_timeout)
            except MonitorTimeout:
                return False
            except MonitorDisconnected:
                return not process.is_alive() or not await _gone_soon(process)
        return True

    async def reboot_hard(self, vm: Instance) -> None:
        process = await self.process(vm)
        if process is None:
            await self.start(vm)
            return
        await process.monitor.execute("system_reset")
        if await self.status(process) != "running":
            await self.cont(vm, process)

    async def cont(self, vm: Instance, process: QemuProcess) -> None:
        """``cont`` and wait until the status is ``running``."""
        with process.monitor.listen("RESUME") as waiter:
            await process.monitor.execute("cont")
            with contextlib.suppress(MonitorTimeout):
                await waiter.wait(5.0)
        await self._until_running(vm, process, lambda status: InvalidPowerState(
            f"Instance {vm.spec.uuid} did not resume ({status})."))

    async def _until_running(self, vm: Instance, process: QemuProcess,
                             failure: Callable[[str], BackendError]) -> None:
        """Wait up to ``boot_timeout`` for the status ``running``; else raise
        ``failure(the status, or 'exited')``."""
        deadline = time.monotonic() + self.boot_timeout
        while (status := await self.status(process)) != "running":
            if status is None or time.monotonic() > deadline:
                raise failure(status or "exited")
            await asyncio.sleep(0.01)
        self.watcher.observe(vm, PowerState.RUNNING)

    # --- the run state -----------------------------------------------------------------------

    async def status(self, process: QemuProcess) -> str | None:
        """``query-status``; None when the process is gone."""
        if not process.is_alive():
            return None
        try:
            return await process.monitor.status()
        except MonitorDisconnected:
            if not process.is_alive() or not await _gone_soon(process):
                return None
            raise

    async def settled(self, process: QemuProcess, wanted: str, timeout: float) -> bool:
        """Whether the status becomes ``wanted`` (or the process ends) within ``timeout``."""
        deadline = time.monotonic() + timeout
        while await self.status(process) not in (None, wanted):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def query_power(self, vm: Instance) -> PowerState:
        """The power state QEMU reports; with no QEMU, SUSPENDED if a saved state waits,
        else SHUTDOWN; with a monitor that stays unreachable, the last one known."""
        try:
            process = await self.process(vm)
        except MonitorUnreachable:
            return vm.power
        status = None if process is None else await self.status(process)
        if status is None:
            saved = vm.file(SUSPEND_STATE).exists()
            state = PowerState.SUSPENDED if saved else PowerState.SHUTDOWN
        else:
            state = states.power_state(status)
        self.watcher.observe(vm, state)
        return state


async def _gone_soon(process: QemuProcess) -> bool:
    """Whether the process still runs after a short wait (a lost monitor usually means it
    is exiting)."""
    return not await process.wait(0.5)
