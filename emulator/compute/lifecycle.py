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
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any

from backends.base import BackendError, ComputeBackend, InstanceSpec, PowerState
from emulator.compute.actions import TRANSITIONS, Transition
from emulator.compute.models import Instance
from emulator.compute.servers import ServerService, now
from emulator.compute.states import TaskState, VmState
from emulator.context import RequestContext
from emulator.errors import Conflict, NotFound

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


def instance_spec(row: Instance, metadata: dict[str, str] | None = None,
                  addresses: tuple[tuple[str, str, str], ...] = ()) -> InstanceSpec:
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
        metadata=metadata or {}, config_drive=bool(row.config_drive), addresses=addresses,
    )


@dataclass(frozen=True)
class ActionHooks:
    """What one action does around its backend verb, besides the table's states."""

    #: Runs first; a message fails the action before the verb (a claim that does not fit).
    before: Callable[[], str | None] | None = None
    #: The event ``before`` is recorded as (Nova's conductor scheduling a resize:
    #: ``conductor_migrate_server``); None: it belongs to the action's own event.
    before_event: str | None = None
    #: Given the verb's result; returns more columns to commit with the end state.
    after: Callable[[Any], Awaitable[dict[str, Any]]] | None = None
    #: Columns to set when the action fails (e.g. the flavor a failed resize goes back to).
    undo: dict[str, Any] | None = None
    #: Runs when the action fails (e.g. deletes the image a failed snapshot was for).
    cleanup: Callable[[], None] | None = None


#: Sleeps that many seconds of the cloud's time (the simulated clock's, from app.py).
Sleeper = Callable[[float], Awaitable[None]]

#: Nova's periodic tasks run with an admin context that has no user or project.
PERIODIC = RequestContext(user_id="", project_id=None, roles=frozenset({"admin"}))


