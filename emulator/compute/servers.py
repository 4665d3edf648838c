"""Servers as the API reads and changes them: show, list, update, and the acknowledged
first step of every operation (the transition table's guards and interim state, or the
``deleting`` of a delete). No HTTP here.

Each call is one transaction, committed before it returns; what an operation does below
the seam runs afterwards in a background task (``emulator.compute.lifecycle``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, update

from emulator.compute.actions import Transition, refusal
from emulator.compute.instance_actions import start_action
from emulator.compute.listing import ServerQuery, list_servers
from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.records import (
    HostLookup,
    ServerRecord,
    check_lock,
    load_records,
    now,
    visible_instance,
    visible_row,
)
from emulator.compute.states import TaskState
from emulator.context import RequestContext
from emulator.db import Database, table_of
from emulator.errors import Conflict, InvalidInput
from emulator.reads import KeyedRow, Prebuilt

#: What ``update`` may change (the API layer validated each value against its schema).
UPDATABLE = frozenset({"display_name", "display_description", "hostname", "access_ip_v4",
                       "access_ip_v6", "disk_config"})

#: ``changes(row)``: more columns an accepted action sets with its interim state (it may
#: raise: a check that needs the row, after the table's guards, in Nova's order).
Changes = Callable[[Instance], dict[str, Any]]


_INSTANCE = table_of(Instance)
_BEGIN_DELETE = Prebuilt(update(_INSTANCE).where(_INSTANCE.c.uuid == bindparam("server")).values(
    task_state=TaskState.DELETING, updated_at=bindparam("when")))


class Servers:
    def __init__(self, db: Database, host_of: HostLookup) -> None:
        self.db = db
        self.host_of = host_of

    # -- reading -------------------------------------------------------------------------

    def get(self, ctx: RequestContext, server_id: str,
            rule: str = "os_compute_api:servers:show", read_deleted: bool = False,
            ) -> ServerRecord:
        """The server ``ctx`` may see (else 404), once ``rule`` allows it on the server."""
        with self.db.reading() as s:
            row = visible_row(s, ctx, server_id, read_deleted)
            authorize(ctx, rule, row.project_id)
            return load_records(s, [row], self.host_of)[0]

    def matching(self, ctx: RequestContext, query: ServerQuery) -> list[ServerRecord]:
        """Servers matching ``query`` in its order, after its marker, up to its limit."""
        authorize(ctx, "os_compute_api:servers:index")
        with self.db.reading() as s:
            return list_servers(s, query, self.host_of)

    # -- updating ------------------------------------------------------------------------

    def update(self, ctx: RequestContext, server_id: str, changes: dict[str, Any],
               pin: bool = False, pinned_zone: str | None = None) -> ServerRecord:
        """Rename, describe, re-hostname (``changes``: columns of ``UPDATABLE``); with
        ``pin`` (2.104) pin the server to ``pinned_zone``, its current zone, or unpin it
        (None).

        NOTE: Nova's ``update_instance`` has no lock check: a locked server can be renamed.
        """
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise InvalidInput(f"Cannot update {', '.join(sorted(unknown))}")
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, "os_compute_api:servers:update", row.project_id)
            if pin:
                _pin(row, pinned_zone)
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now()
            s.add(row)
            s.flush()
            return load_records(s, [row], self.host_of)[0]

    # -- the first, acknowledged step of an operation --------------------------------------

    def accept(self, ctx: RequestContext, server_id: str, transition: Transition,
               changes: Changes | None = None) -> Instance:
        """Check ``transition``'s guards and commit its interim state and instance action.

        Order as Nova's: lookup (404), policy (the row's ``rule``: 403), lock (409), host,
        vm_state, task_state, launched_at (409), then ``changes(row)``.
        """
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, transition.rule, row.project_id)
            if transition.lock_checked:
                check_lock(ctx, row)
            host = self.host_of(row.host) if transition.host_must_be_up and row.host \
                else None
            refused = refusal(transition, row.uuid, row.vm_state, row.task_state,
                              row.launched_at is not None, has_host=bool(row.host),
                              host_up=host is None or host.up)
            if refused is not None:
                raise Conflict(refused)
            extra = changes(row) if changes is not None else {}
            if transition.remembers:
                row.old_vm_state = row.vm_state
            if transition.interim is not None:
                row.task_state = transition.interim
            for name, value in extra.items():
                setattr(row, name, value)
            row.updated_at = now()
            s.add(row)
            start_action(s, ctx, row.uuid, transition.record or transition.name,
                         row.updated_at)
            return row

    def begin_delete(self, ctx: RequestContext, server_id: str, rule: str) -> KeyedRow:
        """Mark the server ``deleting`` (acknowledged); the lifecycle finishes the delete.
        The row as it is now (read, checked and updated without an object of it: every
        delete takes this path)."""
        with self.db.writing() as connection:
            row = visible_row(connection, ctx, server_id)
            authorize(ctx, rule, row.project_id)
            check_lock(ctx, row)
            when = now()
            _BEGIN_DELETE(connection, {"server": server_id, "when": when})
            start_action(connection, ctx, row.uuid, "delete", when)
            return row._replace(task_state=TaskState.DELETING, updated_at=when)


def _pin(row: Instance, zone: str | None) -> None:
    """Nova's 2.104 ``pinned_availability_zone`` update (the request spec's zone)."""
    current = row.pinned_availability_zone
    if zone is None:
        row.pinned_availability_zone = None
        return
    if current is not None:
        if zone != current:
            raise Conflict("Cannot change pinned availability zone directly. Unpin first "
                           "by setting pinned_availability_zone to null.")
        return
    instance_zone = row.availability_zone or row.requested_availability_zone
    if zone != instance_zone:
        raise Conflict("Server can only be pinned to its current availability zone "
                       f"'{instance_zone}', but '{zone}' was requested.")
    row.pinned_availability_zone = zone
