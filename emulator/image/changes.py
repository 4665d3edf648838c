"""Creating, changing and deleting images: Glance's create, its JSON-patch ``update`` (all
or nothing), deactivation, and the patch with which Nova's proxy writes image metadata.

Every operation takes the open ``Session`` of its transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import Conflict, Forbidden
from emulator.ids import new_uuid
from emulator.image import tags
from emulator.image.limits import PROPERTY_QUOTA, TAG_QUOTA, check_non_negative, check_quota
from emulator.image.models import Image, ImageMember, ImageProperty, ImageTag
from emulator.image.policy import Target, authorize
from emulator.image.records import ATTRIBUTES, Change, ImageRecord, NewImage
from emulator.image.rows import (
    authorized_row,
    children,
    now,
    target,
    to_record,
    touch,
    visible_row,
)

#: Attributes a patch may replace (the others are read-only).
WRITABLE = ("name", "visibility", "protected", "os_hidden", "owner", "disk_format",
            "container_format", "min_disk", "min_ram")


def _check_visibility_change(ctx: RequestContext, visibility: str, target: Target) -> None:
    if visibility == "public":
        authorize(ctx, "publicize_image", target)
    elif visibility == "community":
        authorize(ctx, "communitize_image", target)


def create(s: Session, ctx: RequestContext, new: NewImage) -> ImageRecord:
    rule_target = Target(owner=new.owner, visibility=new.visibility)
    if not ctx.is_admin and new.owner != ctx.project_id:
        raise Forbidden(f"You are not permitted to create images owned by '{new.owner}'")
    authorize(ctx, "add_image", rule_target)
    _check_visibility_change(ctx, new.visibility, rule_target)
    check_non_negative("min_disk", new.min_disk)
    check_non_negative("min_ram", new.min_ram)
    tag_values = sorted(set(new.tags))
    check_quota("properties", len(new.properties), PROPERTY_QUOTA)
    check_quota("tags", len(tag_values), TAG_QUOTA)
    image_id = new.id or new_uuid()
    if s.get(Image, image_id) is not None:
        raise Conflict(f"Image ID {image_id} already exists!")
    created = now()
    row = Image(
        id=image_id, name=new.name, visibility=new.visibility, protected=new.protected,
        os_hidden=new.os_hidden, owner=new.owner, disk_format=new.disk_format,
        container_format=new.container_format, min_disk=new.min_disk, min_ram=new.min_ram,
        created_at=created, updated_at=created,
    )
    s.add(row)
    s.flush()
    for key, value in new.properties.items():
        s.add(ImageProperty(image_id=image_id, name=key, value=value))
    for tag in tag_values:
        s.add(ImageTag(image_id=image_id, value=tag))
    s.flush()
    return to_record(s, row)


def update(s: Session, ctx: RequestContext, image_id: str,
           changes: Sequence[Change]) -> ImageRecord:
    """Apply JSON-patch ``changes`` in order, all or nothing (Glance's ``update``)."""
    row = visible_row(s, ctx, image_id)
    if not changes:
        return to_record(s, row)
    rule_target = target(s, ctx, row)
    properties = {p.name: p for p in children(s, ImageProperty, image_id)}
    values = {name: p.value for name, p in properties.items()}
    tag_values = {t.value for t in children(s, ImageTag, image_id)}
    for change in changes:
        name = change.path[0]
        if name == "visibility" and change.op != "remove":
            _check_visibility_change(ctx, change.value, rule_target)
        authorize(ctx, "modify_image", rule_target)
        if name == "locations":
            raise Forbidden("It's not allowed to update locations if locations are "
                            "invisible.")
        if change.op == "remove":
            if name in ATTRIBUTES:
                raise Forbidden(f"Property {name} may not be removed.")
            if name not in values:
                raise Conflict(f"Property {name} does not exist.")
            del values[name]
            continue
        if change.op == "add" and change.draft == 4 and (name in ATTRIBUTES or name in values):
            raise Conflict(f"Property {name} already present.")
        if change.op == "replace" and name not in ATTRIBUTES and name not in values:
            raise Conflict(f"Property {name} does not exist.")
        if name == "tags":
            tag_values = set(change.value)
        elif name in ATTRIBUTES:
            _set_attribute(ctx, row, name, change.value)
        else:
            values[name] = change.value
    check_quota("properties", len(values), PROPERTY_QUOTA)
    check_quota("tags", len(tag_values), TAG_QUOTA)
    _save_properties(s, image_id, properties, values)
    tags.save(s, image_id, tag_values)
    touch(s, row)
    s.flush()
    return to_record(s, row)


def _set_attribute(ctx: RequestContext, row: Image, name: str, value: Any) -> None:
    if name in ("disk_format", "container_format") and row.status != "queued":
        raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
    if name in ("min_disk", "min_ram"):
        check_non_negative(name, value)
    if name == "owner" and not ctx.is_admin:
        raise Forbidden("Owner can't be updated by non admin.")
    if name not in WRITABLE:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    setattr(row, name, value)


def _save_properties(s: Session, image_id: str, rows: dict[str, ImageProperty],
                     values: dict[str, str]) -> None:
    for name, prop in rows.items():
        if name not in values:
            s.delete(prop)
        elif prop.value != values[name]:
            prop.value = values[name]
            s.add(prop)
    for name, value in values.items():
        if name not in rows:
            s.add(ImageProperty(image_id=image_id, name=name, value=value))


def delete(s: Session, ctx: RequestContext, image_id: str) -> None:
    """Delete the image's rows; its data is the caller's to remove once this commits."""
    row = authorized_row(s, ctx, image_id, "delete_image")
    if row.protected:
        raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
    for child in [*children(s, ImageProperty, image_id), *children(s, ImageTag, image_id),
                  *children(s, ImageMember, image_id)]:
        s.delete(child)
    s.flush()
    s.delete(row)


def set_active(s: Session, ctx: RequestContext, image_id: str, active: bool) -> None:
    """Deactivate (``active=False``) or reactivate an image; a no-op when already so."""
    rule, have, want = (("reactivate", "deactivated", "active") if active
                        else ("deactivate", "active", "deactivated"))
    row = authorized_row(s, ctx, image_id, rule)
    if row.status == want:
        return
    if row.status != have:
        raise Forbidden(f"Not allowed to {rule} image in status '{row.status}'")
    row.status = want
    touch(s, row)


def property_changes(current: Mapping[str, str], wanted: Mapping[str, str],
                     purge: bool) -> list[Change]:
    """The patch that turns ``current`` properties into ``wanted`` (plus, unless ``purge``,
    the ones ``wanted`` does not name): how Nova's proxy writes image metadata."""
    changes = [Change("replace" if key in current else "add", (key,), value)
               for key, value in wanted.items() if current.get(key) != value]
    if purge:
        changes += [Change("remove", (key,)) for key in current if key not in wanted]
    return changes
