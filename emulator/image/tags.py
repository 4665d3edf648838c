"""An image's tags: added and removed one at a time, or replaced whole by a patch."""

from __future__ import annotations

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.image.errors import TagNotFound
from emulator.image.limits import TAG_QUOTA, check_quota
from emulator.image.models import ImageTag
from emulator.image.rows import authorized_row, children, touch


def save(s: Session, image_id: str, values: set[str]) -> None:
    """Make ``values`` the image's tags."""
    existing = {t.value: t for t in children(s, ImageTag, image_id)}
    for value, row in existing.items():
        if value not in values:
            s.delete(row)
    for value in values - set(existing):
        s.add(ImageTag(image_id=image_id, value=value))


def add(s: Session, ctx: RequestContext, image_id: str, tag: str) -> None:
    """Tag the image; a tag it already carries is no change."""
    row = authorized_row(s, ctx, image_id, "modify_image")
    if s.get(ImageTag, (image_id, tag)) is not None:
        return
    check_quota("tags", len(children(s, ImageTag, image_id)) + 1, TAG_QUOTA)
    s.add(ImageTag(image_id=image_id, value=tag))
    touch(s, row)


def remove(s: Session, ctx: RequestContext, image_id: str, tag: str) -> None:
    row = authorized_row(s, ctx, image_id, "modify_image")
    existing = s.get(ImageTag, (image_id, tag))
    if existing is None:
        raise TagNotFound(f"Tag {tag} not found.")
    s.delete(existing)
    touch(s, row)
