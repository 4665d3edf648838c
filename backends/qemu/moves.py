"""Moves of the QEMU backend: resize and cold migration (confirm, revert), live migration
(force-complete, abort) and evacuation, between the hosts of this machine.

Each host has its run directory (``inventory``); an instance lives in its host's, so a
move is a directory that changes hosts:

=================== ===============================================================
resize, same host   clean power-off; the disk kept as ``disk.pre-resize.qcow2``;
                    ``qemu-img resize`` up; started on the new flavor
resize, other host  clean power-off; the directory (disk, console history) copied
(cold migration)    to the destination's, grown there and started there; the
                    source's directory stays as it was (Nova's ``<uuid>_resize``)
confirm             the kept disk, or the source's directory, dropped
revert              the kept disk put back; or the destination's directory dropped
                    and the guest started again in the source's; on the old flavor
live_migrate        a second QEMU on the destination takes the running guest over
                    QMP (``migration``); the source's QEMU and directory go
evacuate            whatever is left on the (down) source killed and removed; the
                    guest built again from its image on the destination
=================== ===============================================================
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
from dataclasses import replace

from backends.base import (
    BackendError,
    InstanceSpec,
    NoLiveMigration,
    PowerState,
    ProgressListener,
)
from backends.qemu import disks
from backends.qemu.config_drive import CONFIG_DRIVE
from backends.qemu.device_record import (
    DEVICES_RECORD,
    device_args,
    forwards,
    plugged,
    read_record,
)
from backends.qemu.diagnostics import carry_since
from backends.qemu.instance_dir import (
    BOOT_RECORD,
    PRE_RESIZE_DISK,
    RESIZE_RECORD,
    Instance,
    copy_instance_dir,
    hand_over_console,
    read_resize_record,
    resize_source,
    write_resize_record,
)
from backends.qemu.instances import QemuInstances
from backends.qemu.inventory import QemuHost
from backends.qemu.machines import InvalidPowerState
from backends.qemu.migration import LiveMigration, LiveMigrationFailed
from backends.qemu.process import ProcessError, QemuProcess
from backends.qemu.reach import hostfwd

#: How often a live migration's progress is read (``query-migrate``); the end comes as an
#: event, whenever it comes.
PROGRESS_INTERVAL = 0.05
#: Nova's ``[libvirt] live_migration_completion_timeout``: seconds per GiB of guest memory
#: a live migration may take before it is cancelled.
COMPLETION_TIMEOUT_PER_GIB = 800


class ResizeError(BackendError):
    """Nova's ``ResizeError``."""


