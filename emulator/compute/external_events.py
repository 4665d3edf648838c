"""Server external events (``POST /os-server-external-events``): what Neutron, Cinder,
Cyborg and Ironic tell Nova about a server, as Nova's ``ServerExternalEventsController``
and compute manager handle them.

Each event gets its own answer: 404 for a server that does not exist (or is deleted), 400
for an event that needs a tag and has none, 422 for a server with no host yet (nowhere
to deliver it), else 200; any failure makes the whole answer a 207.

What an accepted event does (the rest only wake a waiter of the compute manager, and
nothing here waits for them):

- ``volume-extended``: an ``extend_volume`` instance action with its
  ``compute_extend_volume`` event done (no volume is ever attached here, and Nova's
  compute returns early for a volume that is not).
- ``power-update`` with tag ``POWER_OFF`` (``POWER_ON``): a ``stop`` (``start``) instance
  action; an active, running server (a stopped, shut down one) with no task is powered
  off (on) through its ``compute_power_update`` event; in any other state nothing
  changes and the event is done at once. Another tag: nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from backends.base import PowerState
from emulator.compute.actions import Transition
from emulator.compute.instance_actions import InstanceActions, start_action
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.records import now
from emulator.compute.states import TaskState, VmState
from emulator.context import RequestContext
from emulator.db import Database

RULE = "os_compute_api:os-server-external-events:create"
#: Events Nova drops (400) without a tag.
TAG_REQUIRED = frozenset({"volume-extended", "power-update", "accelerator-request-bound"})
POWER_EVENT = "compute_power_update"
EXTEND_EVENT = "compute_extend_volume"


def _power(name: str, vm_state: VmState, interim: TaskState, verb: str, final: VmState,
           power: PowerState) -> Transition:
    return Transition(name, RULE, frozenset({vm_state}), interim=interim, verb=verb,
                      final=final, power=power, lock_checked=False, event=POWER_EVENT)


#: ``power-update`` by tag: the instance action it records, and the transition it makes
#: from the one state it applies to (with that power state). NOTE: Nova's libvirt driver
#: does not implement ``power_update_event`` (its event fails, nothing changes); this is
#: the change Ironic's driver, the one that sends the event, makes.
POWER_UPDATES: dict[str, tuple[Transition, PowerState]] = {
    "POWER_OFF": (_power("stop", VmState.ACTIVE, TaskState.POWERING_OFF, "power_off",
                         VmState.STOPPED, PowerState.SHUTDOWN), PowerState.RUNNING),
    "POWER_ON": (_power("start", VmState.STOPPED, TaskState.POWERING_ON, "power_on",
                        VmState.ACTIVE, PowerState.RUNNING), PowerState.SHUTDOWN),
}


@dataclass(frozen=True)
class Event:
    """One event of the request (its schema checked by the API)."""

    name: str
    server_uuid: str
    tag: str | None = None


@dataclass(frozen=True)
class Delivery:
    """How one event fared: ``code`` (200, 400, 404, 422) and ``status``."""

    code: int

    @property
    def status(self) -> str:
        return "completed" if self.code == 200 else "failed"


class ExternalEvents:
    def __init__(self, db: Database, actions: InstanceActions, lifecycle: Lifecycle) -> None:
        self.db = db
        self.actions = actions
        self.lifecycle = lifecycle

    def create(self, ctx: RequestContext, events: Sequence[Event]) -> list[Delivery]:
        """Each event's delivery, in the request's order; the accepted ones take effect.

        NOTE: the servers are looked up in every project, as the service users that send
        events (Neutron's, Cinder's) need."""
        authorize(ctx, RULE)
        wanted = {e.server_uuid for e in events}
        with self.db.session() as s:
            rows = s.exec(select(Instance).where(col(Instance.uuid).in_(wanted),
                                                 Instance.deleted == False)).all()  # noqa: E712
        servers = {row.uuid: row for row in rows}
        deliveries = [self._delivery(e, servers.get(e.server_uuid)) for e in events]
        for event, delivery in zip(events, deliveries, strict=True):
            if delivery.code == 200:
                self._apply(ctx, event)
        return deliveries

    @staticmethod
    def _delivery(event: Event, server: Instance | None) -> Delivery:
        if server is None:
            return Delivery(404)
        if event.name in TAG_REQUIRED and event.tag is None:
            return Delivery(400)
        return Delivery(200 if server.host else 422)

    def _apply(self, ctx: RequestContext, event: Event) -> None:
        if event.name == "volume-extended":
            self._record(ctx, event.server_uuid, "extend_volume", EXTEND_EVENT)
        elif event.name == "power-update" and event.tag in POWER_UPDATES:
            self._power_update(ctx, event.server_uuid, *POWER_UPDATES[event.tag])

    def _record(self, ctx: RequestContext, server_id: str, action: str, event: str) -> None:
        """An instance action whose compute event is done at once."""
        self.actions.record(ctx, server_id, action)
        self.actions.event_done(server_id, ctx.request_id, event, None)

    def _power_update(self, ctx: RequestContext, server_id: str, transition: Transition,
                      power: PowerState) -> None:
        """Nova's ``power_update``: only from the transition's state with no task and the
        power state that goes with it; else the action is recorded and nothing changes."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).one()
            assert transition.vm_states is not None
            applies = row.task_state is None and row.vm_state in transition.vm_states \
                and row.power_state == power and not self.lifecycle.busy(server_id)
            if applies:
                row.task_state = transition.interim
                if transition.interim == TaskState.POWERING_OFF:
                    row.progress = 0
                row.updated_at = now()
                s.add(row)
                start_action(s, ctx, server_id, transition.name, row.updated_at)
        if applies:
            self.lifecycle.act(row, ctx.request_id, transition)
        else:
            self._record(ctx, server_id, transition.name, POWER_EVENT)
