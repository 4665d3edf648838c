"""The simulated cloud's knobs: its clock, its stage table, and a reset. No HTTP.

The control plane's clock and reset calls land here. Advancing the manual clock wakes
sleepers deadline by deadline and lets the operations they belong to run until each is
done or parked on the clock again, so a client polling right after sees the outcome.

A reset forgets every server and fault rule on any backend. The simulated cloud's
instances are only data, so they are dropped at once (and its clock and stages restored);
a real backend's (QEMU processes, their directories) are deleted through the ordinary
delete path first, so the backend destroys each one.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from backends.base import ComputeBackend
from backends.simulated import SimulatedBackend, Stage
from emulator.clock import Clock, Progression
from emulator.compute.instances import Instances
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.migrations import Migrations
from emulator.compute.services import Services
from emulator.control.faults import FaultRules
from emulator.errors import Conflict, EmulatorError, InvalidInput, NotFound

__all__ = ["ClockState", "Health", "ResetIncomplete", "Simulation", "Stage"]

#: How long the control plane lets woken operations run before it answers (seconds).
SETTLE_TIMEOUT = 2.0
#: The request id of the deletes a reset makes (they show in the servers' actions only
#: until the reset forgets them).
RESET_REQUEST_ID = "req-emulator-reset"


class ResetIncomplete(EmulatorError):
    """The backend could not destroy every instance; those servers are kept (a 500)."""


@dataclass(frozen=True)
class ClockState:
    mode: Progression
    now: float
    #: Operations waiting for the manual clock.
    waiting: int


@dataclass(frozen=True)
class Health:
    backend: str
    #: Whether the backend's guests can have their admin password set.
    guest_agent: bool
    #: The simulated cloud's clock mode and host count (None on other backends).
    progression: Progression | None
    hosts: int | None


class Simulation:
    """The clock, the simulated cloud's stages, and reset. The clock and stages drive the
    simulated backend only (``simulated``); a reset works on every backend."""

    def __init__(self, backend: ComputeBackend, clock: Clock, instances: Instances,
                 lifecycle: Lifecycle, faults: FaultRules,
                 stages: Mapping[str, Stage] | None = None,
                 services: Services | None = None,
                 migrations: Migrations | None = None) -> None:
        self.backend = backend
        self.services = services
        self.migrations = migrations
        self._clock = clock
        self.instances = instances
        self.lifecycle = lifecycle
        self.faults = faults
        #: The simulated cloud, when it runs the servers.
        self.cloud = backend if isinstance(backend, SimulatedBackend) else None
        #: The configured stage table, which a reset restores.
        self.configured_stages = dict(
            stages if stages is not None else self.cloud.stages if self.cloud else {})
        self._lock = asyncio.Lock()

    @property
    def simulated(self) -> bool:
        """Whether the simulated cloud runs the servers."""
        return self.cloud is not None

    def health(self) -> Health:
        if self.cloud is None:
            return Health(backend=self.backend.name, guest_agent=self.backend.guest_agent,
                          progression=None, hosts=None)
        return Health(backend=self.backend.name, guest_agent=self.backend.guest_agent,
                      progression=self._clock.mode, hosts=len(self.cloud.hosts()))

    def require_simulated(self) -> SimulatedBackend:
        if self.cloud is None:
            raise Conflict(f"The {self.backend.name} backend has no simulated clock or "
                           "stages; they drive the simulated backend only.")
        return self.cloud

    # -- hosts (every backend) -------------------------------------------------------------

    def hosts_down(self) -> list[str]:
        """The hosts whose compute service the control plane took down."""
        return self.services.silent() if self.services is not None else []

    def set_host_up(self, host: str, up: bool) -> None:
        """Take ``host``'s compute service down (it stops reporting: Nova sees it down)
        or bring it back."""
        if self.services is None or not self.services.set_reporting(host, up):
            raise NotFound(f"Compute host {host} could not be found.")

    # -- clock ---------------------------------------------------------------------------

    def clock(self) -> ClockState:
        self.require_simulated()
        clock = self._clock
        return ClockState(mode=clock.mode, now=clock.now, waiting=clock.waiting)

    async def settle(self) -> bool:
        """Let running operations go until each is done or parked on the clock."""
        clock = self._clock
        return await self.lifecycle.quiesce(clock.parked, SETTLE_TIMEOUT)

    async def set_mode(self, mode: Progression) -> ClockState:
        """Switch progression; leaving MANUAL wakes every sleeper."""
        self.require_simulated()
        async with self._lock:
            self._clock.mode = mode
            await self.settle()
        return self.clock()

    async def advance(self, seconds: float) -> tuple[ClockState, int]:
        """Move the manual clock ``seconds`` forward; the new state and sleepers woken."""
        if not math.isfinite(seconds) or seconds < 0:
            raise InvalidInput("seconds must be a finite number >= 0")
        self.require_simulated()
        clock = self._clock
        if clock.mode is not Progression.MANUAL:
            raise Conflict(f"The clock is in {clock.mode.value} mode; only a manual clock "
                           "can be advanced.")
        async with self._lock:
            # What is under way comes to rest first (parked on the clock, or done): time
            # moves over every operation requested before the advance.
            await self.settle()
            woken = await clock.advance_through(seconds, self.settle)
        return self.clock(), woken

    # -- stages --------------------------------------------------------------------------

    def stages(self) -> dict[str, Stage]:
        return dict(self.require_simulated().stages)

    def set_stage(self, verb: str, **changes: Any) -> Stage:
        """Lay ``changes`` (delay, jitter, fails) over ``verb``'s current stage."""
        stages = self.require_simulated().stages
        if verb not in stages:
            raise NotFound(f"Stage {verb} could not be found.")
        stage = replace(stages[verb], **changes)
        for name in ("delay", "jitter"):
            value = getattr(stage, name)
            if not math.isfinite(value) or value < 0:
                raise InvalidInput(f"{name} must be a finite number >= 0")
        stages[verb] = stage
        return stage

    # -- reset ---------------------------------------------------------------------------

    async def reset(self, mode: Progression | None = None) -> None:
        """Forget every server and fault rule. On the simulated cloud also restore the
        configured stages and restart the clock at zero (in ``mode`` if given, else in
        the mode it had); on a real backend destroy every instance first."""
        async with self._lock:
            if self.cloud is not None:
                await self.lifecycle.shutdown()
                self.instances.purge()
                self.lifecycle.claims.rebuild()
                self.cloud.reset()
                self._clock.reset()
                self.cloud.stages.clear()
                self.cloud.stages.update(self.configured_stages)
                if mode is not None:
                    self._clock.mode = mode
            else:
                if mode is not None:
                    raise Conflict(f"The {self.backend.name} backend has no "
                                   "simulated clock; reset takes no mode there.")
                await self._destroy_every_instance()
                self.instances.purge()
                self.lifecycle.claims.rebuild()
            self.faults.clear()
            if self.migrations is not None:
                self.migrations.purge()
            for host in self.hosts_down():
                self.set_host_up(host, True)

    async def _destroy_every_instance(self) -> None:
        """Delete every server that has a host through the lifecycle (the backend's
        ``destroy``), after cancelling what is in flight (a cancelled spawn removes what
        it started); ``ResetIncomplete`` names the servers whose destroy failed."""
        await self.lifecycle.shutdown()
        hosted = self.instances.live_on_hosts()
        for row in hosted:
            self.lifecycle.delete(row.uuid, RESET_REQUEST_ID)
        await self.lifecycle.settle()
        left = [row.uuid for row in self.instances.live_on_hosts()]
        if left:
            raise ResetIncomplete(
                f"Reset incomplete: the backend could not destroy {len(left)} of "
                f"{len(hosted)} servers ({', '.join(left)}); they are kept, in ERROR.")
