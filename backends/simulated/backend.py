"""The simulated backend: hosts are data, instances live in memory, stages take time.

Each verb waits for its stage (``STAGES``: delay plus jitter, on the emulator's ``Clock``,
given at construction) and then applies its effect to the in-memory instance. The domain
above the seam decides what the server's state is; this backend only reports power
states. Its instances never change power state by themselves (no verb, no change), so
the power listener is kept but never called; there is no background work to close.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from backends.base import (
    BackendError,
    Clock,
    Diagnostics,
    HostInfo,
    HostUnavailable,
    InstanceExists,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    MigrationAborted,
    NoLiveMigration,
    NotSupported,
    PowerListener,
    PowerState,
    ProgressListener,
    SpawnFailed,
)
from backends.processes import GuestProcess
from backends.reach import SSH_PORT, vif_addresses
from backends.simulated.console import Boot, console_log
from backends.simulated.devices import DeviceVerbs, GuestDevices, guest_view
from backends.simulated.diagnostics import diagnostics
from backends.simulated.disks import empty_qcow2
from backends.simulated.live import LiveMigration, copied
from backends.simulated.shell import GuestView
from backends.simulated.ssh import GuestSSH, Login

#: Default availability zones and how many hosts each gets.
DEFAULT_ZONES: tuple[tuple[str, int], ...] = (("nova", 4), ("az2", 4))

#: A realistic mid-size hypervisor: 32 threads, 128 GiB, 2 TB of local disk.
DEFAULT_VCPUS, DEFAULT_MEMORY_MB, DEFAULT_LOCAL_GB = 32, 131072, 2000


@dataclass(frozen=True)
class Stage:
    """How long a verb takes (seconds, plus up to ``jitter`` more) and how it ends."""

    delay: float
    jitter: float = 0.0
    fails: bool = False


#: Per verb: a stage. Delays are what a small KVM cloud shows; in IMMEDIATE mode they
#: are skipped.
STAGES: Mapping[str, Stage] = {
    "spawn": Stage(delay=5.0, jitter=2.0),
    "destroy": Stage(delay=1.0, jitter=0.5),
    "power_off": Stage(delay=4.0, jitter=2.0),
    "power_on": Stage(delay=3.0, jitter=1.0),
    "reboot_soft": Stage(delay=8.0, jitter=3.0),
    "reboot_hard": Stage(delay=4.0, jitter=1.0),
    "pause": Stage(delay=0.5, jitter=0.2),
    "unpause": Stage(delay=0.5, jitter=0.2),
    "suspend": Stage(delay=3.0, jitter=1.0),
    "resume": Stage(delay=3.0, jitter=1.0),
    "set_admin_password": Stage(delay=1.0, jitter=0.5),
    "trigger_crash_dump": Stage(delay=0.2),
    "rebuild": Stage(delay=8.0, jitter=3.0),  # fetch the image, re-create the disk, boot
    "resize": Stage(delay=10.0, jitter=4.0),  # power off, copy the disk, boot on the new size
    "confirm_resize": Stage(delay=1.0, jitter=0.5),
    "revert_resize": Stage(delay=6.0, jitter=2.0),
    "live_migrate": Stage(delay=8.0, jitter=3.0),  # copy the memory while the guest runs
    "evacuate": Stage(delay=8.0, jitter=3.0),  # rebuild from the image on another host
    "snapshot": Stage(delay=6.0, jitter=3.0),  # capture and upload the root disk
    "rescue": Stage(delay=6.0, jitter=2.0),
    "unrescue": Stage(delay=4.0, jitter=1.0),
    "shelve": Stage(delay=10.0, jitter=4.0),  # power off and snapshot the disk
    "shelve_offload": Stage(delay=2.0, jitter=1.0),
    "unshelve": Stage(delay=8.0, jitter=3.0),  # fetch the snapshot and boot it
    "soft_delete": Stage(delay=2.0, jitter=1.0),
    "restore": Stage(delay=3.0, jitter=1.0),
    "attach_volume": Stage(delay=2.0, jitter=1.0),  # connect the volume, hot-plug the disk
    "detach_volume": Stage(delay=2.5, jitter=1.5),  # the guest releases it, disconnect
    "attach_interface": Stage(delay=1.5, jitter=0.5),
    "detach_interface": Stage(delay=1.5, jitter=0.5),
}


def default_hosts(
    zones: Sequence[tuple[str, int]] = DEFAULT_ZONES,
    *,
    vcpus: int = DEFAULT_VCPUS,
    memory_mb: int = DEFAULT_MEMORY_MB,
    local_gb: int = DEFAULT_LOCAL_GB,
    cpu_allocation_ratio: float = 4.0,
    ram_allocation_ratio: float = 1.0,
    disk_allocation_ratio: float = 1.0,
) -> list[HostInfo]:
    """``compute-001`` ... named hosts of one shape spread over ``zones`` (name, count);
    host number n has the address 10.0.0.n (10.0.1.0 for the 256th and so on)."""
    width = max(3, len(str(sum(count for _, count in zones))))
    hosts: list[HostInfo] = []
    for zone, count in zones:
        for _ in range(count):
            number = len(hosts) + 1
            hosts.append(HostInfo(
                name=f"compute-{number:0{width}d}", availability_zone=zone,
                host_ip=f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}",
                hypervisor_type="fake", vcpus=vcpus, memory_mb=memory_mb, local_gb=local_gb,
                cpu_allocation_ratio=cpu_allocation_ratio,
                ram_allocation_ratio=ram_allocation_ratio,
                disk_allocation_ratio=disk_allocation_ratio))
    return hosts


_RUNNING = frozenset({PowerState.RUNNING})


class InstanceInvalidPowerState(BackendError):
    """The guest is not in the power state the verb needs."""


class ActionFailed(BackendError):
    """A stage configured to fail did."""


class ResizeError(BackendError):
    """The guest cannot take the new flavor (a disk would shrink)."""


@dataclass
class SimulatedInstance:
    host: str
    power_state: PowerState
    #: Each boot so far, from which the console log is told; the last one's time gives
    #: the uptime.
    boots: list[Boot] = field(default_factory=lambda: [Boot()])
    devices: GuestDevices = field(default_factory=GuestDevices)
    #: The instance as the cloud last described it (flavor, key pair, ports at boot).
    spec: InstanceSpec | None = None


class SimulatedBackend(DeviceVerbs):
    name = "simulated"
    guest_agent = True  # every simulated guest "sets" its password
    force_config_drive = False  # a server has a config drive when it asks for one
    runs_image_data = False  # a simulated guest "boots" any image (a placeholder too)

    def __init__(
        self,
        hosts: Sequence[HostInfo] | None = None,
        *,
        clock: Clock,
        stages: Mapping[str, Stage] | None = None,
        seed: int | None = None,
        ssh_port: int = SSH_PORT,
    ) -> None:
        self._hosts = list(hosts) if hosts is not None else default_hosts()
        self._by_name = {h.name: h for h in self._hosts}
        self.clock = clock
        self.stages = dict(STAGES if stages is None else stages)
        self.instances: dict[str, SimulatedInstance] = {}
        self._spawning: set[str] = set()
        #: Live migrations under way, by instance.
        self._live: dict[str, LiveMigration] = {}
        #: The volumes and ports of offloaded instances, back at their unshelve.
        self._shelved: dict[str, GuestDevices] = {}
        self._random = random.Random(seed)
        self.power_listener: PowerListener | None = None
        #: The guests' SSH servers, on their reachable addresses (``ssh_port`` 0: none).
        self.ssh = GuestSSH(ssh_port)

    def hosts(self) -> list[HostInfo]:
        return list(self._hosts)

    def set_power_listener(self, listener: PowerListener | None) -> None:
        self.power_listener = listener

    async def close(self) -> None:
        """The guests' SSH listeners stop; nothing else runs in the background."""
        self.ssh.close()

    async def _stage(self, verb: str) -> Stage:
        stage = self.stages.get(verb, Stage(0.0))
        extra = self._random.uniform(0, stage.jitter) if stage.jitter else 0.0
        await self.clock.sleep(stage.delay + extra)
        return stage

    def _instance(self, uuid: str) -> SimulatedInstance:
        try:
            return self.instances[uuid]
        except KeyError:
            raise InstanceNotFound(f"Instance {uuid} could not be found.") from None

    async def spawn(self, instance: InstanceSpec) -> None:
        host = self._by_name.get(instance.host)
        if host is None or not host.up:
            raise HostUnavailable(f"Compute host {instance.host} is not available.")
        if instance.uuid in self.instances or instance.uuid in self._spawning:
            raise InstanceExists(f"Instance {instance.uuid} already exists.")
        self._spawning.add(instance.uuid)
        try:
            stage = await self._stage("spawn")
        finally:
            self._spawning.discard(instance.uuid)
        if stage.fails:
            raise SpawnFailed(f"Build of instance {instance.uuid} aborted: simulated failure.")
        self.instances[instance.uuid] = SimulatedInstance(
            instance.host, PowerState.RUNNING, devices=GuestDevices.at_boot(instance),
            spec=instance)
        await self._answer(instance.uuid)

    async def destroy(self, instance: InstanceSpec) -> None:
        await self._stage("destroy")
        self.instances.pop(instance.uuid, None)
        self._shelved.pop(instance.uuid, None)
        await self._answer(instance.uuid)

    async def _change_power(self, verb: str, instance: InstanceSpec,
                            expected: frozenset[PowerState] | None,
                            result: PowerState) -> None:
        """Wait for ``verb``'s stage, then move the instance to ``result``."""
        current = self._instance(instance.uuid)
        if expected is not None and current.power_state not in expected:
            raise InstanceInvalidPowerState(
                f"Instance {instance.uuid} is {current.power_state.name}, cannot {verb}.")
        stage = await self._stage(verb)
        if stage.fails:
            raise ActionFailed(f"{verb} of instance {instance.uuid} failed: simulated failure.")
        vm = self._instance(instance.uuid)
        vm.power_state, vm.spec = result, instance
        await self._answer(instance.uuid)

    async def power_off(self, instance: InstanceSpec) -> None:
        await self._change_power("power_off", instance, None, PowerState.SHUTDOWN)

    async def power_on(self, instance: InstanceSpec) -> None:
        await self._change_power("power_on", instance, None, PowerState.RUNNING)
        self._boot(instance)  # a fresh boot: uptime starts again (Tempest's boot time)

    async def reboot_soft(self, instance: InstanceSpec) -> None:
        await self._change_power("reboot_soft", instance, _RUNNING, PowerState.RUNNING)
        self._boot(instance)

    async def reboot_hard(self, instance: InstanceSpec) -> None:
        await self._change_power("reboot_hard", instance, None, PowerState.RUNNING)
        self._boot(instance)

    async def pause(self, instance: InstanceSpec) -> None:
        await self._change_power("pause", instance, _RUNNING, PowerState.PAUSED)

    async def unpause(self, instance: InstanceSpec) -> None:
        await self._change_power("unpause", instance, frozenset({PowerState.PAUSED}),
                                 PowerState.RUNNING)

    async def suspend(self, instance: InstanceSpec) -> None:
        await self._change_power("suspend", instance, _RUNNING, PowerState.SUSPENDED)

    async def resume(self, instance: InstanceSpec) -> None:
        await self._change_power("resume", instance, frozenset({PowerState.SUSPENDED}),
                                 PowerState.RUNNING)

    async def set_admin_password(self, instance: InstanceSpec, password: str) -> None:
        await self._change_power("set_admin_password", instance, _RUNNING,
                                 PowerState.RUNNING)

    async def trigger_crash_dump(self, instance: InstanceSpec) -> None:
        current = self._instance(instance.uuid).power_state
        await self._change_power("trigger_crash_dump", instance, None, current)

    async def rebuild(self, instance: InstanceSpec, power_on: bool) -> None:
        await self._change_power("rebuild", instance, None,
                                 PowerState.RUNNING if power_on else PowerState.SHUTDOWN)

    async def resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        # NOTE: as Nova's libvirt driver, before anything moves.
        if instance.root_gb < previous.root_gb or instance.ephemeral_gb < previous.ephemeral_gb:
            raise ResizeError("Resize error: Unable to resize disk down.")
        current = self._instance(instance.uuid).power_state
        await self._change_power("resize", instance, None, current)
        self._instance(instance.uuid).host = instance.host  # moved, unless the same host

    async def confirm_resize(self, instance: InstanceSpec) -> None:
        current = self._instance(instance.uuid).power_state
        await self._change_power("confirm_resize", instance, None, current)

    async def revert_resize(self, instance: InstanceSpec, previous: InstanceSpec) -> None:
        current = self._instance(instance.uuid).power_state
        await self._change_power("revert_resize", instance, None, current)
        self._instance(instance.uuid).host = previous.host

    async def live_migrate(self, instance: InstanceSpec, previous: InstanceSpec,
                           progress: ProgressListener, block_migration: bool) -> None:
        """Half the stage's time copies half the memory (and with ``block_migration`` the
        disks), the other half the rest; then the guest is on the destination, in the
        power state it had. ``live_migration_force_complete`` or ``_abort`` end the wait
        at once (completed, or ``MigrationAborted``)."""
        vm = self._instance(instance.uuid)
        target = self._by_name.get(instance.host)
        if target is None or not target.up:
            raise HostUnavailable(f"Compute host {instance.host} is not available.")
        if instance.uuid in self._live:
            raise ActionFailed(f"Instance {instance.uuid} is being migrated already.")
        memory = instance.memory_mb * 2**20
        disk = (instance.root_gb + instance.ephemeral_gb) * 2**30 if block_migration else 0
        job = LiveMigration(asyncio.current_task())
        self._live[instance.uuid] = job
        try:
            for part in (0, 1):
                progress(copied(memory, disk, part / 2))
                stage = await self._live_stage(job)
                if job.outcome is not None or stage.fails:
                    break
        finally:
            del self._live[instance.uuid]
        if job.outcome == "aborted":
            raise MigrationAborted(f"Migration of instance {instance.uuid} was cancelled.")
        if job.outcome is None and stage.fails:
            raise ActionFailed(f"live_migrate of instance {instance.uuid} failed: "
                               "simulated failure.")
        progress(copied(memory, disk, 1.0))
        vm.host = instance.host

    async def _live_stage(self, job: LiveMigration) -> Stage:
        """Half the ``live_migrate`` stage, cut short by a force-complete or an abort.
        NOTE: those cancel this task's wait on the clock, the one way to wake it early
        (the task stays parked on the clock while it waits, as the control plane needs);
        a cancellation from anyone else (the server deleted) goes on up."""
        stage = self.stages.get("live_migrate", Stage(0.0))
        half = Stage(stage.delay / 2, stage.jitter / 2, stage.fails)
        try:
            extra = self._random.uniform(0, half.jitter) if half.jitter else 0.0
            await self.clock.sleep(half.delay + extra)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if job.outcome is None or task is None:
                raise
            task.uncancel()
        return half

    def _job(self, instance: InstanceSpec) -> LiveMigration:
        job = self._live.get(instance.uuid)
        if job is None or job.outcome is not None:
            raise NoLiveMigration(f"No live migration of instance {instance.uuid} is running.")
        return job

    async def live_migration_force_complete(self, instance: InstanceSpec) -> None:
        self._job(instance).end("forced")

    async def live_migration_abort(self, instance: InstanceSpec) -> None:
        self._job(instance).end("aborted")

    async def evacuate(self, instance: InstanceSpec, previous: InstanceSpec,
                       power_on: bool) -> None:
        """Build the guest again on its new host (a fresh boot); nothing of it is left on
        the source."""
        host = self._by_name.get(instance.host)
        if host is None or not host.up:
            raise HostUnavailable(f"Compute host {instance.host} is not available.")
        stage = await self._stage("evacuate")
        if stage.fails:
            raise ActionFailed(f"evacuate of instance {instance.uuid} failed: "
                               "simulated failure.")
        old = self.instances.get(instance.uuid)  # its volumes and ports go with it
        self.instances[instance.uuid] = SimulatedInstance(
            instance.host, PowerState.RUNNING if power_on else PowerState.SHUTDOWN,
            devices=old.devices if old else GuestDevices.at_boot(instance), spec=instance)
        await self._answer(instance.uuid)

    async def snapshot(self, instance: InstanceSpec) -> bytes:
        current = self._instance(instance.uuid).power_state
        await self._change_power("snapshot", instance, None, current)
        return empty_qcow2(max(instance.root_gb, 1) * 1024**3)

    def _boot(self, instance: InstanceSpec, rescue: bool = False) -> None:
        """Record a (re)boot: uptime restarts and the console log grows."""
        self._instance(instance.uuid).boots.append(Boot(rescue=rescue))

    async def rescue(self, instance: InstanceSpec, password: str,
                     rescue_image_id: str | None = None) -> None:
        await self._change_power("rescue", instance, None, PowerState.RUNNING)
        self._boot(instance, rescue=True)

    async def unrescue(self, instance: InstanceSpec) -> None:
        await self._change_power("unrescue", instance, None, PowerState.RUNNING)
        self._boot(instance)

    async def shelve(self, instance: InstanceSpec) -> None:
        await self._change_power("shelve", instance, None, PowerState.SHUTDOWN)

    async def shelve_offload(self, instance: InstanceSpec) -> None:
        stage = await self._stage("shelve_offload")
        if stage.fails:
            raise ActionFailed(f"shelve_offload of instance {instance.uuid} failed: "
                               "simulated failure.")
        vm = self.instances.pop(instance.uuid, None)
        if vm is not None:
            self._shelved[instance.uuid] = vm.devices
        await self._answer(instance.uuid)

    async def unshelve(self, instance: InstanceSpec) -> None:
        if instance.uuid not in self.instances:
            await self.spawn(instance)  # offloaded: boot the snapshot on the new host
            self.instances[instance.uuid].devices = self._shelved.pop(
                instance.uuid, self.instances[instance.uuid].devices)
            await self._answer(instance.uuid)
            return
        await self._change_power("unshelve", instance, None, PowerState.RUNNING)
        self._boot(instance)

    async def soft_delete(self, instance: InstanceSpec) -> None:
        await self._change_power("soft_delete", instance, None, PowerState.SHUTDOWN)

    async def restore(self, instance: InstanceSpec) -> None:
        await self._change_power("restore", instance, None, PowerState.RUNNING)
        self._boot(instance)

    async def get_console_output(self, instance: InstanceSpec) -> str:
        vm = self._instance(instance.uuid)
        return console_log(instance, vm.boots, vm.devices.console)

    def _devices(self, uuid: str) -> tuple[GuestDevices, int]:
        vm = self._instance(uuid)
        return vm.devices, len(vm.boots)

    async def _device_stage(self, verb: str, uuid: str) -> None:
        if (await self._stage(verb)).fails:
            raise ActionFailed(f"{verb} of instance {uuid} failed: simulated failure.")

    def _running(self, uuid: str) -> tuple[SimulatedInstance, InstanceSpec] | None:
        """The instance and its spec while its guest runs; else None."""
        vm = self.instances.get(uuid)
        if vm is None or vm.spec is None or vm.power_state != PowerState.RUNNING:
            return None
        return vm, vm.spec

    async def _answer(self, uuid: str) -> None:
        """A running guest answers SSH on its reachable addresses (``backends.reach``);
        a stopped or gone one on none."""
        if (running := self._running(uuid)) is None:
            return await self.ssh.sync(uuid, None, ())
        login = Login(running[1].key_data, view=lambda: self._view(uuid),
                      console=lambda line: self._console_line(uuid, line))
        await self.ssh.sync(uuid, login, vif_addresses(running[0].devices.addresses.values()))

    def _view(self, uuid: str) -> GuestView | None:
        """What the guest's shell sees now; None once it no longer runs."""
        running = self._running(uuid)
        return None if running is None else guest_view(running[1], running[0].devices,
                                                       running[0].boots[-1].at)

    def _console_line(self, uuid: str, line: str) -> None:
        vm = self.instances.get(uuid)
        if vm is not None:
            vm.devices.console.append((len(vm.boots), line))

    def guest_processes(self) -> tuple[GuestProcess, ...]:
        return ()  # no process runs a simulated guest

    async def get_vnc_socket(self, instance: InstanceSpec) -> str:
        self._instance(instance.uuid)
        raise NotSupported("The simulated cloud has no guest display to show.")

    async def get_diagnostics(self, instance: InstanceSpec) -> Diagnostics:
        current = self._instance(instance.uuid)
        return diagnostics(instance, current.power_state, current.boots[-1].at)

    async def get_info(self, instance: InstanceSpec) -> InstanceInfo:
        return InstanceInfo(power_state=self._instance(instance.uuid).power_state)

    async def recover(
        self, instances: Sequence[tuple[InstanceSpec, PowerState]]
    ) -> dict[str, PowerState]:
        """Memory does not survive a restart: adopt what the database recorded."""
        for spec, recorded in instances:
            self.instances.setdefault(spec.uuid, SimulatedInstance(
                spec.host, recorded, devices=GuestDevices.at_boot(spec), spec=spec))
            await self._answer(spec.uuid)
        return {spec.uuid: self.instances[spec.uuid].power_state for spec, _ in instances}

    def reset(self) -> None:
        """Forget every instance (the clock is the emulator's: its owner resets it)."""
        self.instances.clear()
        self._spawning.clear()
        self._shelved.clear()
        self.ssh.close()
