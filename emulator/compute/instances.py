"""Instance rows as the background side of operations reads and writes them: state
changes, faults, the end of a delete, and what a restart must pick up again. Each call is
one committed transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, delete, select

from emulator.compute.addresses import forget_addresses
from emulator.compute.models import (
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceAddress,
    InstanceFault,
    InstanceMetadata,
    InstanceSystemMetadata,
    InstanceTag,
)
from emulator.compute.records import any_instance, now
from emulator.compute.server_groups import membership
from emulator.compute.states import VmState
from emulator.db import Database, table_of
from emulator.reads import KeyedRow, Prebuilt

_INSTANCE, _ADDRESS = table_of(Instance), table_of(InstanceAddress)
_BY_STATE = sa_select(_INSTANCE.c.vm_state, _INSTANCE.c.task_state, _INSTANCE.c.host,
                      func.count()).where(_INSTANCE.c.deleted == False).group_by(  # noqa: E712
    _INSTANCE.c.vm_state, _INSTANCE.c.task_state, _INSTANCE.c.host)
#: ``set_state``'s UPDATEs, one a set of columns, made as they are first asked for.
_SET_STATE: dict[frozenset[str], Prebuilt] = {}
#: The end of a delete, in two statements (no object of the instance or its addresses).
_MARK_DELETED = Prebuilt(update(_INSTANCE).where(_INSTANCE.c.uuid == bindparam("server")).values(
    deleted=True, deleted_at=bindparam("when"), terminated_at=bindparam("when"),
    vm_state=VmState.DELETED, task_state=None, power_state=0, updated_at=bindparam("when")))


class Instances:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, server_id: str) -> Instance | KeyedRow | None:
        """The instance, deleted or not, whoever owns it (no policy: not for the API), as
        a row."""
        with self.db.reading() as s:
            return any_instance(s, server_id)

    def set_state(self, server_id: str, **changes: Any) -> bool:
        """Update an instance's columns (``updated_at`` too); False if it no longer
        exists."""
        columns = frozenset(changes)
        statement = _SET_STATE.get(columns)
        if statement is None:
            statement = _SET_STATE[columns] = Prebuilt(update(_INSTANCE).where(
                _INSTANCE.c.uuid == bindparam("server")).values(
                {name: bindparam(f"new_{name}") for name in ("updated_at", *sorted(columns))}))
        values = {f"new_{name}": value for name, value in changes.items()}
        with self.db.writing() as connection:
            return bool(statement(connection, {**values, "server": server_id,
                                               "new_updated_at": now()}))

    def record_fault(self, server_id: str, code: int, message: str, details: str = "") -> None:
        with self.db.session() as s:
            s.add(InstanceFault(instance_uuid=server_id, code=code, message=message,
                                details=details, created_at=now()))

    def replace_metadata(self, server_id: str, items: dict[str, str]) -> None:
        """Set a server's metadata to ``items`` (a rebuild's; checked by the caller)."""
        with self.db.session() as s:
            for meta in s.exec(select(InstanceMetadata).where(
                    InstanceMetadata.instance_uuid == server_id)).all():
                s.delete(meta)
            s.flush()
            for key, value in items.items():
                s.add(InstanceMetadata(instance_uuid=server_id, key=key, value=value))

    def finish_delete(self, server_id: str) -> None:
        """The backend has destroyed it: soft-mark deleted, release claim and addresses,
        leave its server group."""
        with self.db.writing() as connection:
            marked = _MARK_DELETED(connection, {"server": server_id, "when": now()})
            if not marked:
                return
            # NOTE: Nova keeps host and node on a deleted instance (admins see them with
            # ``deleted=true``); the claim ends because usage counts live servers only.
            forget_addresses(connection, server_id)
            membership.remove(connection, server_id)

    def count_by_state(self) -> list[tuple[str, str | None, str | None, int]]:
        """(vm_state, task_state, host, how many) of the live servers (the metrics')."""
        with self.db.reading() as connection:
            return [(vm, task, host, int(n)) for vm, task, host, n in connection.execute(
                _BY_STATE)]

    def pending(self) -> list[Instance]:
        """Live instances with an operation in flight (for recovery after a restart)."""
        with self.db.session() as s:
            stmt = select(Instance).where(Instance.deleted == False,  # noqa: E712
                                          col(Instance.task_state).is_not(None))
            return list(s.exec(stmt).all())

    def live_on_hosts(self) -> list[Instance]:
        """Live instances placed on a host (what a backend must have)."""
        with self.db.session() as s:
            stmt = select(Instance).where(Instance.deleted == False,  # noqa: E712
                                          col(Instance.host).is_not(None))
            return list(s.exec(stmt).all())

    def purge(self) -> None:
        """Forget every server (the control plane's reset)."""
        with self.db.session() as s:
            membership.forget_all(s)
            for model in (InstanceActionEvent, InstanceAction, InstanceFault, InstanceAddress,
                          InstanceTag, InstanceMetadata, InstanceSystemMetadata, Instance):
                s.exec(delete(model))
