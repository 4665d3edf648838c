"""The server list (``GET /servers``, ``/servers/detail``): Nova's filters, sort keys and
marker paging, all in SQL, and the page dressed as records.

As Nova's ``instance_get_all_by_filters_sort`` with oslo.db's ``paginate_query``, a page
is one query: every filter is a SQL condition (regular expressions through the
database's REGEXP, which SQLAlchemy gives SQLite as Python's ``re.search``; ``status``
arrives as the vm_states and task_states ``states.STATUS_MAP`` gives it), and the marker
becomes a keyset condition, "after the marker's values in the sort order", so a page
reads about ``limit`` rows wherever it starts (see the indexes on ``Instance``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    TypeDecorator,
    and_,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
)
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DataError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from emulator.compute.models import Instance, InstanceAddress, InstanceTag
from emulator.compute.records import HostLookup, ServerRecord, load_records
from emulator.db import AnyRow, table_of
from emulator.errors import InvalidInput
from emulator.reads import Reader, connection_of


@dataclass(frozen=True)
class ServerQuery:
    """Parsed list filters; every field None means "no filter"."""

    project_id: str | None = None  # None: all projects (admin with all_tenants)
    user_id: str | None = None
    name: str | None = None  # regex
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
    #: The vm_states and task_states the ``status`` filter stands for (Nova's
    #: ``task_and_vm_state_from_status``, from ``states.STATUS_MAP``), or given directly.
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


#: Query field -> Instance attribute, for the filters that match a column exactly.
EXACT_FILTERS: dict[str, str] = {
    "user_id": "user_id", "flavor": "flavor_id", "image": "image_ref", "host": "host",
    "node": "node", "key_name": "key_name", "uuid": "uuid",
    "availability_zone": "availability_zone",
}
#: Query field -> Instance attribute, for the filters that match one of a set of values.
SET_FILTERS: dict[str, str] = {"vm_state": "vm_state", "power_state": "power_state"}


def list_servers(s: Reader, query: ServerQuery, host_of: HostLookup) -> list[ServerRecord]:
    """Servers matching ``query`` in its order, after its marker, up to its limit, in one
    query. In the default order (``created_at``) an index hands SQLite the rows from the
    marker on, so a page reads about ``limit`` rows whatever the table's size; filters
    the index lacks are checked on those rows as they come (a rare match reads further).
    Another sort key, or changes-since (which shows deleted servers too), sorts the
    matching rows first, inside SQLite."""
    if not _regexes_compile(s, query):
        return []
    # The page's rows, not objects of the session: a read (a thousand ORM objects cost
    # more than the rest of the page).
    stmt = sa_select(table_of(Instance)).where(*conditions(query))
    if query.marker is not None:
        # Nova pages from the marker's place in the order: any server (of any project,
        # deleted or not, matching the filters or not) will do.
        marker = s.execute(sa_select(table_of(Instance))
                           .where(col(Instance.uuid) == query.marker)).first()
        if marker is None:
            raise InvalidInput(f"marker [{query.marker}] not found")
        stmt = stmt.where(*after(marker, query.sort))
    page = s.execute(stmt.order_by(*order(query.sort)).limit(query.limit)).all()
    # Only the page is dressed with metadata, faults and host status.
    return load_records(s, page, host_of)


def _regexes_compile(s: Reader, q: ServerQuery) -> bool:
    """Whether the database takes every regular expression of ``q``. The API checks them
    with Python's ``re``, which is SQLite's REGEXP; PostgreSQL's are POSIX's and refuse
    some of those (``(?P<n>a)``): each is tried there (in a savepoint, unless the read is
    in autocommit: ``Database.reading``), and one it refuses matches nothing, as one
    ``re`` refuses does."""
    patterns = [p for p in (q.name, q.ip, q.ip6, *(p for _, p in q.regex)) if p is not None]
    connection = connection_of(s)
    if not patterns or connection.dialect.name == "sqlite":
        return True
    autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    for pattern in patterns:
        try:
            with contextlib.nullcontext() if autocommit else connection.begin_nested():
                connection.execute(sa_select(literal("").regexp_match(pattern)))
        except DataError:
            return False
    return True


def conditions(q: ServerQuery) -> list[ColumnElement[bool]]:
    """``q``'s filters as SQL conditions on ``Instance`` (and, through EXISTS, its tags
    and addresses)."""
    where: list[ColumnElement[bool]] = []
    if q.project_id is not None:
        where.append(col(Instance.project_id) == q.project_id)
    if q.deleted is True:
        where.append(col(Instance.deleted) == True)  # noqa: E712
    elif q.deleted is False or (q.changes_since is None and q.changes_before is None):
        # NOTE: as Nova, changes-since/-before without ``deleted`` show deleted servers too.
        where.append(col(Instance.deleted) == False)  # noqa: E712
    for field, attribute in EXACT_FILTERS.items():
        if (value := getattr(q, field)) is not None:
            where.append(_column(attribute) == value)
    for field, attribute in SET_FILTERS.items():
        if (values := getattr(q, field)) is not None:
            where.append(_column(attribute).in_(sorted(values)))
    if q.task_state is not None:
        task_state = col(Instance.task_state)
        # A server without a task matches the empty task_state.
        where.append(or_(task_state.in_(sorted(q.task_state)),
                         task_state.is_(None) if "" in q.task_state else false()))
    if q.locked is not None:
        where.append(col(Instance.locked) == q.locked)
    if q.config_drive is not None:
        has_drive = col(Instance.config_drive) != ""
        where.append(has_drive if q.config_drive else not_(has_drive))
    changed = func.coalesce(col(Instance.updated_at), col(Instance.created_at))
    if q.changes_since is not None:
        where.append(changed >= q.changes_since)
    if q.changes_before is not None:
        where.append(changed <= q.changes_before)
    if q.name is not None:
        where.append(col(Instance.display_name).regexp_match(q.name))
    for attribute, pattern in q.regex:
        where.append(_as_text(attribute).regexp_match(pattern))
    for address, version in ((q.ip, 4), (q.ip6, 6)):
        if address is not None:
            # NOTE: Nova's _ip_filter matches the fixed addresses only, not floating ones.
            where.append(exists().where(
                col(InstanceAddress.instance_uuid) == col(Instance.uuid),
                col(InstanceAddress.version) == version,
                col(InstanceAddress.kind) == "fixed",
                col(InstanceAddress.address).regexp_match(address)))
    if q.tags is not None:
        where.append(_has_all_tags(q.tags))
    if q.tags_any is not None:
        where.append(_has_tag_of(q.tags_any))
    if q.not_tags is not None:
        where.append(not_(_has_all_tags(q.not_tags)))
    if q.not_tags_any is not None:
        where.append(not_(_has_tag_of(q.not_tags_any)))
    return where


def order(sort: tuple[tuple[str, str], ...]) -> list[ColumnElement[Any]]:
    """ORDER BY for ``sort``. NULLs sort first ascending (last descending), as in Nova's
    MySQL and SQLite, and so in every database."""
    return [_column(SORT_KEYS[key]).asc().nulls_first() if direction == "asc"
            else _column(SORT_KEYS[key]).desc().nulls_last()
            for key, direction in sort]


def after(marker: AnyRow, sort: tuple[tuple[str, str], ...]) -> list[ColumnElement[bool]]:
    """The keyset condition of oslo.db's ``paginate_query``: rows after ``marker`` in
    ``sort`` order (equal on the first i-1 keys, beyond it on the i-th, for some i). The
    last key (``id``) is unique, so the marker itself is never after itself.

    A redundant bound on the first key comes first, so that an index led by it starts
    the scan at the marker instead of at the top of the order."""
    alternatives: list[ColumnElement[bool]] = []
    equal: list[ColumnElement[bool]] = []
    for key, direction in sort:
        attribute = SORT_KEYS[key]
        column, value = _column(attribute), _value_of(marker, attribute)
        alternatives.append(and_(*equal, _beyond(attribute, value, direction)))
        equal.append(column.is_(None) if value is None else column == value)
    where = [or_(*alternatives)]
    first, direction = SORT_KEYS[sort[0][0]], sort[0][1]
    value = _value_of(marker, first)
    if value is not None and (direction == "asc" or not _nullable(first)):
        column = _column(first)
        where.insert(0, column >= value if direction == "asc" else column <= value)
    return where


def _value_of(marker: AnyRow, attribute: str) -> Any:
    """The marker's value of ``attribute`` as a bound literal of the column's type (so
    that booleans compare as values), or None."""
    value = getattr(marker, attribute)
    return None if value is None else literal(value, _column(attribute).type)


def _beyond(attribute: str, value: Any, direction: str) -> ColumnElement[bool]:
    """Rows whose ``attribute`` comes strictly after ``value`` in ``direction``."""
    column = _column(attribute)
    beyond: ColumnElement[bool]
    if direction == "asc":
        beyond = column.is_not(None) if value is None else column > value
    elif value is None:
        beyond = false()
    else:
        beyond = or_(column < value, column.is_(None)) if _nullable(attribute) else column < value
    return beyond


def _column(attribute: str) -> Any:
    return col(getattr(Instance, attribute))


def _nullable(attribute: str) -> bool:
    return bool(table_of(Instance).c[attribute].nullable)


def _as_text(attribute: str) -> Any:
    """A column as a regular expression filter sees it: its SQL text (times to the
    second, as Nova's DATETIME columns; numbers and booleans as digits)."""
    column = _column(attribute)
    kind: Any = table_of(Instance).c[attribute].type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl
    if isinstance(kind, DateTime):
        return func.substr(cast(column, String), 1, 19)
    if isinstance(kind, Boolean):
        return cast(cast(column, Integer), String)
    if isinstance(kind, Integer):
        return cast(column, String)
    return column


def _has_tag_of(tags: frozenset[str]) -> ColumnElement[bool]:
    return exists().where(col(InstanceTag.instance_uuid) == col(Instance.uuid),
                          col(InstanceTag.tag).in_(sorted(tags)))


def _has_all_tags(tags: frozenset[str]) -> ColumnElement[bool]:
    return and_(*(_has_tag_of(frozenset({tag})) for tag in sorted(tags)))