class QemuMoves(QemuInstances):
    """The verbs that move an instance between hosts (see the module doc)."""

    def live_migration(self, uuid: str) -> LiveMigration:
        """The live migration of ``uuid`` running now; ``NoLiveMigration`` if none."""
        found = self.live_migrations.get(uuid)
        if found is None:
            raise NoLiveMigration(f"Instance {uuid} has no live migration in progress.")
        return found

    # --- resize and cold migration ---------------------------------------------------------

    async def resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        # NOTE: as Nova's libvirt driver, refused before anything moves.
        if instance.root_gb < previous.root_gb or instance.ephemeral_gb < previous.ephemeral_gb:
            raise ResizeError("Resize error: Unable to resize disk down.")
        target = self.host(instance.host)
        async with self._busy(instance) as vm:
            moving = target is not vm.host
            if moving and vm.file(RESIZE_RECORD).exists():
                raise ResizeError(f"Instance {vm.spec.uuid} has a resize to confirm or "
                                  "revert first.")
            ran = await self.machines.query_power(vm) == PowerState.RUNNING
            await self.machines.power_off(vm)
            if moving:
                source = vm.host
                await asyncio.to_thread(copy_instance_dir, vm.paths,
                                        target.manager.paths(vm.spec.uuid))
                vm.relocate(target)
                write_resize_record(vm, ran, source.name)
            elif not vm.file(PRE_RESIZE_DISK).exists():  # a resize after a resize keeps
                await asyncio.to_thread(shutil.copyfile, vm.paths.disk,  # the first disk
                                        vm.file(PRE_RESIZE_DISK))
                write_resize_record(vm, ran)
            await disks.grow(vm.paths.disk, instance.root_gb)
            await self._reconfigure(vm, instance, ran)

    async def confirm_resize(self, instance: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            name = resize_source(vm.paths)  # a source host no longer configured: no copy
            source = self.machine_hosts.get(name) if name is not None else None
            if source is not None and source is not vm.host:
                await self._remove(source.manager, source.manager.paths(vm.spec.uuid))
            for kept in (PRE_RESIZE_DISK, RESIZE_RECORD):
                vm.file(kept).unlink(missing_ok=True)

    async def revert_resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        async with self._busy(instance) as vm:
            source = self._resized_from(vm)
            kept = vm.file(PRE_RESIZE_DISK)
            if source is None and not kept.exists():
                raise ResizeError(f"Instance {vm.spec.uuid} has no resize to revert.")
            ran = read_resize_record(vm)
            await self.machines.halt(vm)  # NOTE: Nova's revert destroys the resized guest
            if source is not None:
                shutil.rmtree(vm.paths.root, ignore_errors=True)
                vm.relocate(source)
            else:
                os.replace(kept, vm.paths.disk)
            vm.file(RESIZE_RECORD).unlink(missing_ok=True)
            await self._reconfigure(vm, previous, ran)

    def _resized_from(self, vm: Instance) -> QemuHost | None:
        """The host a resize to another host came from; None: none (or the same host)."""
        name = resize_source(vm.paths)
        if name is None or name == vm.host.name:
            return None
        return self.host(name)

    # --- live migration --------------------------------------------------------------------

    async def live_migrate(self, instance: InstanceSpec, previous: InstanceSpec,
                           progress: ProgressListener, block_migration: bool) -> None:
        target = self.host(instance.host)
        async with self._busy(instance) as vm:
            if target is vm.host:
                raise LiveMigrationFailed(f"Instance {vm.spec.uuid} is on host "
                                          f"{target.name} already.")
            source = await self.machines.require_live(vm)
            status = await source.monitor.status()
            if status not in ("running", "paused"):
                raise InvalidPowerState(f"Instance {vm.spec.uuid} is not running ({status}).")
            with contextlib.suppress(ProcessError):  # what an earlier attempt left there
                await self._remove(target.manager, target.manager.paths(vm.spec.uuid))
            timeout = max(self.boot_timeout, COMPLETION_TIMEOUT_PER_GIB
                          * math.ceil(vm.config.memory_mb / 1024))
            # the destination has the same volumes and NICs (the volumes' files are
            # shared: an incoming QEMU leaves them to the source until it takes over)
            # (not the forwarded addresses: the source holds them until it ends)
            config = replace(vm.config, extra_args=(*vm.config.extra_args,
                                                    *device_args(vm.paths.root, False)))
            migration = LiveMigration(
                source, target.manager, config, progress, block=block_migration,
                ran=status == "running", poll_interval=PROGRESS_INTERVAL, timeout=timeout,
                bandwidth=self.live_migration_bandwidth * 2**20 or None)
            self.live_migrations[vm.spec.uuid] = migration
            try:
                moved = await migration.run()
            finally:
                self.live_migrations.pop(vm.spec.uuid, None)
            await self._take_over(vm, target, moved, instance)

    async def _take_over(self, vm: Instance, target: QemuHost, process: QemuProcess,
                         spec: InstanceSpec) -> None:
        """The guest runs on ``target`` now: the source's QEMU (stopped for good) ends,
        the instance is the destination's QEMU and directory, with its console history."""
        await self.machines.detach(vm)
        source, vm.process = vm.process, None
        if source is not None:
            with contextlib.suppress(OSError):
                carry_since(source, process)
            await source.stop()
        old = vm.paths
        with contextlib.suppress(OSError):
            await asyncio.to_thread(hand_over_console, old, process.paths)
        for record in (BOOT_RECORD, DEVICES_RECORD, CONFIG_DRIVE):
            with contextlib.suppress(OSError):
                shutil.copyfile(old.root / record, process.paths.root / record)
        vm.relocate(target)
        vm.spec, vm.process = spec, process
        self.watcher.watch(vm, process)
        shutil.rmtree(old.root, ignore_errors=True)
        for netdev, addresses in forwards(read_record(vm.paths.root)).items():
            await hostfwd(process.monitor, netdev, add=addresses)  # the source's are free

    async def live_migration_force_complete(self, instance: InstanceSpec) -> None:
        await self.live_migration(instance.uuid).force_complete()

    async def live_migration_abort(self, instance: InstanceSpec) -> None:
        await self.live_migration(instance.uuid).abort(self.boot_timeout)

    # --- evacuation ------------------------------------------------------------------------

    async def evacuate(self, instance: InstanceSpec, previous: InstanceSpec,
                       power_on: bool) -> None:
        """Kill and remove whatever is left of the guest on any host (its source is
        down, but its QEMU may still run), then build it afresh from its image on
        ``instance.host``; left SHUTDOWN unless ``power_on``."""
        self.host(instance.host)  # HostUnavailable before anything is touched
        vm = self.instances.pop(instance.uuid, None)
        if vm is not None:
            async with self._locked(vm):
                await self.machines.detach(vm)
                process, vm.process = vm.process, None
                if process is not None:
                    await process.kill()  # NOTE: a host that is down answers nobody
        # its volumes and NICs (Nova reconnects them on the destination)
        devices = next((read_record(paths.root) for _, paths in
                        self._directories(instance.uuid) if plugged(paths.root)), None)
        for host, paths in self._directories(instance.uuid):
            await self._remove(host.manager, paths)
        await self._spawn(instance, None, start=power_on, devices=devices)
