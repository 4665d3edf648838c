"""The simulated backend: hosts, stages on the emulator's clock, and the verbs' contract."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from typing import Any

import pytest

from backends.base import (
    ComputeBackend,
    HostInfo,
    HostUnavailable,
    InstanceExists,
    InstanceNotFound,
    InstanceSpec,
    PowerState,
    SpawnFailed,
)
from backends.simulated import (
    DEFAULT_ZONES,
    STAGES,
    SimulatedBackend,
    Stage,
    default_hosts,
)
from emulator.clock import Clock, Progression
from tests.test_clock import run, spin


def spec(uuid: str = "u-1", host: str = "compute-001") -> InstanceSpec:
    return InstanceSpec(uuid=uuid, name=uuid, hostname=uuid, host=host, project_id="p",
                        vcpus=1, memory_mb=512, root_gb=1)


def simulated(hosts: list[HostInfo] | None = None, **kwargs: Any) -> SimulatedBackend:
    """A simulated backend on an immediate clock of its own."""
    return SimulatedBackend(hosts, clock=Clock(), **kwargs)


class Recording:
    """A ``backends.base.Clock`` that only records what it was asked to wait."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float, stage: bool = True) -> None:
        self.slept.append(seconds)


# -- hosts --------------------------------------------------------------------------------------


def test_default_hosts_spread_over_the_default_zones() -> None:
    hosts = default_hosts()
    assert len(hosts) == sum(count for _, count in DEFAULT_ZONES) == 8
    assert [h.name for h in hosts[:2]] == ["compute-001", "compute-002"]
    assert [h.availability_zone for h in hosts] == ["nova"] * 4 + ["az2"] * 4
    assert all(h.vcpus == 32 and h.memory_mb == 131072 and h.local_gb == 2000 for h in hosts)


def test_default_hosts_take_a_shape_and_ratios() -> None:
    hosts = default_hosts([("a", 1), ("b", 2)], vcpus=8, memory_mb=4096, local_gb=40,
                          cpu_allocation_ratio=16.0, ram_allocation_ratio=1.5,
                          disk_allocation_ratio=2.0)
    assert [(h.name, h.availability_zone) for h in hosts] == [
        ("compute-001", "a"), ("compute-002", "b"), ("compute-003", "b")]
    assert {(h.vcpus, h.memory_mb, h.local_gb, h.cpu_allocation_ratio,
             h.ram_allocation_ratio, h.disk_allocation_ratio) for h in hosts} == {
        (8, 4096, 40, 16.0, 1.5, 2.0)}


def test_thousands_of_hosts_are_cheap_and_sort_by_name() -> None:
    started = time.perf_counter()
    hosts = default_hosts([("nova", 6000), ("az2", 6000)])
    backend = simulated(hosts)
    assert len(backend.hosts()) == 12000
    assert time.perf_counter() - started < 2.0
    names = [h.name for h in hosts]
    assert len(set(names)) == 12000 and names == sorted(names)
    assert names[0] == "compute-00001" and names[-1] == "compute-12000"


def test_hosts_is_a_copy() -> None:
    backend = simulated()
    backend.hosts().clear()
    assert len(backend.hosts()) == 8


# -- stages -------------------------------------------------------------------------------------


def test_stage_delays_stay_within_their_jitter() -> None:
    clock = Recording()
    backend = SimulatedBackend(clock=clock, stages={"spawn": Stage(delay=5.0, jitter=2.0),
                                                    "destroy": Stage(delay=1.0)}, seed=7)
    slept = clock.slept

    async def main() -> None:
        for index in range(200):
            await backend.spawn(spec(f"u-{index}"))
            await backend.destroy(spec(f"u-{index}"))

    run(main())
    spawns, destroys = slept[0::2], slept[1::2]
    assert all(5.0 <= s <= 7.0 for s in spawns)
    assert len(set(spawns)) > 100  # jitter does vary
    assert set(destroys) == {1.0}


def test_the_seed_makes_jitter_reproducible() -> None:
    def delays(seed: int) -> list[float]:
        clock = Recording()
        backend = SimulatedBackend(clock=clock, seed=seed)
        slept = clock.slept
        for index in range(5):
            run(backend.spawn(spec(f"u-{index}")))
        return slept

    assert delays(1) == delays(1)
    assert delays(1) != delays(2)


def test_default_stage_table() -> None:
    assert set(STAGES) >= {"spawn", "destroy"}
    assert all(s.delay >= 0 and s.jitter >= 0 and not s.fails for s in STAGES.values())
    assert simulated().stages == dict(STAGES)


def test_a_verb_without_a_stage_takes_no_time() -> None:
    clock = Recording()
    backend = SimulatedBackend(clock=clock, stages={})
    run(backend.spawn(spec()))
    assert clock.slept == [0.0]


# -- verbs --------------------------------------------------------------------------------------


def test_spawn_runs_and_get_info_reports_it() -> None:
    backend = simulated()
    run(backend.spawn(spec()))
    assert run(backend.get_info(spec())).power_state is PowerState.RUNNING
    assert backend.instances["u-1"].host == "compute-001"


