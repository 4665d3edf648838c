"""Lists of volumes, snapshots and attachments as Cinder's ``_generate_paginate_query``
makes them: the caller's project (an admin's ``all_tenants``: every project's), exact
filters, then sort keys with ``created_at`` and ``id`` added, a marker (the next page
starts after it), an offset and a limit.

A filter on a key the records do not have matches nothing (Cinder's filter processing
gives up on an unknown column); ``metadata`` matches records holding every pair asked for.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.errors import EmulatorError
from emulator.volume import policy
from emulator.volume.errors import (
    attachment_not_found,
    invalid_input,
    snapshot_not_found,
    volume_not_found,
)
from emulator.volume.models import Volume, VolumeAttachment, VolumeSnapshot
from emulator.volume.records import (
    AttachmentRecord,
    ListQuery,
    SnapshotRecord,
    TimeComparison,
    VolumeRecord,
)
from emulator.volume.rows import attachment_record, snapshot_record, volume_record

T = TypeVar("T", VolumeRecord, SnapshotRecord, AttachmentRecord)

#: The keys every sort ends with (Cinder's ``process_sort_params`` defaults).
DEFAULT_SORT_KEYS = ("created_at", "id")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    #: Every record the filters matched (before marker, offset and limit).
    total: int


def _value(record: Any, key: str) -> Any:
    if key == "volume_type_id" and isinstance(record, VolumeRecord):
        return record.volume_type.id
    return getattr(record, key)


#: Time comparison operators (Cinder's ``get_time_comparison_operators``).
TIME_OPERATORS: dict[str, Callable[[datetime, datetime], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "eq": operator.eq, "neq": operator.ne,
    "lt": operator.lt, "lte": operator.le,
}


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _matches(record: Any, key: str, wanted: Any) -> bool:
    if isinstance(wanted, TimeComparison):
        value = getattr(record, key, None)
        return value is not None and any(
            TIME_OPERATORS[op](_naive_utc(value), _naive_utc(when)) for op, when in wanted.terms)
    if key == "metadata":
        return isinstance(wanted, dict) and all(
            record.metadata.get(k) == v or record.admin_metadata.get(k) == v
            if isinstance(record, VolumeRecord) else record.metadata.get(k) == v
            for k, v in wanted.items())
    if not hasattr(record, key) and not (key == "volume_type_id"
                                         and isinstance(record, VolumeRecord)):
        return False
    value = _value(record, key)
    if isinstance(wanted, list | tuple | set):
        return value in wanted
    if isinstance(value, bool) and not isinstance(wanted, bool):
        return str(value).lower() == str(wanted).lower()
    if isinstance(value, int) and not isinstance(wanted, int):
        return str(value) == str(wanted)
    return bool(value == wanted)


def _sort(records: list[T], sort: Sequence[tuple[str, str]], kind: type) -> list[T]:
    keys = list(sort)
    first_dir = keys[0][1] if keys else "desc"
    for _key, direction in keys:
        if direction not in ("asc", "desc"):
            raise invalid_input("Unknown sort direction, must be 'desc' or 'asc'.")
    names = [k for k, _ in keys]
    keys += [(k, first_dir) for k in DEFAULT_SORT_KEYS if k not in names]
    columns = {f.name for f in dataclasses.fields(kind)} | {"volume_type_id"}
    if any(key not in columns for key, _direction in keys):
        raise invalid_input("Invalid sort key")

    def compare(a: T, b: T) -> int:
        for key, direction in keys:
            left, right = _value(a, key), _value(b, key)
            # NOTE: NULLs sort first ascending, as SQLite and MySQL sort them.
            order = (left is not None) - (right is not None) if None in (left, right) \
                else (left > right) - (left < right)
            if order:
                return order if direction == "asc" else -order
        return 0

    return sorted(records, key=functools.cmp_to_key(compare))


def paginate(records: list[T], query: ListQuery, marker: T | None, kind: type) -> Page[T]:
    """Filter, sort and cut ``records`` of ``kind`` (``marker``: the record the page
    follows)."""
    matched = [r for r in records
               if all(_matches(r, key, wanted) for key, wanted in query.filters.items())]
    ordered: list[T] = _sort(matched, query.sort, kind)
    if marker is not None:
        # The page is what sorts after the marker (which need not match the filters).
        candidates = list(ordered)
        candidates.append(marker)
        merged = _sort(candidates, query.sort, kind)
        position = next(i for i, r in enumerate(merged) if r is marker)
        ordered = [r for r in merged[position + 1:] if r is not marker]
    ordered = ordered[query.offset:]
    if query.limit is not None:
        ordered = ordered[:query.limit]
    return Page(ordered, len(matched))


def _marker(query: ListQuery, found: Callable[[str], T | None],
            missing: Callable[[str], EmulatorError]) -> T | None:
    if query.marker is None:
        return None
    record = found(query.marker)
    if record is None:
        raise missing(query.marker)
    return record


def list_volumes(s: Session, ctx: RequestContext, query: ListQuery) -> Page[VolumeRecord]:
    policy.authorize(ctx, "volume:get_all")
    statement = select(Volume)
    if not (ctx.is_admin and query.all_projects):
        statement = statement.where(Volume.project_id == ctx.project_id)
    records = [volume_record(s, row) for row in s.exec(statement)]
    if not ctx.is_admin:
        # Non-admins never see the temporary target of a volume migration.
        records = [r for r in records if not (r.migration_status or "").startswith("target:")]
    by_id = {r.id: r for r in records}

    def found(marker: str) -> VolumeRecord | None:
        if marker in by_id:
            return by_id[marker]
        row = s.get(Volume, marker)
        return volume_record(s, row) if row is not None and (
            ctx.is_admin or row.project_id == ctx.project_id) else None

    return paginate(records, query, _marker(query, found, volume_not_found), VolumeRecord)


def list_snapshots(s: Session, ctx: RequestContext,
                   query: ListQuery) -> Page[SnapshotRecord]:
    policy.authorize(ctx, "volume:get_all_snapshots")
    statement = select(VolumeSnapshot)
    if not (ctx.is_admin and query.all_projects):
        statement = statement.where(VolumeSnapshot.project_id == ctx.project_id)
    records = [snapshot_record(row) for row in s.exec(statement)]
    by_id = {r.id: r for r in records}

    def found(marker: str) -> SnapshotRecord | None:
        if marker in by_id:
            return by_id[marker]
        row = s.get(VolumeSnapshot, marker)
        return snapshot_record(row) if row is not None and (
            ctx.is_admin or row.project_id == ctx.project_id) else None

    return paginate(records, query, _marker(query, found, snapshot_not_found),
                    SnapshotRecord)


def list_attachments(s: Session, ctx: RequestContext,
                     query: ListQuery) -> Page[AttachmentRecord]:
    statement = select(VolumeAttachment).order_by(col(VolumeAttachment.created_at))
    if not (ctx.is_admin and query.all_projects):
        statement = statement.where(VolumeAttachment.project_id == ctx.project_id)
    records = [attachment_record(row) for row in s.exec(statement)]
    by_id = {r.id: r for r in records}
    return paginate(records, query, _marker(query, by_id.get, attachment_not_found),
                    AttachmentRecord)
