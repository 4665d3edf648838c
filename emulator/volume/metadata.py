"""A volume's metadata: the user's (``/volumes/{id}/metadata``) and what it keeps of its
image (``os-set_image_metadata`` and friends): read, merge, replace, one key at a time;
refused while the volume is in maintenance or being uploaded to an image."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import NotFound
from emulator.volume import policy
from emulator.volume.errors import invalid_volume
from emulator.volume.models import Volume
from emulator.volume.rows import now, volume_row

#: Statuses in which Cinder refuses metadata changes.
FROZEN = ("maintenance", "uploading")


@dataclass(frozen=True)
class Kind:
    """One kind of a volume's metadata: its column, and the rules that guard it."""

    column: str
    show: str
    update: str
    delete: str


#: Cinder's ``METADATA_TYPES``: the user's metadata and the image's.
KINDS: dict[str, Kind] = {
    "user": Kind("metadata_", "volume:get_volume_metadata", "volume:update_volume_metadata",
                 "volume:delete_volume_metadata"),
    "image": Kind("image_metadata", "volume_extension:volume_image_metadata:show",
                  "volume_extension:volume_image_metadata:set",
                  "volume_extension:volume_image_metadata:remove"),
}


def _values(row: Volume, kind: Kind) -> dict[str, str]:
    return dict(getattr(row, kind.column))


def get(s: Session, ctx: RequestContext, volume_id: str, kind: str = "user") -> dict[str, str]:
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, KINDS[kind].show, row.project_id)
    return _values(row, KINDS[kind])


def get_item(s: Session, ctx: RequestContext, volume_id: str, key: str) -> str:
    metadata = get(s, ctx, volume_id)
    if key not in metadata:
        raise NotFound(f"Volume {volume_id} has no metadata with key {key}.")
    return metadata[key]


def update(s: Session, ctx: RequestContext, volume_id: str, values: dict[str, str],
           replace: bool, rule: str | None = None, kind: str = "user") -> dict[str, str]:
    """Merge ``values`` into the metadata (``replace``: they become the metadata)."""
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, rule or KINDS[kind].update, row.project_id)
    if row.status in FROZEN:
        raise invalid_volume("Updating volume metadata is not allowed for volumes in "
                             f"{row.status} status.")
    merged = dict(values) if replace else {**_values(row, KINDS[kind]), **values}
    setattr(row, KINDS[kind].column, merged)
    row.updated_at = now()
    s.add(row)
    return merged


def delete_item(s: Session, ctx: RequestContext, volume_id: str, key: str,
                kind: str = "user") -> None:
    row = volume_row(s, ctx, volume_id)
    rules = KINDS[kind]
    policy.authorize(ctx, rules.show, row.project_id)
    if key not in _values(row, rules):
        raise NotFound(f"Volume {volume_id} has no metadata with key {key}." if kind == "user"
                       else f"Glance metadata for volume/snapshot {volume_id} cannot be "
                       "found.")
    policy.authorize(ctx, rules.delete, row.project_id)
    if row.status in FROZEN:
        raise invalid_volume("Deleting volume metadata is not allowed for volumes in "
                             f"{row.status} status.")
    setattr(row, rules.column, {k: v for k, v in _values(row, rules).items() if k != key})
    row.updated_at = now()
    s.add(row)
