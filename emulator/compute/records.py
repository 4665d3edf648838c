"""What the compute domain hands the API: servers and instance actions, detached from the
database, and the 404 and 409 errors every server lookup shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from backends.base import HostInfo
from emulator.compute.addresses import Address, cached_addresses
from emulator.compute.models import (
    Instance,
    InstanceAction,
    InstanceActionEvent,
    InstanceFault,
    InstanceMetadata,
    InstanceTag,
)
from emulator.compute.server_groups.membership import GroupRef, groups_of
from emulator.compute.states import status_of
from emulator.compute.volumes.mappings import volumes_of
from emulator.context import RequestContext
from emulator.db import table_of
from emulator.errors import Conflict, NotFound
from emulator.reads import KeyedRead, KeyedRow, Reader


def now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite hands naive ones back)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def not_found(server_id: str) -> NotFound:
    return NotFound(f"Instance {server_id} could not be found.")


def invalid_state(action: str, server_id: str, attr: str, state: object) -> Conflict:
    """Nova's 409 for ``InstanceInvalidState`` (``raise_http_conflict_for_...``)."""
    return Conflict(f"Cannot '{action}' instance {server_id} while it is in {attr} {state}")


def not_ready(server_id: str) -> Conflict:
    """Nova's ``InstanceNotReady`` (``check_instance_host``), a 409."""
    return Conflict(f"Instance {server_id} is not ready")


def _visible_where(uuid: Any, deleted: Any, project_id: Any, read_deleted: bool,
                   admin: bool) -> list[Any]:
    """The conditions of the server ``ctx`` may see (an admin any project's; deleted ones
    only with ``read_deleted``), on the given columns: one rule for the object and the
    row reads below."""
    return ([uuid]
            + ([] if read_deleted else [deleted == False])  # noqa: E712
            + ([] if admin else [project_id == bindparam("project_id")]))


#: ``visible_instance``'s statement by (read_deleted, is_admin), built once (building one
#: costs three times running it).
_VISIBLE_OBJECT = {
    (read_deleted, admin): select(Instance).where(*_visible_where(
        Instance.uuid == bindparam("uuid"), Instance.deleted, Instance.project_id,
        read_deleted, admin))
    for read_deleted in (False, True) for admin in (False, True)}


def visible_instance(s: Session, ctx: RequestContext, server_id: str,
                     read_deleted: bool = False) -> Instance:
    """The instance ``ctx`` may see; others' and unknown ids are the same 404."""
    row: Instance | None = s.exec(_VISIBLE_OBJECT[read_deleted, ctx.is_admin], params={
        "uuid": server_id, "project_id": ctx.project_id}).first()
    if row is None:
        raise not_found(server_id)
    return row


_INSTANCE = table_of(Instance)


def _visible(read_deleted: bool, admin: bool) -> KeyedRead:
    return KeyedRead(lambda match: sa_select(_INSTANCE).where(*_visible_where(
        match(_INSTANCE.c.uuid), _INSTANCE.c.deleted, _INSTANCE.c.project_id,
        read_deleted, admin)))


#: ``visible_row``'s read by (read_deleted, is_admin).
_VISIBLE = {(read_deleted, admin): _visible(read_deleted, admin)
            for read_deleted in (False, True) for admin in (False, True)}


def visible_row(s: Reader, ctx: RequestContext, server_id: str,
                read_deleted: bool = False) -> KeyedRow:
    """``visible_instance`` for a read: the instance's row (``reads``), not an object of
    a session."""
    rows = _VISIBLE[read_deleted, ctx.is_admin](s, [server_id], project_id=ctx.project_id)
    if not rows:
        raise not_found(server_id)
    return rows[0]


def any_instance(s: Reader, server_id: str) -> KeyedRow | None:
    """The instance's row, deleted or not, whoever owns it (no policy: not for the API);
    None if there is none."""
    found = _VISIBLE[True, True](s, [server_id])
    return found[0] if found else None


def check_lock(ctx: RequestContext, row: Instance) -> None:
    """Nova's ``check_instance_lock``: a locked server refuses all but admins."""
    if row.locked and not ctx.is_admin:
        raise Conflict(f"Instance {row.uuid} is locked")


