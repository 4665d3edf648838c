"""The instances of the QEMU backend: how they come (spawn), go (destroy) and come back
after an emulator restart (recover), and the steps every verb shares.

``QemuInstances`` holds the hosts (``inventory``: this machine, or several hosts sharing
it, each with its run directory), what the backend knows of each instance
(``instance_dir.Instance``: its host and directory there) and the parts that act on
them: ``BootPlan`` (which image, which machine), ``Machines`` (each QEMU started, stopped,
powered), ``PowerWatcher`` (changes seen by themselves) and the boot slots.
``moves.QemuMoves`` adds the moves between hosts, ``backend.QemuBackend`` the other verbs.
One verb at a time runs per instance (``_busy``).

``ephemeral``: guests end with the backend (``close``), as with a state nobody could
re-adopt them from; otherwise they keep running for a later backend to ``recover``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from backends.base import (
    BackendError,
    HostInfo,
    HostUnavailable,
    InstanceExists,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    PowerListener,
    PowerState,
    SpawnFailed,
)
from backends.qemu import disks
from backends.qemu.boot import BootPlan
from backends.qemu.boot_slots import BootSlots
from backends.qemu.config_drive import CONFIG_DRIVE, write_config_drive
from backends.qemu.device_record import (
    boot_ports,
    free_port,
    read_record,
    shelved_record,
    with_ports,
    write_record,
)
from backends.qemu.guest import GuestImage
from backends.qemu.instance_dir import (
    RESCUED_DISK,
    SHELVED_DIR,
    Instance,
    is_instance_dir,
    read_boot_record,
    resize_source,
    shelved_disk,
    write_boot_record,
)
from backends.qemu.inventory import HostShare, QemuHost, machine_hosts
from backends.qemu.machines import Machines
from backends.qemu.migration import LiveMigration
from backends.qemu.process import QEMU_BINARY, InstancePaths, ProcessError, ProcessManager
from backends.qemu.watcher import PowerWatcher

log = logging.getLogger(__name__)


def root_volume_file(instance: InstanceSpec) -> Path | None:
    """The file of the volume ``instance`` boots from; None when it boots an image."""
    volume = instance.root_volume
    if volume is None or volume.path is None:
        return None
    path = Path(volume.path)
    if not path.is_file():
        raise SpawnFailed(f"Volume {volume.volume_id} has no backing file to boot from.")
    return path


class QemuInstances:
    """The instances on this machine's hosts and how they come and go (see the module
    doc). ``hosts``: how many hosts share the machine, or each one's name and share."""

    def __init__(
        self,
        run_dir: Path | str,
        guest: GuestImage | None = None,
        images: Mapping[str, Path | str] | None = None,
        *,
        hosts: int | Sequence[HostShare] = 1,
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
        owns_run_dir: bool = False,
        live_migration_bandwidth: int = 0,
        force_config_drive: bool = True,
    ) -> None:
        self.run_dir = Path(run_dir).absolute()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.ephemeral = ephemeral
        #: The run directory was made for this backend alone: an ephemeral one removes it.
        self.owns_run_dir = owns_run_dir
        self.boot_timeout = boot_timeout
        #: MiB/s a live migration may copy (Nova's ``[libvirt] live_migration_bandwidth``);
        #: 0: unlimited.
        self.live_migration_bandwidth = live_migration_bandwidth
        #: Every instance gets a config drive, asked for or not (Nova's
        #: ``force_config_drive``): the free guest's SSH keys come from it.
        self.force_config_drive = force_config_drive
        self.boot = BootPlan(guest, {} if images is None else images, accel, self.run_dir)
        self.watcher = PowerWatcher(poll_interval)
        self.machines = Machines(BootSlots(boot_concurrency, boot_timeout, boot_grace),
                                 self.watcher, boot_timeout=boot_timeout,
                                 shutdown_timeout=shutdown_timeout)
        #: What the backend holds of each instance, by uuid.
        self.instances: dict[str, Instance] = {}
        self._spawning: set[str] = set()
        #: The live migration of each instance that has one running, by uuid.
        self.live_migrations: dict[str, LiveMigration] = {}
        #: The hosts by name, in their configured order.
        self.machine_hosts = {host.name: host for host in machine_hosts(
            self.run_dir, hosts, host_name=host_name, availability_zone=availability_zone,
            vcpus=vcpus, memory_mb=memory_mb, local_gb=local_gb,
            reserved_host_memory_mb=reserved_host_memory_mb,
            cpu_allocation_ratio=cpu_allocation_ratio,
            ram_allocation_ratio=ram_allocation_ratio,
            disk_allocation_ratio=disk_allocation_ratio, binary=binary,
            die_with_parent=die_with_parent)}

    # --- the hosts, the listener, the end of the backend ---------------------------------

    def hosts(self) -> list[HostInfo]:
        return [host.info for host in self.machine_hosts.values()]

    def host(self, name: str) -> QemuHost:
        """The host ``name``; ``HostUnavailable`` when this backend has none of that name."""
        try:
            return self.machine_hosts[name]
        except KeyError:
            raise HostUnavailable(f"Compute host {name} is not available.") from None

    def set_power_listener(self, listener: PowerListener | None) -> None:
        self.watcher.set_listener(listener)

    async def close(self) -> None:
        """Stop watching; when ``ephemeral``, first end every guest of the run directory
        and remove its files."""
        if self.ephemeral:
            for vm in list(self.instances.values()):
                with contextlib.suppress(BackendError):
                    await self.destroy(vm.spec)
            await self._reap(set())
            shutil.rmtree(self.run_dir / SHELVED_DIR, ignore_errors=True)
        for vm in self.instances.values():
            await self.machines.detach(vm)
            if vm.process is not None:
                await vm.process.monitor.disconnect()
        self.instances.clear()
        await self.watcher.close()
        if self.ephemeral and self.owns_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    # --- lifecycle -------------------------------------------------------------------------

    async def spawn(self, instance: InstanceSpec) -> None:
        await self._spawn(instance, None)

    async def _spawn(self, instance: InstanceSpec, image: Path | None,
                     adopt_disk: bool = False, start: bool = True,
                     devices: dict[str, Any] | None = None) -> None:
        """Build ``instance`` on a new overlay of ``image`` (default: its Glance image), or
        with ``adopt_disk`` on ``image`` itself, moved in as its disk (an unshelve; moved
        back if the build fails), with the volumes and NICs of ``devices`` (a
        ``device_record``: what it had before an unshelve or an evacuation); start it
        unless ``start`` is False (then it is SHUTDOWN). Nothing outlives a failed or
        cancelled build."""
        host = self.host(instance.host)
        uuid = instance.uuid
        if uuid in self.instances or uuid in self._spawning:
            raise InstanceExists(f"Instance {uuid} already exists.")
        self._spawning.add(uuid)
        try:
            try:
                paths = host.manager.paths(uuid)
            except ProcessError as err:
                raise SpawnFailed(str(err)) from err
            if host.manager.running_pid(uuid) is not None:
                raise InstanceExists(f"Instance {uuid} already exists.")
            # an unshelve or evacuation boots on the ports it had (the verb does not repeat them)
            instance = with_ports(instance, boot_ports(devices or {}))
            root_volume = root_volume_file(instance) if not adopt_disk else None
            image = image or root_volume or self.boot.image(instance)
            vm = Instance(instance, self.boot.machine(instance, image, False), host, paths,
                          image=image)
            try:
                shutil.rmtree(paths.root, ignore_errors=True)  # leftovers of an old one
                paths.root.mkdir(parents=True)
                await self._write_identity(vm, devices)
                if adopt_disk:
                    os.replace(image, paths.disk)
                elif root_volume is not None:
                    # Boot from volume: the volume's own file is the root disk (its
                    # writes are the volume's), linked in; removing the directory
                    # removes the link, never the volume (Cinder's).
                    os.symlink(root_volume.absolute(), paths.disk)
                else:
                    await disks.create_disk(instance, image, paths.disk)
                await self._boot_from(vm, paths.disk if adopt_disk else image)
                await self._start_if(vm, start)
            except BaseException as err:
                if adopt_disk and paths.disk.exists() and not image.exists():
                    with contextlib.suppress(OSError):  # the shelved disk goes back
                        os.replace(paths.disk, image)
                await self.machines.discard(vm)
                if isinstance(err, SpawnFailed) or not isinstance(err, BackendError | OSError):
                    raise
                raise SpawnFailed(f"Build of instance {uuid} aborted: {err}") from err
            self.instances[uuid] = vm
        finally:
            self._spawning.discard(uuid)

    async def destroy(self, instance: InstanceSpec) -> None:
        """Stop the guest and remove its directory, and whatever else of it any host has
        (the source's directory of a resize to another host; what a crash left)."""
        with contextlib.suppress(OSError, ProcessError):
            shelved_disk(self.run_dir, instance.uuid).unlink(missing_ok=True)
            shelved_record(shelved_disk(self.run_dir, instance.uuid)).unlink(missing_ok=True)
        vm = self.instances.pop(instance.uuid, None)
        if vm is not None:
            async with self._locked(vm):
                await self.machines.discard(vm)
        for host, paths in self._directories(instance.uuid):
            await self._remove(host.manager, paths)

    async def get_info(self, instance: InstanceSpec) -> InstanceInfo:
        return InstanceInfo(power_state=await self.machines.query_power(self._vm(instance)))

    async def recover(
        self, instances: Sequence[tuple[InstanceSpec, PowerState]]
    ) -> dict[str, PowerState]:
        """Adopt each instance's QEMU from its pid file and socket, in its directory on
        the host the database names (else on another host, where a QEMU of it runs: a
        move the database did not hear the end of); an instance whose directory is left
        but whose process is gone is SHUTDOWN (``power_on`` starts it again on its disk;
        SUSPENDED with a saved state); one with no directory is NOSTATE. Then reap: every
        other instance directory (its server is gone, or it is what a move left) is
        stopped and removed, as Nova's ``_cleanup_running_deleted_instances`` reaps; the
        source's directory of a resize to another host waits for its confirm or revert."""
        found: dict[str, PowerState] = {}
        for spec, recorded in instances:
            found[spec.uuid] = await self._recover(spec, recorded)
        keep = set()
        for vm in self.instances.values():
            keep.add(vm.paths.root)
            source = resize_source(vm.paths)
            if source in self.machine_hosts:
                keep.add(self.machine_hosts[source].manager.paths(vm.spec.uuid).root)
        await self._reap(keep)
        return found

    async def _recover(self, spec: InstanceSpec, recorded: PowerState) -> PowerState:
        if spec.uuid in self.instances:
            return await self.machines.query_power(self.instances[spec.uuid])
        found = [(host, paths) for host, paths in self._directories(spec.uuid)
                 if paths.disk.exists()]
        found.sort(key=lambda place: (place[0].manager.running_pid(spec.uuid) is None,
                                      place[0].name != spec.host))
        if not found:
            return PowerState.NOSTATE
        host, paths = found[0]
        if host.name != spec.host:
            log.warning("%s: found on host %s, not on %s", spec.uuid, host.name, spec.host)
        image, kernel_boot = self._boot_record(spec, paths)
        spec = with_ports(spec, boot_ports(read_record(paths.root)))
        rescued = paths.root / RESCUED_DISK
        vm = Instance(spec, self.boot.machine(spec, image, kernel_boot,
                                              rescued if rescued.exists() else None),
                      host, paths, image=image, kernel_boot=kernel_boot)
        self.instances[spec.uuid] = vm
        vm.process = process = await self.machines.adopt(host.manager, spec.uuid)
        if process is not None and not process.monitor.connected:
            vm.power = recorded  # it runs, but nobody can ask it
            return recorded
        if process is not None:
            self.watcher.watch(vm, process)
        vm.power = await self.machines.query_power(vm)
        return vm.power

    def _boot_record(self, spec: InstanceSpec, paths: InstancePaths) -> tuple[Path | None, bool]:
        """(image, kernel boot) as spawn recorded them; else the spec's image."""
        recorded = read_boot_record(paths)
        if recorded is not None:
            return recorded
        try:
            image = self.boot.image(spec)
        except SpawnFailed:
            return None, False
        return image, self.boot.is_free_guest(image)

    async def _reap(self, keep: set[Path]) -> None:
        """Stop and remove every instance directory of every host not in ``keep``."""
        for host in self.machine_hosts.values():
            for entry in sorted(host.run_dir.iterdir()):
                if entry.name.startswith(".") or not entry.is_dir() or entry in keep \
                        or not is_instance_dir(entry):
                    continue
                with contextlib.suppress(ProcessError):
                    await self._remove(host.manager, host.manager.paths(entry.name),
                                       reaped=True)

    def _directories(self, uuid: str) -> Iterator[tuple[QemuHost, InstancePaths]]:
        """Where ``uuid``'s directory would be on each host (none: an invalid name)."""
        for host in self.machine_hosts.values():
            with contextlib.suppress(ProcessError):
                yield host, host.manager.paths(uuid)

    async def _remove(self, manager: ProcessManager, paths: InstancePaths,
                      reaped: bool = False) -> None:
        """Stop the QEMU of a directory the backend does not hold, and remove it."""
        if not paths.root.exists():
            return
        name = paths.root.name
        process = await self.machines.adopt(manager, name)
        if process is not None:
            if reaped:
                log.info("%s: reaping the QEMU of a server that no longer exists (or "
                         "what a move left of it)", name)
            await process.stop()
        shutil.rmtree(paths.root, ignore_errors=True)

    # --- helpers -------------------------------------------------------------------------------

    def _vm(self, instance: InstanceSpec) -> Instance:
        try:
            return self.instances[instance.uuid]
        except KeyError:
            raise InstanceNotFound(f"Instance {instance.uuid} could not be found.") from None

    @contextlib.asynccontextmanager
    async def _busy(self, instance: InstanceSpec) -> AsyncIterator[Instance]:
        """The instance, for one verb (``InstanceNotFound`` if the backend has none)."""
        async with self._locked(self._vm(instance)) as vm:
            yield vm

    @contextlib.asynccontextmanager
    async def _locked(self, vm: Instance) -> AsyncIterator[Instance]:
        """One verb at a time per instance; while it runs the watcher reports nothing but
        a process that ended (the verb's intermediate states are no news), and afterwards
        the state it left is reported."""
        async with vm.lock:
            try:
                yield vm
            finally:
                if vm.spec.uuid in self.instances:
                    with contextlib.suppress(BackendError):
                        await self.machines.query_power(vm)

    async def _reconfigure(self, vm: Instance, spec: InstanceSpec, start: bool) -> None:
        """``vm`` on ``spec``'s flavor, from its own disk; started if ``start``."""
        vm.spec = spec = with_ports(spec, vm.spec.vifs)
        vm.config = self.boot.machine(spec, vm.image, vm.kernel_boot)
        await self._start_if(vm, start)

    async def _start_if(self, vm: Instance, start: bool) -> None:
        if start:
            await self.machines.start(vm)
        else:
            self.watcher.observe(vm, PowerState.SHUTDOWN)

    async def _write_identity(self, vm: Instance,
                              devices: dict[str, Any] | None = None) -> None:
        """Record ``devices`` (what the instance had before an unshelve or evacuation) and
        the addresses of the ports it boots with (``reach``: forwarded to the guest), and
        write its config drive when it has one (``config_drive``)."""
        record = read_record(vm.paths.root)
        for kind, entries in (devices or {}).items():
            record.setdefault(kind, {}).update(entries)
        for vif in vm.spec.vifs:
            record["addresses"][vif.port_id] = asdict(vif)
        for volume in vm.spec.volumes:  # attached before the first boot: in its definition
            if volume.path is not None and volume.volume_id not in record["volumes"]:
                record["volumes"][volume.volume_id] = {
                    **asdict(volume), "port": free_port(record, vm.config)}
        write_record(vm.paths.root, record)
        if vm.spec.config_drive or self.force_config_drive:
            await asyncio.to_thread(write_config_drive, vm.spec, vm.file(CONFIG_DRIVE),
                                    vm.host.info.availability_zone)

    async def _boot_from(self, vm: Instance, image: Path) -> None:
        """Configure ``vm`` to boot its disk made from ``image``, and record how."""
        vm.image = image
        vm.kernel_boot = await self.boot.kernel_boots(image)
        vm.config = self.boot.machine(vm.spec, image, vm.kernel_boot)
        write_boot_record(vm)
