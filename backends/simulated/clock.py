"""Time for the simulated cloud: immediate, wall-clock, or a virtual clock moved by hand."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from enum import StrEnum


class Progression(StrEnum):
    IMMEDIATE = "immediate"  # every stage completes at once (conformance default)
    TIME = "time"  # stages take their delay in wall-clock seconds (demos)
    MANUAL = "manual"  # stages wait for the control plane to advance a virtual clock


class Clock:
    """``sleep`` as the current progression mode defines it.

    In MANUAL mode sleepers wait on a heap of deadlines; ``advance`` moves virtual time
    forward and wakes every sleeper whose deadline has passed. Switching away from MANUAL
    wakes everyone, so no operation stays parked on a clock nobody will move.
    """

    def __init__(self, mode: Progression = Progression.IMMEDIATE) -> None:
        self._mode = mode
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def mode(self) -> Progression:
        return self._mode

    @mode.setter
    def mode(self, mode: Progression) -> None:
        self._mode = mode
        if mode is not Progression.MANUAL:
            self._wake(float("inf"))

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0 or self._mode is Progression.IMMEDIATE:
            await asyncio.sleep(0)
        elif self._mode is Progression.TIME:
            await asyncio.sleep(seconds)
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
            await future

    def advance(self, seconds: float) -> int:
        """Move virtual time forward; the number of sleepers woken."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.now += seconds
        return self._wake(self.now)

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._sleepers if not f.done())

    def _wake(self, until: float) -> int:
        woken = 0
        while self._sleepers and self._sleepers[0][0] <= until:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
                woken += 1
        return woken