@dataclass(frozen=True)
class ServerRecord:
    """A server with everything its views show, detached from the database."""

    #: The instance: an object of a session on a write path, a row of its table on a read
    #: (a keyed read's or the list's; each answers the same names).
    instance: Instance | KeyedRow
    metadata: dict[str, str]
    tags: tuple[str, ...]
    addresses: tuple[Address, ...]
    fault: InstanceFault | KeyedRow | None
    host_status: str
    #: The server group it is in (2.71 shows it).
    group: GroupRef | None = None
    #: (volume id, delete_on_termination) of each volume mapped to it.
    volumes: tuple[tuple[str, bool], ...] = ()

    @property
    def uuid(self) -> str:
        return self.instance.uuid

    def server_groups(self, ctx: RequestContext) -> list[str]:
        """The group's uuid as ``ctx`` sees it (Nova's 2.71 ``server_groups``): a group of
        another project is hidden from a non-admin, as Nova's group lookup hides it."""
        group = self.group
        if group is None or not (ctx.is_admin or group.project_id == ctx.project_id):
            return []
        return [group.uuid]

    @cached_property
    def status(self) -> str:
        if self.instance.deleted:
            return "DELETED"
        return status_of(self.instance.vm_state, self.instance.task_state)

    @property
    def fixed_addresses(self) -> tuple[tuple[str, str, str], ...]:
        """(network, address, MAC) of each address, as a backend's instance spec has them."""
        return tuple((a.network_name, a.address, a.mac_address or "") for a in self.addresses)


#: A compute host by name (None: there is none of that name).
HostLookup = Callable[[str], HostInfo | None]


def host_status(instance: Instance | KeyedRow, host_of: HostLookup) -> str:
    """Nova's ``host_status``: UP, DOWN, MAINTENANCE (disabled), UNKNOWN, or "" unhosted."""
    if instance.host is None:
        return ""
    host = host_of(instance.host)
    if host is None:
        return "UNKNOWN"
    if not host.up:
        return "DOWN"
    return "UP" if host.enabled else "MAINTENANCE"


_METADATA, _TAG, _FAULT = (table_of(InstanceMetadata), table_of(InstanceTag),
                           table_of(InstanceFault))
_METADATA_OF = KeyedRead(lambda match: sa_select(
    _METADATA.c.instance_uuid, _METADATA.c.key, _METADATA.c.value)
    .where(match(_METADATA.c.instance_uuid)))
_TAGS_OF = KeyedRead(lambda match: sa_select(_TAG.c.instance_uuid, _TAG.c.tag)
                     .where(match(_TAG.c.instance_uuid)))
_FAULTS_OF = KeyedRead(lambda match: sa_select(_FAULT).where(match(_FAULT.c.instance_uuid))
                       .order_by(_FAULT.c.id))


def load_records(s: Reader, rows: Sequence[Instance | KeyedRow],
                 host_of: HostLookup) -> list[ServerRecord]:
    """``rows`` dressed with their metadata, tags, addresses (their info caches, as Nova's
    views), latest fault, host status and server group (one query per table for the whole
    page, each built once)."""
    if not rows:
        return []
    uuids = [r.uuid for r in rows]
    metadata: dict[str, dict[str, str]] = {u: {} for u in uuids}
    for uuid, key, value in _METADATA_OF(s, uuids):
        metadata[uuid][key] = value
    tags: dict[str, list[str]] = {u: [] for u in uuids}
    for uuid, tag in _TAGS_OF(s, uuids):
        tags[uuid].append(tag)
    addresses = cached_addresses(s, uuids)
    faults = {f.instance_uuid: f for f in _FAULTS_OF(s, uuids)}
    groups = groups_of(s, uuids)
    volumes = volumes_of(s, uuids)
    return [
        ServerRecord(instance=r, metadata=metadata[r.uuid], tags=tuple(sorted(tags[r.uuid])),
                     addresses=addresses[r.uuid], fault=faults.get(r.uuid),
                     host_status=host_status(r, host_of), group=groups.get(r.uuid),
                     volumes=tuple(volumes[r.uuid]))
        for r in rows
    ]


@dataclass(frozen=True)
class ActionRecord:
    """One instance action (Nova's ``InstanceAction``) as its views show it."""

    action: str
    instance_uuid: str
    request_id: str
    user_id: str
    project_id: str
    start_time: datetime
    updated_at: datetime | None
    message: str | None

    @classmethod
    def of(cls, row: InstanceAction) -> ActionRecord:
        return cls(action=row.action, instance_uuid=row.instance_uuid,
                   request_id=row.request_id, user_id=row.user_id,
                   project_id=row.project_id, start_time=row.start_time,
                   updated_at=row.updated_at, message=row.message)


@dataclass(frozen=True)
class EventRecord:
    """One event of an instance action (Nova's ``InstanceActionEvent``)."""

    event: str
    start_time: datetime
    finish_time: datetime | None
    result: str | None
    traceback: str | None
    host: str | None
    details: str | None

    @classmethod
    def of(cls, row: InstanceActionEvent) -> EventRecord:
        return cls(event=row.event, start_time=row.start_time, finish_time=row.finish_time,
                   result=row.result, traceback=row.traceback, host=row.host,
                   details=row.details)


@dataclass(frozen=True)
class ActionDetail:
    """An action with its events (newest first) and the project of its server."""

    server_project_id: str
    action: ActionRecord
    events: tuple[EventRecord, ...]
