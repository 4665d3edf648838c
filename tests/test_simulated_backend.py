"""The simulated backend: its clock (immediate, time, manual), stages, and the verbs' contract."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import pytest

from backends.base import (
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
    Clock,
    Progression,
    SimulatedBackend,
    Stage,
    default_hosts,
)


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


async def spin(times: int = 10) -> None:
    """Let woken tasks run."""
    for _ in range(times):
        await asyncio.sleep(0)


def spec(uuid: str = "u-1", host: str = "compute-001") -> InstanceSpec:
    return InstanceSpec(uuid=uuid, name=uuid, hostname=uuid, host=host, project_id="p",
                        vcpus=1, memory_mb=512, root_gb=1)


# -- clock: immediate and time ------------------------------------------------------------------


def test_immediate_sleeps_do_not_wait() -> None:
    clock = Clock(Progression.IMMEDIATE)
    started = time.monotonic()
    run(clock.sleep(3600))
    assert time.monotonic() - started < 0.5
    assert clock.now == 0.0 and clock.waiting == 0


def test_time_sleeps_take_wall_clock_time() -> None:
    clock = Clock(Progression.TIME)
    started = time.monotonic()
    run(clock.sleep(0.05))
    assert time.monotonic() - started >= 0.045
    assert clock.waiting == 0


def test_non_positive_sleeps_only_yield_in_every_mode() -> None:
    for mode in Progression:
        clock = Clock(mode)
        run(clock.sleep(0))
        run(clock.sleep(-1))
        assert clock.waiting == 0


# -- clock: manual ------------------------------------------------------------------------------


def test_manual_advance_wakes_sleepers_in_deadline_order() -> None:
    async def main() -> list[int]:
        clock = Clock(Progression.MANUAL)
        order: list[int] = []

        async def sleeper(seconds: int) -> None:
            await clock.sleep(seconds)
            order.append(seconds)

        tasks = [asyncio.create_task(sleeper(s)) for s in (30, 10, 20)]
        await spin()
        assert clock.waiting == 3 and order == []
        assert clock.advance(9) == 0
        await spin()
        assert order == []
        assert clock.advance(16) == 2  # now 25: the 10 s and 20 s sleepers
        await spin()
        assert order == [10, 20] and clock.waiting == 1 and clock.now == 25
        assert clock.advance(5) == 1
        await asyncio.gather(*tasks)
        return order

    assert run(main()) == [10, 20, 30]


def test_manual_equal_deadlines_wake_in_sleep_order() -> None:
    async def main() -> list[str]:
        clock = Clock(Progression.MANUAL)
        order: list[str] = []

        async def sleeper(name: str) -> None:
            await clock.sleep(5)
            order.append(name)

        tasks = [asyncio.create_task(sleeper(n)) for n in "abc"]
        await spin()
        clock.advance(5)
        await asyncio.gather(*tasks)
        return order

    assert run(main()) == ["a", "b", "c"]


def test_time_does_not_move_backwards() -> None:
    clock = Clock(Progression.MANUAL)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        run(clock.advance_through(-1, spin))


@pytest.mark.parametrize("mode", [Progression.IMMEDIATE, Progression.TIME])
def test_switching_away_from_manual_wakes_everyone(mode: Progression) -> None:
    async def main() -> None:
        clock = Clock(Progression.MANUAL)
        tasks = [asyncio.create_task(clock.sleep(s)) for s in (1, 100, 10_000)]
        await spin()
        assert clock.waiting == 3
        clock.mode = mode
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=1)
        assert clock.waiting == 0 and clock.now == 0

    run(main())


def test_switching_to_manual_parks_new_sleepers_only() -> None:
    async def main() -> None:
        clock = Clock(Progression.IMMEDIATE)
        clock.mode = Progression.MANUAL
        task = asyncio.create_task(clock.sleep(1))
        await spin()
        assert not task.done() and clock.waiting == 1
        clock.advance(1)
        await asyncio.wait_for(task, timeout=1)

    run(main())


def test_advance_through_lets_woken_sleepers_sleep_again_from_their_deadline() -> None:
    async def main() -> None:
        clock = Clock(Progression.MANUAL)
        marks: list[float] = []

        async def two_stages() -> None:
            await clock.sleep(10)
            marks.append(clock.now)
            await clock.sleep(10)
            marks.append(clock.now)

        task = asyncio.create_task(two_stages())
        await spin()
        assert await clock.advance_through(25, spin) == 2
        assert marks == [10, 20] and task.done() and clock.now == 25

        # A one-jump advance wakes the first stage only; the second starts from there.
        marks.clear()
        task = asyncio.create_task(two_stages())
        await spin()
        clock.advance(25)
        await spin()
        assert marks == [50] and clock.next_deadline() == 60
        clock.advance(10)
        await asyncio.wait_for(task, timeout=1)

    run(main())


def test_parked_tells_a_sleeping_task_from_a_woken_one() -> None:
    async def main() -> None:
        clock = Clock(Progression.MANUAL)
        task = asyncio.create_task(clock.sleep(5))
        await spin()
        assert clock.parked(task)
        clock.advance(5)
        assert not clock.parked(task)  # woken, not yet run
        await task
        assert not clock.parked(task)

        timed = Clock(Progression.TIME)
        task = asyncio.create_task(timed.sleep(10))
        await spin()
        assert timed.parked(task)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not timed.parked(task)

    run(main())


def test_reset_cancels_sleepers_and_restarts_at_zero() -> None:
    async def main() -> None:
        clock = Clock(Progression.MANUAL)
        clock.advance(7)
        task = asyncio.create_task(clock.sleep(5))
        await spin()
        clock.reset()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert clock.now == 0 and clock.waiting == 0 and clock.mode is Progression.MANUAL
        assert clock.next_deadline() is None

    run(main())


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
    backend = SimulatedBackend(hosts)
    assert len(backend.hosts()) == 12000
    assert time.perf_counter() - started < 2.0
    names = [h.name for h in hosts]
    assert len(set(names)) == 12000 and names == sorted(names)
    assert names[0] == "compute-00001" and names[-1] == "compute-12000"


def test_hosts_is_a_copy() -> None:
    backend = SimulatedBackend()
    backend.hosts().clear()
    assert len(backend.hosts()) == 8


# -- stages -------------------------------------------------------------------------------------


def recording(backend: SimulatedBackend) -> list[float]:
    """Replace the backend's clock sleep by one that records what it was asked to wait."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    backend.clock.sleep = sleep  # type: ignore[method-assign]
    return slept


