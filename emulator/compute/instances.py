"""Instance rows as the background side of operations reads and writes them: state
changes, faults, the end of a delete, and what a restart must pick up again. Each call is
one committed transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, delete, select

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
from emulator.compute.records import now
from emulator.compute.server_groups import membership
from emulator.compute.states import VmState
from emulator.db import Database


class Instances:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, server_id: str) -> Instance | None:
        """The instance, deleted or not, whoever owns it (no policy: not for the API)."""
        with self.db.session() as s:
            return s.exec(select(Instance).where(Instance.uuid == server_id)).first()

    def set_state(self, server_id: str, **changes: Any) -> Instance | None:
        """Update an instance's columns; None if it no longer exists."""
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
            if row is None:
                return None
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = now()
            s.add(row)
            return row

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
        with self.db.session() as s:
            row = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
            if row is None:
                return
            when = now()
            row.deleted, row.deleted_at, row.terminated_at = True, when, when
            row.vm_state, row.task_state, row.power_state = VmState.DELETED, None, 0
            # NOTE: Nova keeps host and node on a deleted instance (admins see them with
            # ``deleted=true``); the claim ends because usage counts live servers only.
            row.updated_at = when
            s.add(row)
            for address in s.exec(select(InstanceAddress)
                                  .where(InstanceAddress.instance_uuid == server_id)).all():
                s.delete(address)
            membership.remove(s, server_id)

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
