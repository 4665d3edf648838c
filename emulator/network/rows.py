"""What every Neutron resource row shares inside a transaction: new ids, timestamps and
revision numbers (the standard attributes), tags, and the standard part of a record."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import bindparam
from sqlalchemy import delete as sa_delete
from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.db import table_of
from emulator.ids import new_uuid
from emulator.network.models import (
    NeutronFloatingIP,
    NeutronRouter,
    NeutronSecurityGroup,
    NeutronTag,
)
from emulator.reads import Prebuilt, connection_of

#: The resources only their project (and admins) see.
Owned = TypeVar("Owned", NeutronRouter, NeutronFloatingIP, NeutronSecurityGroup)


class StandardRow(Protocol):
    id: str
    project_id: str
    revision_number: int
    created_at: datetime
    updated_at: datetime


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_id() -> str:
    return new_uuid()


def timestamp(value: datetime) -> str:
    """Neutron's ``2024-05-01T12:00:00Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def touch(s: Session, row: StandardRow) -> None:
    """A change: the revision number goes up and ``updated_at`` is now."""
    row.revision_number += 1
    row.updated_at = now()
    s.add(row)


def tags_of(s: Session, ids: Iterable[str]) -> dict[str, list[str]]:
    """Each resource's tags, sorted (one query for all ``ids``)."""
    wanted = list(ids)
    found: dict[str, list[str]] = {i: [] for i in wanted}
    if not wanted:
        return found
    for tag in s.exec(select(NeutronTag).where(col(NeutronTag.resource_id).in_(wanted))):
        found[tag.resource_id].append(tag.tag)
    for values in found.values():
        values.sort()
    return found


def set_tags(s: Session, resource_id: str, tags: Iterable[str]) -> None:
    """Replace a resource's tags."""
    drop_tags(s, resource_id)
    for tag in sorted(set(tags)):
        s.add(NeutronTag(resource_id=resource_id, tag=tag))


_DROP_TAGS = Prebuilt(sa_delete(table_of(NeutronTag)).where(
    table_of(NeutronTag).c.resource_id == bindparam("resource")))


def drop_tags(s: Session, resource_id: str) -> None:
    _DROP_TAGS(connection_of(s), {"resource": resource_id})


def standard(row: StandardRow, tags: list[str], description: str | None = "") -> dict[str, Any]:
    """The standard attributes of a record (``description`` None: the resource has none)."""
    fields: dict[str, Any] = {
        "tenant_id": row.project_id,
        "project_id": row.project_id,
        "tags": tags,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
        "revision_number": row.revision_number,
    }
    if description is not None:
        fields["description"] = description
    return fields


def owned_row(s: Session, ctx: RequestContext, model: type[Owned], row_id: str) -> Owned | None:
    """The row if ``ctx`` may see it (its project's, or an admin)."""
    row = s.get(model, row_id)
    if row is None or not (ctx.is_admin or row.project_id == ctx.project_id):
        return None
    return row


def owned_rows(s: Session, ctx: RequestContext, model: type[Owned]) -> list[Owned]:
    """Every row ``ctx`` may see."""
    query = select(model)
    if not ctx.is_admin:
        query = query.where(col(model.project_id) == ctx.project_id)
    return list(s.exec(query))