def test_stage_delays_stay_within_their_jitter() -> None:
    backend = SimulatedBackend(stages={"spawn": Stage(delay=5.0, jitter=2.0),
                                       "destroy": Stage(delay=1.0)}, seed=7)
    slept = recording(backend)

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
        backend = SimulatedBackend(seed=seed)
        slept = recording(backend)
        for index in range(5):
            run(backend.spawn(spec(f"u-{index}")))
        return slept

    assert delays(1) == delays(1)
    assert delays(1) != delays(2)


def test_default_stage_table() -> None:
    assert set(STAGES) >= {"spawn", "destroy"}
    assert all(s.delay >= 0 and s.jitter >= 0 and not s.fails for s in STAGES.values())
    assert SimulatedBackend().stages == dict(STAGES)


def test_a_verb_without_a_stage_takes_no_time() -> None:
    backend = SimulatedBackend(stages={})
    slept = recording(backend)
    run(backend.spawn(spec()))
    assert slept == [0.0]


# -- verbs --------------------------------------------------------------------------------------


def test_spawn_runs_and_get_info_reports_it() -> None:
    backend = SimulatedBackend()
    run(backend.spawn(spec()))
    assert run(backend.get_info(spec())).power_state is PowerState.RUNNING
    assert backend.instances["u-1"].host == "compute-001"


def test_spawn_twice_is_instance_exists() -> None:
    backend = SimulatedBackend()
    run(backend.spawn(spec()))
    with pytest.raises(InstanceExists):
        run(backend.spawn(spec()))


def test_a_second_spawn_while_the_first_is_in_its_stage_is_instance_exists() -> None:
    async def main() -> None:
        backend = SimulatedBackend(progression=Progression.MANUAL)
        first = asyncio.create_task(backend.spawn(spec()))
        await spin()
        with pytest.raises(InstanceExists):
            await backend.spawn(spec())
        backend.clock.advance(3600)
        await first
        assert (await backend.get_info(spec())).power_state is PowerState.RUNNING

    run(main())


def test_a_cancelled_spawn_leaves_nothing_behind() -> None:
    async def main() -> None:
        backend = SimulatedBackend(progression=Progression.MANUAL)
        task = asyncio.create_task(backend.spawn(spec()))
        await spin()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert "u-1" not in backend.instances
        backend.clock.mode = Progression.IMMEDIATE
        await backend.spawn(spec())  # not "already exists"

    run(main())


def test_spawn_on_an_unknown_or_down_host_is_host_unavailable() -> None:
    hosts = [HostInfo("up-1", "nova", "fake", 4, 4096, 40),
             HostInfo("down-1", "nova", "fake", 4, 4096, 40, up=False)]
    backend = SimulatedBackend(hosts)
    with pytest.raises(HostUnavailable):
        run(backend.spawn(spec(host="nowhere")))
    with pytest.raises(HostUnavailable):
        run(backend.spawn(spec(host="down-1")))
    run(backend.spawn(spec(host="up-1")))
    assert backend.instances == {"u-1": backend.instances["u-1"]}


def test_a_failing_stage_raises_spawn_failed() -> None:
    backend = SimulatedBackend(stages={"spawn": Stage(delay=0.0, fails=True)})
    with pytest.raises(SpawnFailed, match="simulated failure"):
        run(backend.spawn(spec()))
    assert backend.instances == {}
    with pytest.raises(InstanceNotFound):
        run(backend.get_info(spec()))


def test_destroy_removes_and_tolerates_unknown_instances() -> None:
    backend = SimulatedBackend()
    run(backend.destroy(spec("never-there")))
    run(backend.spawn(spec()))
    run(backend.destroy(spec()))
    with pytest.raises(InstanceNotFound, match="u-1"):
        run(backend.get_info(spec()))


def test_destroy_waits_for_its_stage_on_a_manual_clock() -> None:
    async def main() -> None:
        backend = SimulatedBackend(progression=Progression.MANUAL,
                                   stages={"spawn": Stage(0.0), "destroy": Stage(4.0)})
        await backend.spawn(spec())
        task = asyncio.create_task(backend.destroy(spec()))
        await spin()
        assert not task.done() and "u-1" in backend.instances
        backend.clock.advance(4)
        await task
        assert "u-1" not in backend.instances

    run(main())


def test_recover_adopts_recorded_states_and_keeps_live_ones() -> None:
    backend = SimulatedBackend()
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


def test_reset_forgets_instances_and_restarts_the_clock() -> None:
    backend = SimulatedBackend()
    run(backend.spawn(spec()))
    backend.clock.mode = Progression.MANUAL
    backend.clock.advance(12)
    backend.reset()
    assert backend.instances == {}
    assert backend.clock.now == 0 and backend.clock.mode is Progression.MANUAL
    with pytest.raises(InstanceNotFound):
        run(backend.get_info(spec()))
