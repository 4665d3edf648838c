"""Keeping the database and the hypervisor in agreement: Nova's power-state sync while
running, and re-adopting instances and re-driving operations after a restart."""

from __future__ import annotations

import logging
from typing import Any

from backends.base import PowerState
from emulator.compute.addresses import server_vifs, vif_spec
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.migrations import Migrations
from emulator.compute.records import now, utc
from emulator.compute.shelving import ShelvedImages
from emulator.compute.specs import instance_spec
from emulator.compute.states import TaskState, VmState
from emulator.context import RequestContext
from emulator.ids import new_request_id
from emulator.network.nova_client import Vif

log = logging.getLogger("nova_emulator.lifecycle")

#: Nova's periodic tasks run with an admin context that has no user or project.
PERIODIC = RequestContext(user_id="", project_id=None, roles=frozenset({"admin"}))


def periodic_context() -> RequestContext:
    """A periodic task's context with a request id of its own."""
    return RequestContext(user_id=PERIODIC.user_id, project_id=PERIODIC.project_id,
                          roles=PERIODIC.roles, request_id=new_request_id())


class Recovery:
    def __init__(self, lifecycle: Lifecycle, shelved: ShelvedImages,
                 migrations: Migrations | None = None) -> None:
        self.lifecycle = lifecycle
        self.migrations = migrations
        self.instances = lifecycle.instances
        self.actions = lifecycle.actions
        self.shelved = shelved

    async def power_changed(self, server_id: str, state: PowerState) -> None:
        """A backend saw an instance's power state change on its own (a guest that powered
        itself off, a hypervisor process that died): Nova's ``_sync_power_states`` for one
        instance. Nothing happens while an operation is in flight; otherwise the power
        state is recorded, and an ACTIVE server found off becomes SHUTOFF (STOPPED)."""
        if self.lifecycle.busy(server_id):
            return
        row = self.instances.get(server_id)
        if row is None or row.deleted or row.task_state is not None:
            return
        changes: dict[str, Any] = {}
        if int(state) != row.power_state:
            changes["power_state"] = int(state)
        if row.vm_state == VmState.ACTIVE and state in (PowerState.SHUTDOWN,
                                                        PowerState.CRASHED):
            changes.update(vm_state=VmState.STOPPED, power_state=int(PowerState.SHUTDOWN),
                           task_state=None)
        ctx = periodic_context()
        if changes:
            log.info("%s: power state sync of server %s: %s", ctx.request_id, server_id,
                     changes)
            self.instances.set_state(server_id, **changes)
        if changes.get("vm_state") == VmState.STOPPED:
            # NOTE: Nova's sync stops the instance through the compute API (an admin
            # context): the server's actions show a "stop" with its compute event.
            self.actions.record(ctx, server_id, "stop")
            self.actions.event_done(server_id, ctx.request_id, "compute_stop_instance",
                                    row.host)

    async def recover(self) -> None:
        """Re-adopt instances, then re-drive what was in flight when we stopped."""
        lifecycle = self.lifecycle
        pending = self.instances.pending()
        rebuilding = [r for r in pending
                      if r.vm_state == VmState.BUILDING and r.task_state != TaskState.DELETING]
        for row in rebuilding:
            # A build starts over from the scheduler: its claim (if it had one) goes.
            self.instances.set_state(row.uuid, host=None, node=None,
                                     task_state=TaskState.SCHEDULING)
        # Placement from the records, before anything claims or releases.
        lifecycle.claims.rebuild()
        # NOTE: a build in flight starts over (below), so the backend is not asked to adopt
        # it: adopting would make the re-driven spawn an ``InstanceExists``.
        live = [r for r in self.instances.live_on_hosts() if r.vm_state != VmState.BUILDING]
        vifs: dict[str, list[Vif]] = {}
        with self.instances.db.session() as s:  # their ports, as a build gave them
            for start in range(0, len(live), 500):
                vifs.update(server_vifs(s, [r.uuid for r in live[start:start + 500]]))
        states = await lifecycle.backend.recover(
            [(instance_spec(r, vifs=tuple(map(vif_spec, vifs.get(r.uuid, ())))),
              PowerState(r.power_state)) for r in live])
        for row in live:
            state = states.get(row.uuid)
            if state is not None and row.task_state is None and int(state) != row.power_state:
                self.instances.set_state(row.uuid, power_state=int(state))
        for row in pending:
            if row.task_state == TaskState.DELETING:
                lifecycle.delete(row.uuid, "req-recovered")
            elif row.vm_state == VmState.BUILDING:
                lifecycle.build([row.uuid], "req-recovered")
            else:
                self.instances.set_state(row.uuid, task_state=None)
        if self.migrations is not None and self.migrations.interrupted():
            log.info("migrations cut short by the restart are in error")
        for row in live:
            if row.vm_state == VmState.RESIZED and row.task_state is None:
                lifecycle.confirm_later(row.uuid, lifecycle.resize_confirm_window
                                        - _elapsed(row.updated_at or row.created_at))
            if lifecycle.reclaim_instance_interval > 0 and row.deleted_at is not None \
                    and row.vm_state == VmState.SOFT_DELETED:
                lifecycle.reclaim_later(row.uuid, lifecycle.reclaim_instance_interval
                                        - _elapsed(row.deleted_at))
            if row.vm_state == VmState.SHELVED and row.task_state is None:
                self.shelved.offload_later(row.uuid, lifecycle.shelved_offload_time
                                           - _elapsed(self.shelved.shelved_since(row)))


def _elapsed(since: Any) -> float:
    """Seconds from ``since`` (naive: UTC) to now."""
    return float((now() - utc(since)).total_seconds())