def test_spawn_twice_is_instance_exists() -> None:
    backend = simulated()
    run(backend.spawn(spec()))
    with pytest.raises(InstanceExists):
        run(backend.spawn(spec()))


def test_a_second_spawn_while_the_first_is_in_its_stage_is_instance_exists() -> None:
    async def main() -> None:
        clock = Clock(Progression.MANUAL)
        backend = SimulatedBackend(clock=clock)
        first = asyncio.create_task(backend.spawn(spec()))
        await spin()
        with pytest.raises(InstanceExists):
            await backend.spawn(spec())
        clock.advance(3600)
        await first
        assert (await backend.get_info(spec())).power_state is PowerState.RUNNING

    run(main())


def test_a_cancelled_spawn_leaves_nothing_behind() -> None:
    async def main() -> None:
        clock = Clock(Progression.MANUAL)
        backend = SimulatedBackend(clock=clock)
        task = asyncio.create_task(backend.spawn(spec()))
        await spin()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert "u-1" not in backend.instances
        clock.mode = Progression.IMMEDIATE
        await backend.spawn(spec())  # not "already exists"

    run(main())


def test_spawn_on_an_unknown_or_down_host_is_host_unavailable() -> None:
    hosts = [HostInfo("up-1", "nova", "fake", 4, 4096, 40),
             HostInfo("down-1", "nova", "fake", 4, 4096, 40, up=False)]
    backend = simulated(hosts)
    with pytest.raises(HostUnavailable):
        run(backend.spawn(spec(host="nowhere")))
    with pytest.raises(HostUnavailable):
        run(backend.spawn(spec(host="down-1")))
    run(backend.spawn(spec(host="up-1")))
    assert backend.instances == {"u-1": backend.instances["u-1"]}


def test_a_failing_stage_raises_spawn_failed() -> None:
    backend = simulated(stages={"spawn": Stage(delay=0.0, fails=True)})
    with pytest.raises(SpawnFailed, match="simulated failure"):
        run(backend.spawn(spec()))
    assert backend.instances == {}
    with pytest.raises(InstanceNotFound):
        run(backend.get_info(spec()))


def test_destroy_removes_and_tolerates_unknown_instances() -> None:
    backend = simulated()
    run(backend.destroy(spec("never-there")))
    run(backend.spawn(spec()))
    run(backend.destroy(spec()))
    with pytest.raises(InstanceNotFound, match="u-1"):
        run(backend.get_info(spec()))


def test_destroy_waits_for_its_stage_on_a_manual_clock() -> None:
    async def main() -> None:
        clock = Clock(Progression.MANUAL)
        backend = SimulatedBackend(clock=clock,
                                   stages={"spawn": Stage(0.0), "destroy": Stage(4.0)})
        await backend.spawn(spec())
        task = asyncio.create_task(backend.destroy(spec()))
        await spin()
        assert not task.done() and "u-1" in backend.instances
        clock.advance(4)
        await task
        assert "u-1" not in backend.instances

    run(main())


def test_recover_adopts_recorded_states_and_keeps_live_ones() -> None:
    backend = simulated()
    run(backend.spawn(spec("live")))
    states = run(backend.recover([
        (spec("live"), PowerState.SHUTDOWN),
        (spec("stopped"), PowerState.SHUTDOWN),
        (spec("running", host="compute-002"), PowerState.RUNNING),
    ]))
    assert states == {"live": PowerState.RUNNING, "stopped": PowerState.SHUTDOWN,
                      "running": PowerState.RUNNING}
    assert run(backend.get_info(spec("stopped"))).power_state is PowerState.SHUTDOWN
    assert backend.instances["running"].host == "compute-002"
    assert run(backend.recover([])) == {}


def test_reset_forgets_instances_and_leaves_the_clock_to_its_owner() -> None:
    clock = Clock()
    backend = SimulatedBackend(clock=clock)
    run(backend.spawn(spec()))
    clock.mode = Progression.MANUAL
    clock.advance(12)
    backend.reset()
    assert backend.instances == {}
    assert clock.now == 12 and clock.mode is Progression.MANUAL
    with pytest.raises(InstanceNotFound):
        run(backend.get_info(spec()))


# -- the seam's shared parts ---------------------------------------------------------------------


