"""The long half of server operations: background tasks that drive the backend.

The API acknowledges an operation once its first state is committed (BUILD/scheduling,
``deleting``); ``Lifecycle`` then runs the backend verb in an asyncio task and commits each
step as it completes. A task per server at most: deleting a server cancels its build.
After a restart, ``recover`` re-adopts instances and re-drives operations in flight.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from backends.base import BackendError, ComputeBackend, InstanceSpec, PowerState
from emulator.compute.actions import Transition
from emulator.compute.models import Instance
from emulator.compute.servers import ServerService, now
from emulator.compute.states import TaskState, VmState

log = logging.getLogger("nova_emulator.lifecycle")

BUILD_EVENT = "compute__do_build_and_run_instance"
DELETE_EVENT = "compute_terminate_instance"
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


class Outcome(StrEnum):
    """How a build ends; anything but NORMAL is injected by a fault rule."""

    NORMAL = "normal"
    ERROR = "error"  # land in ERROR with a fault
    STUCK = "stuck"  # stay in BUILD forever
    ACTIVE_THEN_ERROR = "active_then_error"  # go ACTIVE, then fail
    NO_VALID_HOST = "no_valid_host"  # the scheduler finds nothing


@dataclass(frozen=True)
class BuildPlan:
    outcome: Outcome = Outcome.NORMAL
    message: str = "Injected fault"


def instance_spec(row: Instance, metadata: dict[str, str] | None = None) -> InstanceSpec:
    user_data: bytes | None = None
    if row.user_data:
        try:
            user_data = base64.b64decode(row.user_data)
        except (binascii.Error, ValueError):
            user_data = None
    return InstanceSpec(
        uuid=row.uuid, name=row.display_name, hostname=row.hostname, host=row.host or "",
        project_id=row.project_id, vcpus=row.vcpus, memory_mb=row.memory_mb,
        root_gb=row.root_gb, ephemeral_gb=row.ephemeral_gb, swap_mb=row.swap,
        image_id=row.image_ref or None, user_data=user_data, key_data=row.key_data,
        metadata=metadata or {}, config_drive=bool(row.config_drive),
    )


class Lifecycle:
    def __init__(self, servers: ServerService, backend: ComputeBackend) -> None:
        self.servers = servers
        self.backend = backend
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def _run(self, server_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"server-{server_id}")
        self._tasks[server_id] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._tasks.get(server_id) is t:
                del self._tasks[server_id]
            if not t.cancelled() and t.exception() is not None:
                log.error("operation on %s failed", server_id, exc_info=t.exception())

        task.add_done_callback(done)

    # -- build ---------------------------------------------------------------------------

    def build(self, server_id: str, request_id: str, plan: BuildPlan | None = None) -> None:
        self._run(server_id, self._build(server_id, request_id, plan or BuildPlan()))

    async def _build(self, server_id: str, request_id: str, plan: BuildPlan) -> None:
        servers = self.servers
        host = None if plan.outcome is Outcome.NO_VALID_HOST else servers.claim_host(server_id)
        if host is None:
            self._fail(server_id, request_id, NO_VALID_HOST)
            return
        servers.start_event(server_id, request_id, BUILD_EVENT, host.name)
        if plan.outcome is Outcome.STUCK:
            return
        if plan.outcome is Outcome.ERROR:
            self._fail(server_id, request_id, plan.message)
            return
        try:
            servers.allocate_addresses(server_id)
        except Exception as exc:  # an exhausted network is a build failure, not a crash
            self._fail(server_id, request_id, str(exc))
            return
        servers.set_state(server_id, task_state=TaskState.BLOCK_DEVICE_MAPPING)
        row = servers.set_state(server_id, task_state=TaskState.SPAWNING)
        if row is None:
            return
        try:
            await self.backend.spawn(instance_spec(row))
        except BackendError as exc:
            self._fail(server_id, request_id, str(exc) or type(exc).__name__)
            return
        servers.set_state(server_id, vm_state=VmState.ACTIVE, task_state=None,
                          power_state=int(PowerState.RUNNING), launched_at=now(), progress=0)
        servers.finish_event(server_id, request_id, BUILD_EVENT, "Success")
        if plan.outcome is Outcome.ACTIVE_THEN_ERROR:
            self._fail(server_id, request_id, plan.message)

    def _fail(self, server_id: str, request_id: str, message: str) -> None:
        self.servers.set_state(server_id, vm_state=VmState.ERROR, task_state=None)
        self.servers.record_fault(server_id, 500, message)
        self.servers.finish_event(server_id, request_id, BUILD_EVENT, "Error", message)

    # -- actions -------------------------------------------------------------------------

    def act(self, row: Instance, request_id: str, transition: Transition,
            **arguments: Any) -> None:
        """Run ``transition``'s backend verb in the background and commit its end state."""
        if transition.verb is None:
            return  # NOTE: API-only actions (lock, unlock) record a start and nothing else.
        self._run(row.uuid, self._act(row, request_id, transition, arguments))

    async def _act(self, row: Instance, request_id: str, transition: Transition,
                   arguments: dict[str, Any]) -> None:
        event = f"compute_{transition.verb}"
        assert transition.verb is not None
        self.servers.start_event(row.uuid, request_id, event, row.host)
        try:
            await getattr(self.backend, transition.verb)(instance_spec(row), **arguments)
        except BackendError as exc:
            # NOTE: as in Nova, a failed action leaves the vm_state and clears the task.
            self.servers.set_state(row.uuid, task_state=None)
            self.servers.record_fault(row.uuid, 500, str(exc) or type(exc).__name__)
            self.servers.finish_event(row.uuid, request_id, event, "Error", str(exc))
            return
        changes: dict[str, Any] = {"task_state": None}
        if transition.final is not None:
            changes["vm_state"] = transition.final
        if transition.power is not None:
            changes["power_state"] = int(transition.power)
        self.servers.set_state(row.uuid, **changes)
        self.servers.finish_event(row.uuid, request_id, event, "Success")

    # -- delete --------------------------------------------------------------------------

    def delete(self, server_id: str, request_id: str) -> None:
        running = self._tasks.pop(server_id, None)
        if running is not None:
            running.cancel()
        self._run(server_id, self._delete(server_id, request_id))

    async def _delete(self, server_id: str, request_id: str) -> None:
        row = self.servers.instance(server_id)
        if row is None:
            return
        if row.host:
            self.servers.start_event(server_id, request_id, DELETE_EVENT, row.host)
            try:
                await self.backend.destroy(instance_spec(row))
            except BackendError as exc:
                self.servers.set_state(server_id, vm_state=VmState.ERROR, task_state=None)
                self.servers.record_fault(server_id, 500, str(exc))
                self.servers.finish_event(server_id, request_id, DELETE_EVENT, "Error",
                                          str(exc))
                return
            self.servers.finish_event(server_id, request_id, DELETE_EVENT, "Success")
        self.servers.finish_delete(server_id)

    # -- start-up and shut-down ----------------------------------------------------------

    async def recover(self) -> None:
        """Re-adopt instances, then re-drive what was in flight when we stopped."""
        # NOTE: a build in flight starts over (below), so the backend is not asked to adopt
        # it: adopting would make the re-driven spawn an ``InstanceExists``.
        live = [r for r in self.servers.live_on_hosts() if r.vm_state != VmState.BUILDING]
        states = await self.backend.recover(
            [(instance_spec(r), PowerState(r.power_state)) for r in live])
        for row in live:
            state = states.get(row.uuid)
            if state is not None and row.task_state is None and int(state) != row.power_state:
                self.servers.set_state(row.uuid, power_state=int(state))
        for row in self.servers.pending():
            if row.task_state == TaskState.DELETING:
                self.delete(row.uuid, "req-recovered")
            elif row.vm_state == VmState.BUILDING:
                self.servers.set_state(row.uuid, host=None, node=None,
                                       task_state=TaskState.SCHEDULING)
                self.build(row.uuid, "req-recovered")
            else:
                self.servers.set_state(row.uuid, task_state=None)

    async def settle(self) -> None:
        """Wait until no operation is in flight (tests and the control plane use it)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def quiesce(self, idle: Callable[[asyncio.Task[None]], bool],
                      timeout: float = 2.0) -> bool:
        """Let operations run until each one left is ``idle`` (e.g. parked on the simulated
        clock) or ``timeout`` seconds pass; True if everything came to rest."""
        deadline = asyncio.get_running_loop().time() + timeout
        spins = 0
        while any(not t.done() and not idle(t) for t in list(self._tasks.values())):
            if asyncio.get_running_loop().time() >= deadline:
                return False
            spins += 1
            # NOTE: a few bare yields let woken tasks run; then back off to spare the CPU.
            await asyncio.sleep(0 if spins < 100 else 0.001)
        return True

    async def shutdown(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        self._tasks.clear()
