"""The simulated backend: hosts are data, instances live in memory, stages take time.

Each verb waits for its stage (``STAGES``: delay plus jitter, on the ``Clock``) and then
applies its effect to the in-memory instance. The domain above the seam decides what the
server's state is; this backend only reports power states.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from backends.base import (
    BackendError,
    HostInfo,
    HostUnavailable,
    InstanceExists,
    InstanceInfo,
    InstanceNotFound,
    InstanceSpec,
    PowerState,
    SpawnFailed,
)
from backends.simulated.clock import Clock, Progression

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
    """``compute-001`` ... named hosts of one shape spread over ``zones`` (name, count)."""
    width = max(3, len(str(sum(count for _, count in zones))))
    hosts: list[HostInfo] = []
    for zone, count in zones:
        for _ in range(count):
            hosts.append(HostInfo(
                name=f"compute-{len(hosts) + 1:0{width}d}", availability_zone=zone,
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


@dataclass
class SimulatedInstance:
    host: str
    power_state: PowerState


class SimulatedBackend:
    name = "simulated"

    def __init__(
        self,
        hosts: Sequence[HostInfo] | None = None,
        progression: Progression = Progression.IMMEDIATE,
        stages: Mapping[str, Stage] | None = None,
        seed: int | None = None,
    ) -> None:
        self._hosts = list(hosts) if hosts is not None else default_hosts()
        self._by_name = {h.name: h for h in self._hosts}
        self.clock = Clock(progression)
        self.stages = dict(STAGES if stages is None else stages)
        self.instances: dict[str, SimulatedInstance] = {}
        self._spawning: set[str] = set()
        self._random = random.Random(seed)

    def hosts(self) -> list[HostInfo]:
        return list(self._hosts)

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
        self.instances[instance.uuid] = SimulatedInstance(instance.host, PowerState.RUNNING)

    async def destroy(self, instance: InstanceSpec) -> None:
        await self._stage("destroy")
        self.instances.pop(instance.uuid, None)

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
        self._instance(instance.uuid).power_state = result

    async def power_off(self, instance: InstanceSpec) -> None:
        await self._change_power("power_off", instance, None, PowerState.SHUTDOWN)

    async def power_on(self, instance: InstanceSpec) -> None:
        await self._change_power("power_on", instance, None, PowerState.RUNNING)

    async def reboot_soft(self, instance: InstanceSpec) -> None:
        await self._change_power("reboot_soft", instance, _RUNNING, PowerState.RUNNING)

    async def reboot_hard(self, instance: InstanceSpec) -> None:
        await self._change_power("reboot_hard", instance, None, PowerState.RUNNING)

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

    async def get_info(self, instance: InstanceSpec) -> InstanceInfo:
        return InstanceInfo(power_state=self._instance(instance.uuid).power_state)

    async def recover(
        self, instances: Sequence[tuple[InstanceSpec, PowerState]]
    ) -> dict[str, PowerState]:
        """Memory does not survive a restart: adopt what the database recorded."""
        for spec, recorded in instances:
            self.instances.setdefault(spec.uuid, SimulatedInstance(spec.host, recorded))
        return {spec.uuid: self.instances[spec.uuid].power_state for spec, _ in instances}

    def reset(self) -> None:
        """Forget every instance and restart the clock at zero (its mode is kept)."""
        self.instances.clear()
        self._spawning.clear()
        self.clock.reset()
