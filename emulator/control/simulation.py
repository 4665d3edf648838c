"""The simulated cloud's knobs: its clock, its stage table, and a reset. No HTTP.

The control plane's clock and reset calls land here. Advancing the manual clock wakes
sleepers deadline by deadline and lets the operations they belong to run until each is
done or parked on the clock again, so a client polling right after sees the outcome.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from backends.simulated import Progression, SimulatedBackend, Stage
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.servers import ServerService
from emulator.control.faults import FaultRules
from emulator.errors import Conflict, InvalidInput, NotFound

#: How long the control plane lets woken operations run before it answers (seconds).
SETTLE_TIMEOUT = 2.0


@dataclass(frozen=True)
class ClockState:
    mode: Progression
    now: float
    #: Operations waiting for the manual clock.
    waiting: int


class Simulation:
    def __init__(self, backend: SimulatedBackend, servers: ServerService, lifecycle: Lifecycle,
                 faults: FaultRules, stages: Mapping[str, Stage] | None = None) -> None:
        self.backend = backend
        self.servers = servers
        self.lifecycle = lifecycle
        self.faults = faults
        #: The configured stage table, which a reset restores.
        self.configured_stages = dict(backend.stages if stages is None else stages)
        self._lock = asyncio.Lock()

    # -- clock ---------------------------------------------------------------------------

    def clock(self) -> ClockState:
        clock = self.backend.clock
        return ClockState(mode=clock.mode, now=clock.now, waiting=clock.waiting)

    async def settle(self) -> bool:
        """Let running operations go until each is done or parked on the clock."""
        clock = self.backend.clock
        return await self.lifecycle.quiesce(clock.parked, SETTLE_TIMEOUT)

    async def set_mode(self, mode: Progression) -> ClockState:
        """Switch progression; leaving MANUAL wakes every sleeper."""
        async with self._lock:
            self.backend.clock.mode = mode
            await self.settle()
        return self.clock()

    async def advance(self, seconds: float) -> tuple[ClockState, int]:
        """Move the manual clock ``seconds`` forward; the new state and sleepers woken."""
        if not math.isfinite(seconds) or seconds < 0:
            raise InvalidInput("seconds must be a finite number >= 0")
        clock = self.backend.clock
        if clock.mode is not Progression.MANUAL:
            raise Conflict(f"The clock is in {clock.mode.value} mode; only a manual clock "
                           "can be advanced.")
        async with self._lock:
            woken = await clock.advance_through(seconds, self.settle)
        return self.clock(), woken

    # -- stages --------------------------------------------------------------------------

    def stages(self) -> dict[str, Stage]:
        return dict(self.backend.stages)

    def set_stage(self, verb: str, **changes: Any) -> Stage:
        """Lay ``changes`` (delay, jitter, fails) over ``verb``'s current stage."""
        if verb not in self.backend.stages:
            raise NotFound(f"Stage {verb} could not be found.")
        stage = replace(self.backend.stages[verb], **changes)
        for name in ("delay", "jitter"):
            value = getattr(stage, name)
            if not math.isfinite(value) or value < 0:
                raise InvalidInput(f"{name} must be a finite number >= 0")
        self.backend.stages[verb] = stage
        return stage

    # -- reset ---------------------------------------------------------------------------

    async def reset(self, mode: Progression | None = None) -> None:
        """Forget every server and fault rule, restore the configured stages, restart the
        clock at zero (in ``mode`` if given, else in the mode it had)."""
        async with self._lock:
            await self.lifecycle.shutdown()
            self.servers.purge()
            self.backend.reset()
            self.faults.clear()
            self.backend.stages.clear()
            self.backend.stages.update(self.configured_stages)
            if mode is not None:
                self.backend.clock.mode = mode