def test_power_states_carry_novas_names() -> None:
    """``nova.compute.power_state.STATE_MAP``."""
    assert {state.value: state.nova_name for state in PowerState} == {
        0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed", 7: "suspended"}


def test_the_power_listener_is_kept_and_verbs_are_no_news() -> None:
    """A simulated instance changes power state only through a verb, whose outcome the
    domain records itself: the listener is kept and never told."""
    told: list[tuple[str, PowerState]] = []

    async def listener(uuid: str, state: PowerState) -> None:
        told.append((uuid, state))

    async def main() -> None:
        backend: ComputeBackend = simulated()
        backend.set_power_listener(listener)
        await backend.spawn(spec())
        await backend.power_off(spec())
        await backend.power_on(spec())
        await backend.pause(spec())
        await backend.close()
        assert (await backend.get_info(spec())).power_state is PowerState.PAUSED

    run(main())
    assert told == []


def test_diagnostics_name_the_power_state_as_nova() -> None:
    backend = simulated()
    run(backend.spawn(spec()))
    assert run(backend.get_diagnostics(spec())).state == "running"
    run(backend.suspend(spec()))
    assert run(backend.get_diagnostics(spec())).state == "suspended"


# -- console output -----------------------------------------------------------------------------


def console_of(uuid: str) -> list[str]:
    backend = simulated()
    instance = InstanceSpec(uuid=uuid, name="vm", hostname="vm-host", host="compute-001",
                            project_id="p", vcpus=1, memory_mb=512, root_gb=1)
    run(backend.spawn(instance))
    run(backend.reboot_hard(instance))  # a second boot in the log
    return str(run(backend.get_console_output(instance))).splitlines()


def test_reboots_and_starts_are_new_boots() -> None:
    """Each starts the guest's uptime again (Tempest's hard-reboot test compares the boot
    time its guest reports before and after) and prints a boot on the console."""
    backend = simulated()
    instance = InstanceSpec(uuid="u-boots", name="vm", hostname="vm", host="compute-001",
                            project_id="p", vcpus=1, memory_mb=512, root_gb=1)
    run(backend.spawn(instance))
    for verb in (backend.reboot_soft, backend.reboot_hard, backend.power_off,
                 backend.power_on):
        before = backend.instances[instance.uuid].boots[-1].at
        time.sleep(0.01)
        run(verb(instance))
        after = backend.instances[instance.uuid].boots[-1].at
        assert (after > before) == (verb != backend.power_off), verb
    assert len(backend.instances[instance.uuid].boots) == 4


UUIDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(12)]


@pytest.mark.parametrize("uuid", UUIDS)
def test_console_uptimes_are_decimal_seconds_that_grow_within_a_boot(uuid: str) -> None:
    lines = [line for line in console_of(uuid) if line.startswith("Cloud-init v.")]
    uptimes = [re.search(r"Up (\S+) seconds", line) for line in lines]
    assert len(uptimes) == 10 and all(uptimes)
    values = [u.group(1) for u in uptimes if u]
    assert all(re.fullmatch(r"\d+\.\d\d", v) for v in values), values
    for boot in (values[:5], values[5:]):
        assert [float(v) for v in boot] == sorted(float(v) for v in boot)


@pytest.mark.parametrize("uuid", UUIDS)
def test_console_cloud_init_lines_carry_an_rfc2822_timestamp(uuid: str) -> None:
    """cloud-init's ``Cloud-init v. <version> running '<stage>' at <RFC 2822 time>. Up <s>
    seconds.`` and ``... finished at <time>. Datasource <ds>.  Up <s> seconds``."""
    stamp = r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000"
    lines = [line for line in console_of(uuid) if line.startswith("Cloud-init v.")]
    running = [line for line in lines if " running " in line]
    finished = [line for line in lines if " finished " in line]
    assert len(running) == 8 and len(finished) == 2
    assert all(re.fullmatch(rf"Cloud-init v\. \S+ running '[a-z:-]+' at {stamp}\. "
                            r"Up \d+\.\d\d seconds\.", line) for line in running), running
    assert all(re.fullmatch(rf"Cloud-init v\. \S+ finished at {stamp}\. Datasource .+\.  "
                            r"Up \d+\.\d\d seconds", line) for line in finished), finished


@pytest.mark.parametrize("uuid", UUIDS)
def test_console_host_key_fingerprints_are_ssh_keygen_sha256(uuid: str) -> None:
    """``ssh-keygen -l``: bits, ``SHA256:`` + the unpadded base64 of a 32-byte digest, the
    key's comment and its type; a host keeps its keys across reboots."""
    lines = console_of(uuid)
    begin_line = "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
    begins = [i for i, line in enumerate(lines) if line == begin_line]
    assert len(begins) == 2
    blocks = []
    for begin in begins:
        end = lines.index("-----END SSH HOST KEY FINGERPRINTS-----", begin)
        blocks.append(lines[begin + 1:end])
    assert blocks[0] == blocks[1] and len(blocks[0]) == 2
    seen = set()
    for line in blocks[0]:
        found = re.fullmatch(r"256 SHA256:(\S+) root@vm-host \((ECDSA|ED25519)\)", line)
        assert found, line
        fingerprint = found.group(1)
        assert re.fullmatch(r"[A-Za-z0-9+/]{43}", fingerprint), fingerprint
        digest = base64.b64decode(fingerprint + "=")
        assert len(digest) == 32
        assert base64.b64encode(digest).decode().rstrip("=") == fingerprint
        assert not re.fullmatch(r"[0-9a-f]+", fingerprint), "hex, not base64"
        seen.add(fingerprint)
    assert len(seen) == 2
