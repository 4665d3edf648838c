"""Reading image rows inside one transaction: the image a caller can see (Glance's
visibility rule), its child rows, the policy target of a rule, and the record the APIs get.

Every function takes the open ``Session`` of the operation that calls it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from emulator.context import RequestContext
from emulator.db import table_of
from emulator.errors import NotFound
from emulator.image.models import Image, ImageMember, ImageProperty, ImageTag
from emulator.image.policy import Target, authorize
from emulator.image.records import ImageRecord
from emulator.reads import KeyedRead, KeyedRow, Reader, connection_of

_MEMBER = table_of(ImageMember)

Child = TypeVar("Child", ImageProperty, ImageTag, ImageMember)


def now() -> datetime:
    return datetime.now(UTC)


def touch(s: Session, row: Image) -> None:
    """Mark ``row`` as changed now."""
    row.updated_at = now()
    s.add(row)


def not_found(image_id: str) -> NotFound:
    return NotFound(f"No image found with ID {image_id}")


def children(s: Session, model: type[Child], image_id: str) -> list[Child]:
    """The image's rows of ``model`` (properties, tags or members), in no order."""
    return list(s.exec(select(model).where(model.image_id == image_id)).all())


def is_member(s: Reader, image_id: str, project_id: str | None,
              status: str | None = None) -> bool:
    if project_id is None:
        return False
    stmt = sa_select(_MEMBER.c.image_id).where(_MEMBER.c.image_id == image_id,
                                               _MEMBER.c.member == project_id)
    if status is not None:
        stmt = stmt.where(_MEMBER.c.status == status)
    return connection_of(s).execute(stmt.limit(1)).first() is not None


def visible(s: Reader, ctx: RequestContext, row: Image | KeyedRow) -> bool:
    """Glance's ``is_image_visible``: admin, ownerless, public, community, own, member."""
    if ctx.is_admin or row.owner is None or row.visibility in ("public", "community"):
        return True
    if ctx.project_id is None:
        return False
    if row.owner == ctx.project_id:
        return True
    return row.visibility == "shared" and is_member(s, row.id, ctx.project_id)


def visible_row(s: Session, ctx: RequestContext, image_id: str) -> Image:
    """The image ``ctx`` can see, or Glance's 404 (also for a deleted image)."""
    row = s.get(Image, image_id)
    if row is None or row.status == "deleted" or not visible(s, ctx, row):
        raise not_found(image_id)
    return row


def target(s: Session, ctx: RequestContext, row: Image, member_id: str | None = None) -> Target:
    """What a policy rule about ``row`` looks at."""
    return Target(owner=row.owner, visibility=row.visibility,
                  is_member=is_member(s, row.id, ctx.project_id), member_id=member_id)


def authorized_row(s: Session, ctx: RequestContext, image_id: str, rule: str) -> Image:
    """The image ``ctx`` can see and may apply policy ``rule`` to (404, then 403)."""
    row = visible_row(s, ctx, image_id)
    authorize(ctx, rule, target(s, ctx, row))
    return row


_IMAGE, _PROPERTY, _TAG = table_of(Image), table_of(ImageProperty), table_of(ImageTag)
#: A read of an image (``get``: every server create asks for its image) and its children.
_IMAGE_ROW = KeyedRead(lambda match: sa_select(_IMAGE).where(match(_IMAGE.c.id)))
_PROPERTIES = KeyedRead(lambda match: sa_select(_PROPERTY.c.name, _PROPERTY.c.value)
                        .where(match(_PROPERTY.c.image_id)))
_TAGS = KeyedRead(lambda match: sa_select(_TAG.c.value).where(match(_TAG.c.image_id)))


def to_record(s: Reader, row: Image | KeyedRow) -> ImageRecord:
    return ImageRecord(
        id=row.id, name=row.name, status=row.status, visibility=row.visibility,
        protected=row.protected, os_hidden=row.os_hidden, owner=row.owner,
        disk_format=row.disk_format, container_format=row.container_format,
        size=row.size, virtual_size=row.virtual_size, checksum=row.checksum,
        os_hash_algo=row.os_hash_algo, os_hash_value=row.os_hash_value,
        min_disk=row.min_disk, min_ram=row.min_ram, created_at=row.created_at,
        updated_at=row.updated_at,
        properties=dict(sorted((p.name, p.value) for p in _PROPERTIES(s, [row.id]))),
        tags=tuple(sorted(t.value for t in _TAGS(s, [row.id]))),
    )


def get(s: Reader, ctx: RequestContext, image_id: str) -> ImageRecord:
    """The image ``ctx`` can see as a record (``visible_row``'s rule, read as rows: a bare
    connection will do)."""
    found = _IMAGE_ROW(s, [image_id])
    row = found[0] if found else None
    if row is None or row.status == "deleted" or not visible(s, ctx, row):
        raise not_found(image_id)
    return to_record(s, row)
