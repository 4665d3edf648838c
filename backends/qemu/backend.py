"""The QEMU backend: every instance is a real ``qemu-system-x86_64`` process (TCG).

One host (this machine), or several sharing it, each with its run directory
(``inventory``); one instance directory per server in its host's (``<host dir>/<uuid>/``,
see ``instance_dir`` and ``process``), holding its qcow2 overlay, serial log, QMP socket
and pid file.

What each verb does on the hypervisor:

=================== ===============================================================
spawn               overlay on the image's disk; the config drive (``disk.config``:
                    ``config_drive``); the ports' addresses recorded; start QEMU
                    (every 127/8 address forwarded to the guest's port 22:
                    ``reach``); return once ``running``
destroy             ``quit`` (then SIGTERM, SIGKILL), reap, remove the directory
get_info            ``query-status`` -> power state; no process -> SHUTDOWN
power_off           ACPI ``system_powerdown``, wait for SHUTDOWN up to
                    ``shutdown_timeout``; else hard; either way ``quit`` QEMU
power_on            no process: start QEMU again on the same disk; status
                    ``shutdown`` (powered off by itself): ``system_reset`` + ``cont``
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
resize ... evacuate see ``moves``: a resize on one host keeps the old disk beside
                    the new; to another host (a cold migration) the directory is
                    copied there; ``live_migrate`` hands the running guest to a
                    second QEMU over QMP (``migration``); ``evacuate`` builds it
                    again from its image on another host
rescue / unrescue   own disk moved to ``disk.rescued.qcow2`` and attached second;
                    the rescue image boots as the first disk / put back, start
shelve              clean power-off (disk kept)
shelve_offload      the disk flattened to ``<run_dir>/.shelved/<uuid>.qcow2``;
                    the instance directory removed; unshelve boots from it
soft_delete/restore QEMU stopped hard (Nova's libvirt ``power_off``) / started
trigger_crash_dump  ``inject-nmi``
attach_volume       ``blockdev-add`` (qcow2 over the volume's file) + ``device_add
                    virtio-blk-pci`` on a free ``pcie-root-port``, serial = volume id
detach_volume       ``device_del``, wait for ``DEVICE_DELETED``, ``blockdev-del``
attach_interface    ``netdev_add`` (user-mode) + ``device_add virtio-net-pci``
detach_interface    ``device_del``, ``DEVICE_DELETED``, ``netdev_del``; a stopped guest
                    only has its ``devices.json`` changed (``hotplug``); every start
                    puts the recorded devices on the command line
update_interface    the port's addresses recorded; a running QEMU gets
                    ``hostfwd_add``/``hostfwd_remove`` for those in 127/8
get_console_output  the serial log (earlier runs of the process included)
get_diagnostics     ``query-status``, ``query-cpus-fast`` + /proc (CPU time),
                    ``query-blockstats``; uptime from the process start time
guest_processes     each host's pid files whose QEMU runs, its /proc stat (CPU time)
recover             adopt QEMUs from pid files and sockets, on every host; gone ->
                    SHUTDOWN (SUSPENDED with a saved state); reap directories
                    whose instance the database does not know (or has elsewhere)
=================== ===============================================================

``set_admin_password`` raises ``NotSupported`` (no guest agent; Nova's libvirt needs
``qemu-guest-agent`` too).

Where the parts live: spawn, destroy, recover and what every verb shares (``instances``),
the hosts (``inventory``), moves between them (``moves``, ``migration``),
how an instance boots (``boot``), its disks (``disks``), volumes and NICs
plugged in (``hotplug``), its QEMU started, stopped and
powered (``machines``), at most ``boot_concurrency`` boots at once (``boot_slots``), power
changes seen by themselves (``watcher``), suspend to a file (``suspend``), diagnostics
(``diagnostics``), the instance directory (``instance_dir``). One verb at a time per
instance; everything runs on the caller's event loop, ``qemu-img`` as a subprocess.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from backends.base import (
    BackendError,
    Diagnostics,
    InstanceSpec,
    NotSupported,
    PowerState,
    SpawnFailed,
)
from backends.processes import GuestProcess, cpu_seconds
from backends.qemu import disks
from backends.qemu.config_drive import CONFIG_DRIVE
from backends.qemu.device_record import (
    read_record,
    read_record_file,
    shelved_record,
    with_ports,
    write_record_file,
)
from backends.qemu.diagnostics import diagnostics
from backends.qemu.hotplug import QemuDevices
from backends.qemu.instance_dir import (
    PAST_STATES,
    RESCUED_DISK,
    SNAPSHOT_FILE,
    SUSPEND_STATE,
    Instance,
    read_console,
    shelved_disk,
)
from backends.qemu.machines import InvalidPowerState
from backends.qemu.moves import QemuMoves, ResizeError
from backends.qemu.process import QemuProcess
from backends.qemu.suspend import restore_state, save_state

log = logging.getLogger(__name__)

__all__ = ["QemuBackend", "ResizeError"]


class QemuBackend(QemuDevices, QemuMoves):
    """The ``ComputeBackend`` of real QEMU guests on this machine (see the module doc):
    spawn, destroy and recover come from ``QemuInstances``, the moves between hosts from
    ``QemuMoves``, every other verb is here."""

    name = "qemu"
    #: No guest agent in the free guest (and none asked of other images).
    guest_agent = False
    #: A guest runs its image's disk: an image with nothing to boot boots nothing.
    runs_image_data = True

    # --- power -----------------------------------------------------------------------------

    async def power_off(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            await self.machines.power_off(vm)

    async def power_on(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            process = await self.machines.process(vm)
            if process is None:
                await self.machines.start(vm)
                return
            status = await process.monitor.status()
            if status == "running":
                return
            if status == "shutdown":
                await process.monitor.execute("system_reset")
            await self.machines.cont(vm, process)

    async def reboot_hard(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            await self.machines.reboot_hard(vm)

    async def reboot_soft(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            process = await self.machines.process(vm)
            if process is None or await process.monitor.status() != "running":
                await self.machines.reboot_hard(vm)
            elif await self.machines.acpi_powerdown(process):
                await process.monitor.execute("system_reset")
                await self.machines.cont(vm, process)
            else:
                log.info("%s: no clean shutdown within %g s; hard reboot",
                         vm.spec.uuid, self.machines.shutdown_timeout)
                await self.machines.reboot_hard(vm)

    async def pause(self, instance: InstanceSpec) -> None:
        await self._switch(instance, "running", "paused", self._stop_vcpus)

    async def unpause(self, instance: InstanceSpec) -> None:
        await self._switch(instance, "paused", "running", self.machines.cont)

    async def _switch(self, instance: InstanceSpec, source: str, target: str,
                      act: Callable[[Instance, QemuProcess], Awaitable[None]]) -> None:
        """From run status ``source`` to ``target`` by ``act``; nothing to do at
        ``target`` already, ``InvalidPowerState`` from any other status."""
        async with self._busy(instance) as vm:
            process = await self.machines.require_live(vm)
            status = await process.monitor.status()
            if status == target:
                return
            if status != source:
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not {source} ({status}).")
            await act(vm, process)

    async def _stop_vcpus(self, vm: Instance, process: QemuProcess) -> None:
        await process.monitor.execute_and_wait("stop", None, "STOP", self.boot_timeout)
        self.watcher.observe(vm, PowerState.PAUSED)

    async def suspend(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            process = await self.machines.require_live(vm)
            status = await process.monitor.status()
            if status not in ("running", "paused"):
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not running ({status}).")
            if status == "running":
                await process.monitor.execute_and_wait("stop", None, "STOP", self.boot_timeout)
            await save_state(process, vm.file(SUSPEND_STATE), self.boot_timeout)
            await self.machines.halt(vm)
            self.watcher.observe(vm, PowerState.SUSPENDED)

    async def resume(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            saved = vm.file(SUSPEND_STATE)
            if await self.machines.process(vm) is not None or not saved.exists():
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not suspended.")
            await self.machines.start(vm, incoming=True)
            process = await self.machines.require_live(vm)
            await restore_state(process, saved, self.boot_timeout)
            await self.machines.settled(process, "paused", self.boot_timeout)
            await self.machines.cont(vm, process)
            saved.unlink(missing_ok=True)

    async def soft_delete(self, instance: InstanceSpec) -> None:
        # NOTE: Nova's libvirt has no soft_delete: the manager calls power_off() with no
        # timeout, i.e. a hard stop; everything is kept.
        async with self._busy(instance) as vm:
            await self.machines.halt(vm)
            self.watcher.observe(vm, PowerState.SHUTDOWN)

    async def restore(self, instance: InstanceSpec) -> None:
        await self.power_on(instance)

    async def trigger_crash_dump(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            process = await self.machines.require_live(vm)
            await process.monitor.execute("inject-nmi")

    async def set_admin_password(self, instance: InstanceSpec, password: str) -> None:
        raise NotSupported("set_admin_password is not supported by the QEMU backend "
                           "(no guest agent).")

    # --- what the guest shows --------------------------------------------------------------

    async def get_console_output(self, instance: InstanceSpec) -> str:
        return await asyncio.to_thread(read_console, self._vm(instance).paths)

    async def get_vnc_socket(self, instance: InstanceSpec) -> str:
        process = await self.machines.require_live(self._vm(instance))
        return str(process.paths.vnc_sock)

    async def get_diagnostics(self, instance: InstanceSpec) -> Diagnostics:
        vm = self._vm(instance)
        process = await self.machines.process(vm)
        power = await self.machines.query_power(vm)
        # NOTE: Nova's libvirt reports configdrive.required_by: asked for or forced
        return await diagnostics(process, power, vm.config,
                                 instance.config_drive or vm.file(CONFIG_DRIVE).exists())

    def guest_processes(self) -> list[GuestProcess]:
        found = []
        for host in self.machine_hosts.values():
            for name in host.manager.names():
                pid = host.manager.running_pid(name)
                used = None if pid is None else cpu_seconds(pid)
                if pid is not None and used is not None:
                    found.append(GuestProcess(name, host.name, pid, used))
        return found

    # --- disks replaced ----------------------------------------------------------------------

    async def snapshot(self, instance: InstanceSpec) -> bytes:
        async with self._busy(instance) as vm:
            target = vm.file(SNAPSHOT_FILE)
            target.unlink(missing_ok=True)
            try:
                process = await self.machines.process(vm)
                if process is not None:
                    await disks.backup(process, target, self.boot_timeout * 5)
                else:
                    await disks.flatten(vm.paths.disk, target)
                return await asyncio.to_thread(target.read_bytes)
            finally:
                target.unlink(missing_ok=True)

    async def rebuild(self, instance: InstanceSpec, power_on: bool) -> None:
        async with self._busy(instance) as vm:
            image = self.boot.image(instance)
            await self.machines.power_off(vm)  # NOTE: Nova powers off cleanly first
            for name in PAST_STATES:
                vm.file(name).unlink(missing_ok=True)
            vm.paths.disk.unlink(missing_ok=True)
            await disks.create_disk(instance, image, vm.paths.disk)
            vm.spec = instance
            vm.file(CONFIG_DRIVE).unlink(missing_ok=True)  # NOTE: Nova writes it anew
            await self._write_identity(vm)
            await self._boot_from(vm, image)
            await self._start_if(vm, power_on)

    async def rescue(self, instance: InstanceSpec, password: str,
                     rescue_image_id: str | None = None) -> None:
        """Boot the rescue image (default: the instance's own, as Nova's) on a new overlay,
        with the server's own disk attached as the second disk (``/dev/vdb``)."""
        async with self._busy(instance) as vm:
            rescued = vm.file(RESCUED_DISK)
            if rescued.exists():
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is already rescued.")
            image = self.boot.image(instance, rescue_image_id)
            await self.machines.power_off(vm)
            vm.file(SUSPEND_STATE).unlink(missing_ok=True)
            os.replace(vm.paths.disk, rescued)
            try:
                await disks.create_disk(instance, image, vm.paths.disk)
                kernel_boot = await self.boot.kernel_boots(image)
            except BackendError:
                os.replace(rescued, vm.paths.disk)
                raise
            vm.config = self.boot.machine(with_ports(instance, vm.spec.vifs), image,
                                          kernel_boot, extra_disk=rescued)
            await self.machines.start(vm)

    async def unrescue(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            rescued = vm.file(RESCUED_DISK)
            if not rescued.exists():
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not rescued.")
            await self.machines.halt(vm)  # NOTE: Nova's libvirt unrescue destroys it
            os.replace(rescued, vm.paths.disk)
            await self._reconfigure(vm, vm.spec, True)

    async def shelve(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            await self.machines.power_off(vm)
            self.watcher.observe(vm, PowerState.SHUTDOWN)

    async def shelve_offload(self, instance: InstanceSpec) -> None:
        """Flatten the disk to the shelved store (Nova's shelve snapshot), then remove
        everything of the instance from the host."""
        async with self._busy(instance) as vm:
            await self.machines.halt(vm)
            target = shelved_disk(self.run_dir, instance.uuid)
            target.parent.mkdir(exist_ok=True)
            partial = target.with_suffix(".part")
            await disks.flatten(vm.paths.disk, partial)
            os.replace(partial, target)
            write_record_file(shelved_record(target), read_record(vm.paths.root))
            await self.machines.discard(vm)
            self.instances.pop(instance.uuid, None)

    async def unshelve(self, instance: InstanceSpec) -> None:
        if instance.uuid in self.instances:  # shelved, not offloaded: start it where it is
            await self.power_on(instance)
            return
        shelved = shelved_disk(self.run_dir, instance.uuid)
        if not shelved.exists():
            raise SpawnFailed(f"Instance {instance.uuid} has no shelved disk to unshelve.")
        devices = shelved_record(shelved)  # its volumes and NICs come back with it
        await self._spawn(instance, shelved, adopt_disk=True,
                          devices=read_record_file(devices))
        devices.unlink(missing_ok=True)
