"""A volume's metadata (``/volumes/{id}/metadata``): read, merge, replace, one key at a
time; refused while the volume is in maintenance or being uploaded to an image."""

from __future__ import annotations

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import NotFound
from emulator.volume import policy
from emulator.volume.errors import invalid_volume
from emulator.volume.rows import now, volume_row

#: Statuses in which Cinder refuses metadata changes.
FROZEN = ("maintenance", "uploading")


def get(s: Session, ctx: RequestContext, volume_id: str) -> dict[str, str]:
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume:get_volume_metadata", row.project_id)
    return dict(row.metadata_)


def get_item(s: Session, ctx: RequestContext, volume_id: str, key: str) -> str:
    metadata = get(s, ctx, volume_id)
    if key not in metadata:
        raise NotFound(f"Volume {volume_id} has no metadata with key {key}.")
    return metadata[key]


def update(s: Session, ctx: RequestContext, volume_id: str, values: dict[str, str],
           replace: bool, rule: str = "volume:update_volume_metadata") -> dict[str, str]:
    """Merge ``values`` into the metadata (``replace``: they become the metadata)."""
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, rule, row.project_id)
    if row.status in FROZEN:
        raise invalid_volume("Updating volume metadata is not allowed for volumes in "
                             f"{row.status} status.")
    row.metadata_ = dict(values) if replace else {**row.metadata_, **values}
    row.updated_at = now()
    s.add(row)
    return dict(row.metadata_)


def delete_item(s: Session, ctx: RequestContext, volume_id: str, key: str) -> None:
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume:get_volume_metadata", row.project_id)
    if key not in row.metadata_:
        raise NotFound(f"Volume {volume_id} has no metadata with key {key}.")
    policy.authorize(ctx, "volume:delete_volume_metadata", row.project_id)
    if row.status in FROZEN:
        raise invalid_volume("Deleting volume metadata is not allowed for volumes in "
                             f"{row.status} status.")
    row.metadata_ = {k: v for k, v in row.metadata_.items() if k != key}
    row.updated_at = now()
    s.add(row)
