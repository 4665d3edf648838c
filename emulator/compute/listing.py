"""The server list (``GET /servers``, ``/servers/detail``): Nova's filters, sort keys,
marker paging, and the page dressed as records. Filters the database can apply go to SQL;
the rest (regular expressions, statuses, tags, addresses) are applied in Python."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from emulator.compute.models import Instance, InstanceAddress, InstanceTag
from emulator.compute.records import HostLookup, ServerRecord, load_records, utc
from emulator.errors import InvalidInput


@dataclass(frozen=True)
class ServerQuery:
    """Parsed list filters; every field None means "no filter"."""

    project_id: str | None = None  # None: all projects (admin with all_tenants)
    user_id: str | None = None
    name: str | None = None  # regex
    statuses: frozenset[str] | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    ip: str | None = None  # regex on IPv4 addresses
    ip6: str | None = None  # regex on IPv6 addresses
    flavor: str | None = None
    image: str | None = None
    host: str | None = None
    node: str | None = None
    availability_zone: str | None = None
    key_name: str | None = None
    config_drive: bool | None = None
    locked: bool | None = None
    vm_state: frozenset[str] | None = None
    task_state: frozenset[str] | None = None
    power_state: frozenset[int] | None = None
    uuid: str | None = None
    tags: frozenset[str] | None = None
    tags_any: frozenset[str] | None = None
    not_tags: frozenset[str] | None = None
    not_tags_any: frozenset[str] | None = None
    #: None: live servers only; True: deleted only (admins); False: live only.
    deleted: bool | None = None
    #: (Instance attribute, pattern): Nova's regular-expression filters (``re.search``; a
    #: NULL column never matches, other values are matched as their SQL text).
    regex: tuple[tuple[str, str], ...] = ()
    #: Every sort key in order, Nova's defaults (``created_at``, ``id``) included.
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"), ("id", "desc"))
    limit: int = 1000
    marker: str | None = None


#: Sort keys the list accepts -> Instance attribute.
SORT_KEYS: dict[str, str] = {
    "access_ip_v4": "access_ip_v4", "access_ip_v6": "access_ip_v6",
    "auto_disk_config": "disk_config", "availability_zone": "availability_zone",
    "config_drive": "config_drive", "created_at": "created_at",
    "display_description": "display_description", "display_name": "display_name",
    "host": "host", "hostname": "hostname", "image_ref": "image_ref",
    "instance_type_id": "flavor_id", "kernel_id": "id", "key_name": "key_name",
    "launch_index": "launch_index", "launched_at": "launched_at", "locked": "locked",
    "locked_by": "locked_by", "node": "node", "power_state": "power_state",
    "progress": "progress", "project_id": "project_id", "ramdisk_id": "id",
    "root_device_name": "root_device_name", "task_state": "task_state",
    "terminated_at": "terminated_at", "updated_at": "updated_at", "user_id": "user_id",
    "uuid": "uuid", "vm_state": "vm_state",
    # Nova's last default sort key, the table's integer id (not a key clients may give).
    "id": "id",
}


def list_servers(s: Session, query: ServerQuery, host_of: HostLookup) -> list[ServerRecord]:
    """Servers matching ``query`` in its order, after its marker, up to its limit."""
    stmt = select(Instance)
    if query.project_id is not None:
        stmt = stmt.where(Instance.project_id == query.project_id)
    if query.deleted is True:
        stmt = stmt.where(Instance.deleted == True)  # noqa: E712
    elif query.deleted is False or (query.changes_since is None
                                    and query.changes_before is None):
        stmt = stmt.where(Instance.deleted == False)  # noqa: E712
    for column, value in (("user_id", query.user_id), ("flavor_id", query.flavor),
                          ("image_ref", query.image), ("host", query.host),
                          ("node", query.node), ("key_name", query.key_name),
                          ("uuid", query.uuid),
                          ("availability_zone", query.availability_zone)):
        if value is not None:
            stmt = stmt.where(getattr(Instance, column) == value)
    if query.marker is None and not _needs_python(query):
        # The common page (filters the database can apply, no marker): let SQL
        # sort and cut it. NULLs sort first ascending, as in _sortable below.
        order = [getattr(col(getattr(Instance, SORT_KEYS[key])), direction)()
                 for key, direction in query.sort]
        page = list(s.exec(stmt.order_by(*order).limit(query.limit)).all())
        return load_records(s, page, host_of)
    rows = list(s.exec(stmt).all())
    matching = {r.uuid: r for r in _candidates(s, rows, query)
                if _matches(r, query)}
    # Nova pages from the marker's place in the order: any server (of any project,
    # deleted or not, matching the filters or not) will do.
    marker = None if query.marker is None else s.exec(
        select(Instance).where(Instance.uuid == query.marker)).first()
    if query.marker is not None and marker is None:
        raise InvalidInput(f"marker [{query.marker}] not found")
    ordered = [r.instance for r in matching.values()]
    if marker is not None and marker.uuid not in matching:
        ordered.append(marker)
    for key, direction in reversed(query.sort):
        attribute = SORT_KEYS[key]
        ordered.sort(key=lambda i, a=attribute: _sortable(getattr(i, a)),  # type: ignore[misc]
                     reverse=direction == "desc")
    if marker is not None:
        ordered = ordered[[i.uuid for i in ordered].index(marker.uuid) + 1:]
    page = [i for i in ordered if i.uuid in matching][: query.limit]
    # Only the page is dressed with metadata, faults and host status.
    return load_records(s, page, host_of)


def _candidates(s: Session, rows: Sequence[Instance],
                q: ServerQuery) -> list[ServerRecord]:
    """Bare records to filter: tags and addresses are loaded only if a filter reads them."""
    uuids = [r.uuid for r in rows]
    tags: dict[str, list[str]] = {}
    if any(t is not None for t in (q.tags, q.tags_any, q.not_tags, q.not_tags_any)):
        for t in s.exec(select(InstanceTag).where(col(InstanceTag.instance_uuid).in_(uuids))):
            tags.setdefault(t.instance_uuid, []).append(t.tag)
    addresses: dict[str, list[InstanceAddress]] = {}
    if q.ip is not None or q.ip6 is not None:
        for a in s.exec(select(InstanceAddress)
                        .where(col(InstanceAddress.instance_uuid).in_(uuids))):
            addresses.setdefault(a.instance_uuid, []).append(a)
    return [ServerRecord(instance=r, metadata={}, tags=tuple(tags.get(r.uuid, ())),
                         addresses=tuple(addresses.get(r.uuid, ())), fault=None,
                         host_status="")
            for r in rows]


def _matches(r: ServerRecord, q: ServerQuery) -> bool:
    i = r.instance
    checks: list[bool] = []
    if q.name is not None:
        checks.append(re.search(q.name, i.display_name) is not None)
    for attribute, expression in q.regex:
        value = getattr(i, attribute)
        checks.append(value is not None
                      and re.search(expression, _sql_text(value)) is not None)
    if q.statuses is not None:
        checks.append(r.status in q.statuses)
    if q.changes_since is not None:
        checks.append(_updated(i) >= q.changes_since)
    if q.changes_before is not None:
        checks.append(_updated(i) <= q.changes_before)
    for pattern, version in ((q.ip, 4), (q.ip6, 6)):
        if pattern is not None:
            checks.append(any(re.search(pattern, a.address) for a in r.addresses
                              if a.version == version))
    if q.config_drive is not None:
        checks.append(bool(i.config_drive) == q.config_drive)
    if q.locked is not None:
        checks.append(i.locked == q.locked)
    if q.vm_state is not None:
        checks.append(i.vm_state in q.vm_state)
    if q.task_state is not None:
        checks.append((i.task_state or "") in q.task_state)
    if q.power_state is not None:
        checks.append(i.power_state in q.power_state)
    tags = set(r.tags)
    if q.tags is not None:
        checks.append(q.tags <= tags)
    if q.tags_any is not None:
        checks.append(bool(q.tags_any & tags))
    if q.not_tags is not None:
        checks.append(not q.not_tags <= tags)
    if q.not_tags_any is not None:
        checks.append(not q.not_tags_any & tags)
    return all(checks)


def _needs_python(q: ServerQuery) -> bool:
    """Whether ``q`` has a filter only Python applies (regexes, statuses, tags, ...)."""
    return any(value is not None for value in (
        q.name, q.statuses, q.changes_since, q.changes_before, q.ip, q.ip6, q.config_drive,
        q.locked, q.vm_state, q.task_state, q.power_state, q.tags, q.tags_any, q.not_tags,
        q.not_tags_any)) or bool(q.regex)


def _updated(instance: Instance) -> datetime:
    return utc(instance.updated_at or instance.created_at)


def _sql_text(value: Any) -> str:
    """A column value as a regular expression filter sees it (its SQL text)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def _sortable(value: Any) -> tuple[bool, Any]:
    """Sort None first (ascending), as SQL NULLs sort in Nova's MySQL."""
    if isinstance(value, datetime):
        value = utc(value)
    return (value is not None, value if value is not None else 0)
