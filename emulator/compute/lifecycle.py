"""The long half of server operations: background tasks that drive the backend.

The API acknowledges an operation once its first state is committed (BUILD/scheduling,
an action's interim task_state, ``deleting``); ``Lifecycle`` then runs the backend verb in
an asyncio task and commits each step as it completes. A task per server at most:
deleting a server cancels what runs for it. Nova's periodic windows (resize confirmed,
soft delete reclaimed) wait on the emulator's clock. Builds take a slot
(``max_concurrent_builds``, as Nova's compute manager) around each stretch of database
work, never while the backend spawns, and run those stretches one per turn of the event
loop: a multi-create of a thousand servers leaves the loop free between any two steps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from backends.base import (
    BackendError,
    ComputeBackend,
    InstanceSpec,
    MigrationAborted,
    PowerState,
    VifSpec,
)
from emulator.compute.actions import TRANSITIONS, Transition
from emulator.compute.addresses import allocate_address, release_ports, sync_bindings
from emulator.compute.backend_errors import failure_message
from emulator.compute.claims import Claims
from emulator.compute.instance_actions import InstanceActions
from emulator.compute.instances import Instances
from emulator.compute.models import Instance
from emulator.compute.plans import ActionHooks, BuildPlan, Outcome
from emulator.compute.records import now
from emulator.compute.specs import instance_spec
from emulator.compute.states import TaskState, VmState
from emulator.errors import EmulatorError
from emulator.placement import NOT_ENOUGH_HOSTS, NoValidHost, RequestSpec, Selection

log = logging.getLogger("nova_emulator.lifecycle")

BUILD_EVENT = "compute__do_build_and_run_instance"
DELETE_EVENT = "compute_terminate_instance"
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
#: Servers of one create request scheduled (or recorded) in one turn.
CHUNK = 100


T = TypeVar("T")
Networked = tuple[Instance, tuple[VifSpec, ...]]  # a build's row and ports after networking

#: Sleeps that many seconds of the cloud's time (the emulator's clock).
Sleeper = Callable[[float], Awaitable[None]]


class Lifecycle:
    def __init__(self, instances: Instances, actions: InstanceActions, claims: Claims,
                 backend: ComputeBackend, sleep: Sleeper,
                 shelved_offload_time: int = 0, resize_confirm_window: int = 0,
                 reclaim_instance_interval: int = 0, max_concurrent_builds: int = 4) -> None:
        self.instances = instances
        self.actions = actions
        self.claims = claims
        self.backend = backend
        self._sleep = sleep
        self._tasks: dict[str, asyncio.Task[None]] = {}
        #: Nova's ``shelved_offload_time`` (0: offload at once after a shelve; > 0 later, an
        #: "offload" timer, see ``shelving``; < 0 never), ``resize_confirm_window`` (> 0:
        #: confirm a resize left in VERIFY_RESIZE that many seconds later; 0 never) and
        #: ``reclaim_instance_interval`` (> 0: DELETE is a soft delete, reclaimed then).
        self.shelved_offload_time = shelved_offload_time
        self.resize_confirm_window = resize_confirm_window
        self.reclaim_instance_interval = reclaim_instance_interval
        #: Confirms a resize whose window has passed (set by whoever wires the domain).
        self.confirm_due: Callable[[str], None] | None = None
        #: Timers of Nova's periodic tasks, per kind ("confirm", "reclaim"...) and server.
        self._timers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._max_builds = max_concurrent_builds
        self._build_slots: asyncio.Semaphore | None = None
        self._turn = asyncio.Lock()
        #: Scheduling tasks of create requests in flight.
        self._scheduling: set[asyncio.Task[None]] = set()
        #: Work beside a server's operation (a live migration's force-complete or abort).
        self._aside: set[asyncio.Task[None]] = set()
        #: Detaches (and deletes, as marked) a deleted server's volumes (set likewise).
        self.release_volumes: Callable[[str], None] | None = None
        #: Makes and connects a build's volumes for the spawn's spec (set likewise).
        self.block_devices: Callable[[Instance, InstanceSpec], Awaitable[InstanceSpec]] | \
            None = None
        #: Whether the action being started hangs (the fault rules', set likewise).
        self.hangs: Callable[[], bool] | None = None

    def _run(self, server_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"server-{server_id}")
        self._tasks[server_id] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._tasks.get(server_id) is t:
                del self._tasks[server_id]
            if not t.cancelled() and t.exception() is not None:
                log.error("operation on %s failed", server_id, exc_info=t.exception())

        task.add_done_callback(done)

    def aside(self, server_id: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` for a server beside the operation that runs for it (which it acts
        on: a live migration's force-complete or abort), not in its place."""
        task = asyncio.get_running_loop().create_task(work, name=f"aside-{server_id}")
        self._aside.add(task)
        task.add_done_callback(self._aside.discard)

    def busy(self, server_id: str) -> bool:
        """Whether an operation runs for the server right now."""
        return server_id in self._tasks

    # -- build ---------------------------------------------------------------------------

    def build(self, server_ids: Sequence[str], request_id: str, plan: BuildPlan | None = None,
              image_properties: Mapping[str, str] | None = None) -> None:
        """Build the servers of one create request (``image_properties``: as it read them):
        scheduled together (every one placed, or NoValidHost for all, as Nova's
        ``select_destinations``), then each on its own, a chunk as its hosts are written."""
        plan = plan or BuildPlan()
        ids = list(server_ids)
        loop = asyncio.get_running_loop()
        chunks = [ids[start:start + CHUNK] for start in range(0, len(ids), CHUNK)]
        hosts: list[asyncio.Future[dict[str, str]]] = [loop.create_future() for _ in chunks]
        claiming = self._claim(chunks, hosts, request_id, plan, image_properties)
        claim = loop.create_task(claiming, name=f"claim-{request_id}")
        self._scheduling.add(claim)
        claim.add_done_callback(self._scheduling.discard)
        for chunk, placed in zip(chunks, hosts, strict=True):
            for server_id in chunk:
                self._run(server_id, self._build(server_id, request_id, plan, placed))

    async def _in_turn(self, work: Callable[..., T], *args: Any) -> T:
        """Run one stretch of a build's database work in its turn: at most
        ``max_concurrent_builds`` builds are between their turns' yields at once, one turn
        runs per pass of the loop, after a yield: a client waits for one stretch at most."""
        if self._build_slots is None:
            self._build_slots = asyncio.Semaphore(self._max_builds)
        async with self._build_slots, self._turn:
            await asyncio.sleep(0)  # the lock's next holder wakes in the loop's next pass
            return work(*args)

    async def _claim(self, chunks: list[list[str]], hosts: list[asyncio.Future[dict[str, str]]],
                     request_id: str, plan: BuildPlan, image: Mapping[str, str] | None) -> None:
        """Schedule a request's servers in chunks (the loop free between them), then write
        each chunk down and hand its hosts (server -> host) to its builds. A request that
        cannot be placed whole places none: every build is handed nothing."""
        claims = self.claims
        try:
            spec = None if plan.outcome is Outcome.NO_VALID_HOST \
                else await self._in_turn(claims.build_spec, chunks[0][0], image)
            selections: list[list[Selection]] = []
            try:
                if spec is None:
                    raise NoValidHost(NOT_ENOUGH_HOSTS)
                for chunk in chunks:
                    selections.append(await self._in_turn(claims.schedule, chunk, spec))
            except NoValidHost as exc:
                for placed in selections:
                    claims.forget(placed)
                message = exc.message if spec is not None else NO_VALID_HOST
                for chunk in chunks:
                    await self._in_turn(self._no_host, chunk, request_id, message, spec)
                return
            for placed, future in zip(selections, hosts, strict=True):
                recorded = set(await self._in_turn(claims.record, placed,
                                                   TaskState.NETWORKING))
                future.set_result({x.consumer: x.host for x in placed
                                   if x.consumer in recorded})
        finally:
            for future in hosts:
                if not future.done():
                    future.set_result({})

    def _no_host(self, ids: list[str], request_id: str, message: str,
                 spec: RequestSpec | None) -> None:
        for server_id in ids:
            if spec is not None:
                wanted = spec.resources
                log.info("%s: NoValidHost for server %s (%s, zone %s)", request_id,
                         server_id, ", ".join(f"{rc} {n}" for rc, n in wanted.items()),
                         spec.zone)
            self._fail_build(server_id, request_id, message)

    async def _build(self, server_id: str, request_id: str, plan: BuildPlan,
                     placed: asyncio.Future[dict[str, str]]) -> None:
        host = (await asyncio.shield(placed)).get(server_id)
        if host is None or not await self._in_turn(self._started, server_id, request_id,
                                                   host, plan):
            return
        networked = await self._in_turn(self._network, server_id, request_id)
        if networked is None:
            return
        row, vifs = networked
        try:
            spec = instance_spec(row, vifs=vifs)
            if self.block_devices is not None:
                spec = await self.block_devices(row, spec)
            await self.backend.spawn(spec)
        except (BackendError, EmulatorError) as exc:
            # Nova's BuildFailureWeigher counts it against the host.
            self.claims.placement.record_build(host, failed=True)
            await self._in_turn(self._fail_build, server_id, request_id, failure_message(exc))
            await self._in_turn(release_ports, self.instances.db, server_id)  # Nova frees them too
            return
        self.claims.placement.record_build(host, failed=False)
        await self._in_turn(self._launched, server_id, request_id, host, plan)

    def _started(self, server_id: str, request_id: str, host: str, plan: BuildPlan) -> bool:
        """The build's event starts on its host; False if the build ends here."""
        log.info("%s: build of server %s scheduled to host %s", request_id, server_id, host)
        self.actions.start_event(server_id, request_id, BUILD_EVENT, host)
        if plan.outcome is Outcome.STUCK:
            return False
        if plan.outcome is Outcome.ERROR:
            self._fail_build(server_id, request_id, plan.message)
            return False
        return True

    def _network(self, server_id: str, request_id: str) -> Networked | None:
        """Give the server its ports, on to spawning (the row, its ports); None: it ends."""
        try:
            vifs = allocate_address(self.instances.db, server_id)
        except Exception as exc:  # an exhausted network is a build failure, not a crash
            self._fail_build(server_id, request_id, failure_message(exc))
            return None
        self.instances.set_state(server_id, task_state=TaskState.BLOCK_DEVICE_MAPPING)
        self.instances.set_state(server_id, task_state=TaskState.SPAWNING)
        row = self.instances.get(server_id)
        return None if row is None else (row, vifs)

    def _launched(self, server_id: str, request_id: str, host: str, plan: BuildPlan) -> None:
        forced = {"config_drive": "True"} if self.backend.force_config_drive else {}
        self.instances.set_state(server_id, vm_state=VmState.ACTIVE, task_state=None,
                                 power_state=int(PowerState.RUNNING), launched_at=now(),
                                 progress=0, **forced)
        self.actions.finish_event(server_id, request_id, BUILD_EVENT, "Success")
        log.info("%s: server %s is ACTIVE on %s", request_id, server_id, host)
        if plan.outcome is Outcome.ACTIVE_THEN_ERROR:
            self._fail_build(server_id, request_id, plan.message)

    def _fail_build(self, server_id: str, request_id: str, message: str) -> None:
        log.info("%s: server %s is ERROR: %s", request_id, server_id, message)
        self.instances.set_state(server_id, vm_state=VmState.ERROR, task_state=None)
        self.instances.record_fault(server_id, 500, message)
        self.actions.finish_event(server_id, request_id, BUILD_EVENT, "Error", message)

    # -- actions -------------------------------------------------------------------------

    def act(self, row: Instance, request_id: str, transition: Transition,
            hooks: ActionHooks | None = None, **arguments: Any) -> None:
        """Run ``transition``'s backend verb in the background and commit its end state
        (with what ``hooks`` add around the verb)."""
        if transition.verb is None:
            # NOTE: API-only actions happen in the API: lock and unlock record their
            # ``api_`` event (Nova's wrap_instance_event(prefix='api')) done at once.
            if transition.event is not None:
                self.actions.event_done(row.uuid, request_id, transition.event, None)
            return
        for kind in ("confirm", "offload"):
            self.cancel_later(kind, row.uuid)
        self._run(row.uuid, self._act(row, request_id, transition, hooks or ActionHooks(),
                                      arguments))

    async def _act(self, row: Instance, request_id: str, transition: Transition,
                   hooks: ActionHooks, arguments: dict[str, Any]) -> None:
        event = transition.event or f"compute_{transition.verb}"
        assert transition.verb is not None
        if hooks.before is not None and hooks.before_event is not None:
            self.actions.start_event(row.uuid, request_id, hooks.before_event, None)
            refused = hooks.before()
            if refused is not None:
                self._act_failed(row, request_id, hooks.before_event, hooks, refused)
                return
            self.actions.finish_event(row.uuid, request_id, hooks.before_event, "Success")
            row = self.instances.get(row.uuid) or row  # e.g. a resize's new host
        self.actions.start_event(row.uuid, request_id, event, row.host)
        refused = hooks.before() if hooks.before is not None and hooks.before_event is None \
            else None
        if refused is not None:
            self._act_failed(row, request_id, event, hooks, refused)
            return
        destination = arguments.pop("destination", None)
        if transition.schedules and not row.host:
            # NOTE: an offloaded server goes through the scheduler again (Nova's conductor);
            # with no host it stays where it was, its task cleared, as Nova's NoValidHost.
            if self.claims.claim_host(row.uuid, task_state=transition.interim,
                                      destination=destination) is None:
                self._act_failed(row, request_id, event, hooks, NO_VALID_HOST)
                return
            row = self.instances.get(row.uuid) or row
        for step in transition.steps:
            self.instances.set_state(row.uuid, task_state=step)
        if self.hangs is not None and self.hangs():  # a fault rule's: the task state stays
            log.info("%s: %s of server %s hangs", request_id, transition.verb, row.uuid)
            return
        spec, more = hooks.call(row) if hooks.call is not None else (instance_spec(row), {})
        try:
            result = await getattr(self.backend, transition.verb)(spec, **arguments, **more)
        except BackendError as exc:
            # NOTE: as Nova's, a cancelled live migration is no fault of the server's.
            self._act_failed(row, request_id, event, hooks, failure_message(exc),
                             fault=not isinstance(exc, MigrationAborted))
            return
        changes: dict[str, Any] = {"task_state": None}
        if hooks.after is not None:
            try:
                changes.update(await hooks.after(result))
            except Exception as exc:  # e.g. the image went away during the upload
                self._act_failed(row, request_id, event, hooks, failure_message(exc))
                return
        changes.update(self._end_state(row, transition))
        follow = TRANSITIONS[transition.then] if transition.then is not None \
            and self._follows(transition.then) else None
        if follow is not None:
            changes["task_state"] = follow.interim
        self.instances.set_state(row.uuid, **changes)
        sync_bindings(self.instances.db, row.uuid)
        if transition.releases_host:
            self.claims.release(row.uuid)
        self.actions.finish_event(row.uuid, request_id, event, "Success")
        if changes.get("vm_state") == VmState.RESIZED:
            self.confirm_later(row.uuid)
        if follow is not None:
            after = self.instances.get(row.uuid)
            if after is not None:
                await self._act(after, request_id, follow, ActionHooks(), {})

    @staticmethod
    def _end_state(row: Instance, transition: Transition) -> dict[str, Any]:
        """The vm_state and power state ``transition`` ends in from ``row`` as accepted:
        the one it started from where the table says it returns there, else its own."""
        changes: dict[str, Any] = {}
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
        return changes

    def _follows(self, key: str) -> bool:
        """Whether a transition's ``then`` runs: the offload after a shelve only with
        ``shelved_offload_time`` 0."""
        return key != "shelve_offload" or self.shelved_offload_time == 0

    def _act_failed(self, row: Instance, request_id: str, event: str, hooks: ActionHooks,
                    message: str, fault: bool = True) -> None:
        # NOTE: as in Nova, a failed action leaves the vm_state and clears the task.
        log.info("%s: %s of server %s failed: %s", request_id, event, row.uuid, message)
        self.instances.set_state(row.uuid, task_state=None, **(hooks.undo or {}))
        if fault:
            self.instances.record_fault(row.uuid, 500, message)
        self.actions.finish_event(row.uuid, request_id, event, "Error", message)
        if hooks.cleanup is not None:
            hooks.cleanup()

    # -- Nova's periodic windows, on the emulator's clock ----------------------------------

    def later(self, kind: str, server_id: str, delay: float,
              work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` once ``delay`` seconds of the clock have passed (one timer per kind
        and server: a new one replaces the old)."""
        self.cancel_later(kind, server_id)

        async def wait_then_work() -> None:
            await self._sleep(max(0.0, delay))
            self._timers.pop((kind, server_id), None)
            await work()

        self._timers[(kind, server_id)] = asyncio.get_running_loop().create_task(
            wait_then_work(), name=f"{kind}-{server_id}")

    def cancel_later(self, kind: str, server_id: str) -> None:
        pending = self._timers.pop((kind, server_id), None)
        if pending is not None and pending is not asyncio.current_task():
            pending.cancel()

    def timers(self) -> list[asyncio.Task[None]]:
        return list(self._timers.values())

    def confirm_later(self, server_id: str, delay: float | None = None) -> None:
        """Nova's ``_poll_unconfirmed_resizes``: with ``resize_confirm_window`` > 0, confirm
        the resize of a server still in VERIFY_RESIZE once the window (or ``delay``) has
        passed."""
        if self.resize_confirm_window <= 0 or self.confirm_due is None:
            return
        confirm = self.confirm_due

        async def work() -> None:
            confirm(server_id)

        self.later("confirm", server_id,
                   self.resize_confirm_window if delay is None else delay, work)

    def reclaim_later(self, server_id: str, delay: float | None = None) -> None:
        """Nova's ``_reclaim_queued_deletes``: delete a soft-deleted server for good once
        ``reclaim_instance_interval`` seconds (or ``delay``) have passed."""

        async def work() -> None:
            row = self.instances.get(server_id)
            if row is not None and row.task_state == TaskState.SOFT_DELETING:
                self.reclaim_later(server_id, 1.0)  # the soft delete is still under way
                return
            if row is None or row.deleted or row.vm_state != VmState.SOFT_DELETED \
                    or row.task_state is not None:
                return
            self.instances.set_state(server_id, task_state=TaskState.DELETING)
            self.delete(server_id, "req-reclaim")

        self.later("reclaim", server_id,
                   self.reclaim_instance_interval if delay is None else delay, work)

    # -- delete --------------------------------------------------------------------------

    def delete(self, server_id: str, request_id: str) -> None:
        for kind in ("confirm", "reclaim", "offload"):
            self.cancel_later(kind, server_id)
        running = self._tasks.pop(server_id, None)
        if running is not None:
            running.cancel()
        self._run(server_id, self._delete(server_id, request_id))

    async def _delete(self, server_id: str, request_id: str) -> None:
        row = self.instances.get(server_id)
        if row is None:
            return
        if row.host:
            self.actions.start_event(server_id, request_id, DELETE_EVENT, row.host)
            try:
                await self.backend.destroy(instance_spec(row))
            except Exception as exc:  # a backend's bug too: ERROR, never stuck deleting
                if not isinstance(exc, BackendError):
                    log.exception("%s: destroy failed", server_id)
                message = failure_message(exc)
                log.info("%s: delete of server %s failed: %s", request_id, server_id, message)
                self.instances.set_state(server_id, vm_state=VmState.ERROR, task_state=None)
                self.instances.record_fault(server_id, 500, message)
                self.actions.finish_event(server_id, request_id, DELETE_EVENT, "Error",
                                          message)
                return
            self.actions.finish_event(server_id, request_id, DELETE_EVENT, "Success")
        else:
            # NOTE: an offloaded server has no host, but what its shelve kept goes with
            # it (Nova deletes the shelved snapshot image); destroy forgets it.
            try:
                await self.backend.destroy(instance_spec(row))
            except BackendError as exc:
                log.warning("%s: what its shelve kept was not removed: %s", server_id, exc)
        release_ports(self.instances.db, server_id)
        self.instances.finish_delete(server_id)
        self.claims.release(server_id)
        if self.release_volumes is not None:
            self.release_volumes(server_id)
        log.info("%s: server %s deleted", request_id, server_id)

    # -- waiting and stopping ------------------------------------------------------------

    async def settle(self) -> None:
        """Wait until no operation is in flight (tests and the control plane use it)."""
        while self._tasks or self._scheduling or self._aside:
            await asyncio.gather(*self._tasks.values(), *self._scheduling, *self._aside,
                                 return_exceptions=True)

    async def quiesce(self, idle: Callable[[asyncio.Task[Any]], bool],
                      timeout: float = 2.0) -> bool:
        """Let operations run until each one left is ``idle`` (e.g. parked on the manual
        clock) or ``timeout`` seconds pass; True if everything came to rest."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        spins = 0
        while any(not t.done() and not idle(t)
                  for t in [*self._tasks.values(), *self._timers.values(),
                            *self._scheduling, *self._aside]):
            if loop.time() >= deadline:
                return False
            spins += 1
            # NOTE: a few bare yields let woken tasks run; then back off to spare the CPU.
            await asyncio.sleep(0 if spins < 100 else 0.001)
        return True

    async def shutdown(self) -> None:
        """Cancel every operation and timer (at exit, or before a reset)."""
        for kind, server_id in list(self._timers):
            self.cancel_later(kind, server_id)
        running = [*self._tasks.values(), *self._scheduling, *self._aside]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._tasks.clear()
