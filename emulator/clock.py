"""The emulator's time: immediate, wall-clock, or a virtual clock moved by hand.

One ``Clock`` per emulator (``emulator.api.app`` builds it from ``[simulated]
progression``). The simulated backend waits its stages on it, the compute domain its
windows (e.g. the resize auto-confirm), and the control plane switches
its mode and moves it. It meets ``backends.base.Clock``, the seam's view of time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any


class Progression(StrEnum):
    IMMEDIATE = "immediate"  # every stage completes at once (conformance default)
    TIME = "time"  # stages take their delay in wall-clock seconds (demos)
    MANUAL = "manual"  # stages wait for the control plane to advance a virtual clock


#: ``advance_through`` stops stepping deadline by deadline after this many steps and wakes
#: the rest at once (a sleeper that sleeps in a tight loop cannot pin the control plane).
MAX_STEPS = 10_000


class Clock:
    """``sleep`` as the current progression mode defines it.

    In MANUAL mode sleepers wait on a heap of deadlines; ``advance`` moves virtual time
    forward and wakes every sleeper whose deadline has passed, earliest deadline first.
    Switching away from MANUAL wakes everyone, so no operation stays parked on a clock
    nobody will move. ``parked(task)`` tells whether a task is idle in ``sleep`` (the
    control plane waits for woken operations to park again or finish).
    """

    def __init__(self, mode: Progression = Progression.IMMEDIATE) -> None:
        self._mode = mode
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        #: Tasks inside ``sleep``: their manual-clock future, or None for a wall-clock sleep.
        self._parked: dict[asyncio.Task[Any], asyncio.Future[None] | None] = {}

    @property
    def mode(self) -> Progression:
        return self._mode

    @mode.setter
    def mode(self, mode: Progression) -> None:
        self._mode = mode
        if mode is not Progression.MANUAL:
            self._wake(float("inf"))

    async def sleep(self, seconds: float, stage: bool = True) -> None:
        """Wait ``seconds`` of the clock's time. A ``stage`` is skipped in IMMEDIATE mode;
        anything else (a timeout, a periodic task's window) takes wall-clock time there."""
        if seconds <= 0 or (stage and self._mode is Progression.IMMEDIATE):
            await asyncio.sleep(0)
            return
        task = asyncio.current_task()
        future: asyncio.Future[None] | None = None
        if self._mode is Progression.MANUAL:
            future = asyncio.get_running_loop().create_future()
            heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        if task is not None:
            self._parked[task] = future
        try:
            await (asyncio.sleep(seconds) if future is None else future)
        finally:
            if task is not None:
                self._parked.pop(task, None)

    def parked(self, task: asyncio.Task[Any]) -> bool:
        """True while ``task`` waits in ``sleep`` and nothing has woken it yet."""
        if task not in self._parked:
            return False
        future = self._parked[task]
        return future is None or not future.done()

    def advance(self, seconds: float) -> int:
        """Move virtual time forward in one jump; the number of sleepers woken."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.now += seconds
        return self._wake(self.now)

    async def advance_through(
        self, seconds: float, settle: Callable[[], Awaitable[object]]
    ) -> int:
        """Move virtual time forward deadline by deadline, awaiting ``settle`` after each.

        A sleeper woken at its deadline resumes at that virtual time, so a sleep it starts
        next is measured from there, as it would be on a real clock. Returns the number of
        sleepers woken.
        """
        if seconds < 0:
            raise ValueError("time only moves forward")
        target = self.now + seconds
        woken = 0
        for _ in range(MAX_STEPS):
            deadline = self.next_deadline()
            if deadline is None or deadline > target:
                break
            self.now = max(self.now, deadline)
            woken += self._wake(self.now)
            await settle()
        self.now = target
        woken += self._wake(target)
        await settle()
        return woken

    def next_deadline(self) -> float | None:
        """The earliest deadline of a sleeper still waiting, if any."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def reset(self) -> None:
        """Back to time zero; sleepers still waiting are cancelled (their work is gone)."""
        for _, _, future in self._sleepers:
            future.cancel()
        self._sleepers.clear()
        self.now = 0.0

    def _wake(self, until: float) -> int:
        woken = 0
        while self._sleepers and self._sleepers[0][0] <= until:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
                woken += 1
        return woken
