"""The emulator's clock: immediate, wall-clock and manual progression."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import pytest

from emulator.clock import Clock, Progression


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


async def spin(times: int = 10) -> None:
    """Let woken tasks run."""
    for _ in range(times):
        await asyncio.sleep(0)


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