class Lifecycle:
    def __init__(self, servers: ServerService, backend: ComputeBackend,
                 shelved_offload_time: int = 0, reclaim_instance_interval: int = 0,
                 allow_resize_to_same_host: bool = False, resize_confirm_window: int = 0,
                 sleep: Sleeper = asyncio.sleep) -> None:
        self.servers = servers
        self.backend = backend
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: Nova's ``allow_resize_to_same_host``: False schedules a resize elsewhere.
        self.allow_resize_to_same_host = allow_resize_to_same_host
        #: Nova's ``resize_confirm_window``: > 0 confirms a resize left in VERIFY_RESIZE
        #: that many seconds (``_poll_unconfirmed_resizes``); 0 never does.
        self.resize_confirm_window = resize_confirm_window
        self._sleep = sleep
        #: Per server, the pending automatic confirm of its resize.
        self._confirms: dict[str, asyncio.Task[None]] = {}
        #: Nova's ``[DEFAULT] shelved_offload_time``: 0 offloads at once after a shelve;
        #: anything else keeps the server SHELVED (NOTE: no periodic offload yet).
        self.shelved_offload_time = shelved_offload_time
        #: Nova's ``[DEFAULT] reclaim_instance_interval``: > 0 makes DELETE a soft delete,
        #: reclaimed (deleted for good) that many seconds later.
        self.reclaim_instance_interval = reclaim_instance_interval
        self._reclaims: dict[str, asyncio.Task[None]] = {}

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
            hooks: ActionHooks | None = None, **arguments: Any) -> None:
        """Run ``transition``'s backend verb in the background and commit its end state
        (with what ``hooks`` add around the verb)."""
        if transition.verb is not None:
            self.cancel_confirm(row.uuid)
        if transition.verb is None:
            # NOTE: API-only actions happen in the API: lock and unlock record their
            # ``api_`` event (Nova's wrap_instance_event(prefix='api')) done at once.
            if transition.event is not None:
                self.servers.start_event(row.uuid, request_id, transition.event, None)
                self.servers.finish_event(row.uuid, request_id, transition.event, "Success")
            return
        self._run(row.uuid, self._act(row, request_id, transition, hooks or ActionHooks(),
                                      arguments))

    async def _act(self, row: Instance, request_id: str, transition: Transition,
                   hooks: ActionHooks, arguments: dict[str, Any]) -> None:
        event = transition.event or f"compute_{transition.verb}"
        assert transition.verb is not None
        if hooks.before is not None and hooks.before_event is not None:
            self.servers.start_event(row.uuid, request_id, hooks.before_event, None)
            refused = hooks.before()
            if refused is not None:
                self._act_failed(row, request_id, hooks.before_event, hooks, refused)
                return
            self.servers.finish_event(row.uuid, request_id, hooks.before_event, "Success")
            row = self.servers.instance(row.uuid) or row  # e.g. a resize's new host
        self.servers.start_event(row.uuid, request_id, event, row.host)
        refused = hooks.before() if hooks.before is not None and hooks.before_event is None \
            else None
        if refused is not None:
            self._act_failed(row, request_id, event, hooks, refused)
            return
        if transition.schedules and not row.host:
            # NOTE: an offloaded server goes through the scheduler again (Nova's conductor);
            # with no host it stays where it was, its task cleared, as Nova's NoValidHost.
            destination = arguments.pop("destination", None)
            if self.servers.claim_host(row.uuid, task_state=transition.interim,
                                       destination=destination) is None:
                self._act_failed(row, request_id, event, hooks, NO_VALID_HOST)
                return
            row = self.servers.instance(row.uuid) or row
        arguments.pop("destination", None)
        for step in transition.steps:
            self.servers.set_state(row.uuid, task_state=step)
        try:
            result = await getattr(self.backend, transition.verb)(instance_spec(row),
                                                                  **arguments)
        except BackendError as exc:
            self._act_failed(row, request_id, event, hooks, str(exc) or type(exc).__name__)
            return
        changes: dict[str, Any] = {"task_state": None}
        if hooks.after is not None:
            try:
                changes.update(await hooks.after(result))
            except Exception as exc:  # e.g. the image went away during the upload
                self._act_failed(row, request_id, event, hooks, str(exc) or type(exc).__name__)
                return
        returned = next((power for state, power in transition.returns_to.items()
                         if state == row.old_vm_state), None)
        if returned is not None:
            changes["vm_state"], changes["power_state"] = row.old_vm_state, int(returned)
        else:
            if transition.final is not None:
                changes["vm_state"] = transition.final
            if transition.power is not None:
                changes["power_state"] = int(transition.power)
        if transition.releases_host:
            changes["host"] = changes["node"] = None
        follow = TRANSITIONS[transition.then] if transition.then is not None \
            and self._follows(transition.then) else None
        if follow is not None:
            changes["task_state"] = follow.interim
        self.servers.set_state(row.uuid, **changes)
        self.servers.finish_event(row.uuid, request_id, event, "Success")
        if changes.get("vm_state") == VmState.RESIZED:
            self.confirm_later(row.uuid)
        if follow is not None:
            after = self.servers.instance(row.uuid)
            if after is not None:
                await self._act(after, request_id, follow, ActionHooks(), {})

    # -- resize --------------------------------------------------------------------------

    def resize_hooks(self, row: Instance) -> ActionHooks:
        """A resize's claim through the scheduler (another host unless
        ``allow_resize_to_same_host``), undone with the flavor if the resize fails.
        ``row`` is the server as accepted (its new flavor in place)."""
        server_id = row.uuid

        def claim() -> str | None:
            found = self.servers.claim_resize(server_id, self.allow_resize_to_same_host)
            return None if found is not None else NO_VALID_HOST

        return ActionHooks(before=claim, before_event="conductor_migrate_server", undo={
            **ServerService.restore_old_flavor(row), "old_vm_state": None,
            "host": row.host, "node": row.node, "availability_zone": row.availability_zone,
            "source_host": None, "source_node": None})

    @staticmethod
    def confirm_hooks() -> ActionHooks:
        """A confirm ends on the new flavor and releases the source host."""
        columns = ServerService.confirmed_columns()

        async def after(_result: Any) -> dict[str, Any]:
            return columns

        return ActionHooks(after=after)

    def revert_hooks(self, row: Instance) -> ActionHooks:
        """A revert goes back to the old flavor on the source host (``row`` as accepted)."""
        columns = self.servers.reverted_columns(row)

        async def after(_result: Any) -> dict[str, Any]:
            return columns

        return ActionHooks(after=after)

    def confirm_later(self, server_id: str, delay: float | None = None) -> None:
        """Nova's ``_poll_unconfirmed_resizes``: with ``resize_confirm_window`` > 0,
        confirm the resize of a server still in VERIFY_RESIZE once the window has passed
        (or ``delay`` seconds), on the cloud's clock."""
        self.cancel_confirm(server_id)
        if self.resize_confirm_window <= 0:
            return
        wait = self.resize_confirm_window if delay is None else max(0.0, delay)

        async def confirm() -> None:
            await self._sleep(wait)
            self._confirms.pop(server_id, None)
            self.auto_confirm(server_id)

        self._confirms[server_id] = asyncio.get_running_loop().create_task(
            confirm(), name=f"confirm-{server_id}")

    def cancel_confirm(self, server_id: str) -> None:
        pending = self._confirms.pop(server_id, None)
        if pending is not None and pending is not asyncio.current_task():
            pending.cancel()

    def auto_confirm(self, server_id: str) -> bool:
        """Confirm a resize as Nova's periodic task does (an admin context, the action
        ``confirmResize``); False if the server is no longer waiting for it (deleted, in
        ERROR, or busy: Nova skips those)."""
        transition = TRANSITIONS["confirm_resize"]
        ctx = RequestContext(user_id=PERIODIC.user_id, project_id=PERIODIC.project_id,
                             roles=PERIODIC.roles, request_id=f"req-{uuid.uuid4()}")
        try:
            row = self.servers.accept_action(ctx, server_id, transition,
                                             "os_compute_api:servers:confirm_resize")
        except (Conflict, NotFound):
            return False
        self.act(row, ctx.request_id, transition, hooks=self.confirm_hooks())
        return True

    def _follows(self, key: str) -> bool:
        """Whether a transition's ``then`` runs: the offload after a shelve only with
        ``shelved_offload_time`` 0."""
        return key != "shelve_offload" or self.shelved_offload_time == 0

    def _act_failed(self, row: Instance, request_id: str, event: str, hooks: ActionHooks,
                    message: str) -> None:
        # NOTE: as in Nova, a failed action leaves the vm_state and clears the task.
        self.servers.set_state(row.uuid, task_state=None, **(hooks.undo or {}))
        self.servers.record_fault(row.uuid, 500, message)
        self.servers.finish_event(row.uuid, request_id, event, "Error", message)
        if hooks.cleanup is not None:
            hooks.cleanup()

    # -- delete --------------------------------------------------------------------------

    def reclaim_later(self, server_id: str, delay: float | None = None) -> None:
        """Nova's ``_reclaim_queued_deletes``: delete a soft-deleted server for good once
        ``reclaim_instance_interval`` seconds (or ``delay``) have passed."""
        self.cancel_reclaim(server_id)
        wait = self.reclaim_instance_interval if delay is None else max(0.0, delay)

        async def reclaim() -> None:
            await asyncio.sleep(wait)
            self._reclaims.pop(server_id, None)
            row = self.servers.instance(server_id)
            if row is not None and row.task_state == TaskState.SOFT_DELETING:
                self.reclaim_later(server_id, 1.0)  # the soft delete is still under way
                return
            if row is None or row.deleted or row.vm_state != VmState.SOFT_DELETED \
                    or row.task_state is not None:
                return
            self.servers.set_state(server_id, task_state=TaskState.DELETING)
            self.delete(server_id, "req-reclaim")

        self._reclaims[server_id] = asyncio.get_running_loop().create_task(
            reclaim(), name=f"reclaim-{server_id}")

    def cancel_reclaim(self, server_id: str) -> None:
        pending = self._reclaims.pop(server_id, None)
        if pending is not None and pending is not asyncio.current_task():
            pending.cancel()

    def delete(self, server_id: str, request_id: str) -> None:
        self.cancel_reclaim(server_id)
        self.cancel_confirm(server_id)
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
            except Exception as exc:  # a backend's bug too: ERROR, never stuck deleting
                if not isinstance(exc, BackendError):
                    log.exception("%s: destroy failed", server_id)
                self.servers.set_state(server_id, vm_state=VmState.ERROR, task_state=None)
                self.servers.record_fault(server_id, 500, str(exc))
                self.servers.finish_event(server_id, request_id, DELETE_EVENT, "Error",
                                          str(exc))
                return
            self.servers.finish_event(server_id, request_id, DELETE_EVENT, "Success")
        else:
            # NOTE: an offloaded server has no host, but what its shelve kept goes with
            # it (Nova deletes the shelved snapshot image); destroy forgets it.
            try:
                await self.backend.destroy(instance_spec(row))
            except BackendError as exc:
                log.warning("%s: what its shelve kept was not removed: %s", server_id, exc)
        self.servers.finish_delete(server_id)

    # -- power-state sync ----------------------------------------------------------------

    async def power_changed(self, server_id: str, state: PowerState) -> None:
        """A backend saw an instance's power state change on its own (a guest that powered
        itself off, a hypervisor process that died): Nova's ``_sync_power_states`` for one
        instance. Nothing happens while an operation is in flight; otherwise the power
        state is recorded, and an ACTIVE server found off becomes SHUTOFF (STOPPED)."""
        if server_id in self._tasks:
            return
        row = self.servers.instance(server_id)
        if row is None or row.deleted or row.task_state is not None:
            return
        changes: dict[str, Any] = {}
        if int(state) != row.power_state:
            changes["power_state"] = int(state)
        if row.vm_state == VmState.ACTIVE and state in (PowerState.SHUTDOWN,
                                                        PowerState.CRASHED):
            changes.update(vm_state=VmState.STOPPED, power_state=int(PowerState.SHUTDOWN),
                           task_state=None)
        if changes:
            log.info("%s: power state sync: %s", server_id, changes)
            self.servers.set_state(server_id, **changes)
        if changes.get("vm_state") == VmState.STOPPED:
            # NOTE: Nova's sync stops the instance through the compute API (an admin
            # context): the server's actions show a "stop" with its compute event.
            ctx = RequestContext(user_id=PERIODIC.user_id, project_id=PERIODIC.project_id,
                                 roles=PERIODIC.roles, request_id=f"req-{uuid.uuid4()}")
            self.servers.record_action(ctx, server_id, "stop")
            self.servers.start_event(server_id, ctx.request_id, "compute_stop_instance",
                                     row.host)
            self.servers.finish_event(server_id, ctx.request_id, "compute_stop_instance",
                                      "Success")

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
        if self.resize_confirm_window > 0:
            for row in live:
                if row.vm_state == VmState.RESIZED and row.task_state is None:
                    self.confirm_later(row.uuid, self.resize_confirm_window
                                       - _elapsed(row.updated_at or row.created_at))
        if self.reclaim_instance_interval > 0:
            for row in live:
                if row.vm_state == VmState.SOFT_DELETED and row.deleted_at is not None:
                    since = row.deleted_at if row.deleted_at.tzinfo else \
                        row.deleted_at.replace(tzinfo=UTC)
                    elapsed = (now() - since).total_seconds()
                    self.reclaim_later(row.uuid, self.reclaim_instance_interval - elapsed)

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
        while any(not t.done() and not idle(t)
                  for t in [*self._tasks.values(), *self._confirms.values()]):
            if asyncio.get_running_loop().time() >= deadline:
                return False
            spins += 1
            # NOTE: a few bare yields let woken tasks run; then back off to spare the CPU.
            await asyncio.sleep(0 if spins < 100 else 0.001)
        return True

    async def shutdown(self) -> None:
        for server_id in list(self._reclaims):
            self.cancel_reclaim(server_id)
        for server_id in list(self._confirms):
            self.cancel_confirm(server_id)
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        self._tasks.clear()


def _elapsed(since: Any) -> float:
    """Seconds from ``since`` (naive: UTC) to now."""
    aware = since if since.tzinfo else since.replace(tzinfo=UTC)
    return float((now() - aware).total_seconds())
