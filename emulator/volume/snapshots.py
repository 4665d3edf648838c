"""Snapshots of volumes: create (``force`` or, from 3.66, by default for an in-use
volume), show, update, delete, and their metadata (``cinder/volume/api.py``'s
``create_snapshot_in_db`` and ``delete_snapshot``)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import InvalidInput, NotFound
from emulator.ids import new_uuid
from emulator.volume import policy, quotas
from emulator.volume.errors import invalid_snapshot, invalid_volume
from emulator.volume.models import VolumeSnapshot
from emulator.volume.records import SnapshotRecord
from emulator.volume.rows import now, snapshot_record, snapshot_row, volume_row
from emulator.volume.states import (
    GONE,
    NOT_MIGRATING,
    SNAPSHOT,
    STATUS_UPDATES,
    VOLUME,
    allows,
    or_list,
)
from emulator.volume.store import VolumeStore
from emulator.volume.volumes import find_type


def create(s: Session, ctx: RequestContext, volume_id: str, name: str | None,
           description: str | None, metadata: dict[str, str], in_use: bool,
           store: VolumeStore) -> SnapshotRecord:
    """A snapshot of the volume, ``creating`` in the record returned, ``available`` once
    committed; ``in_use``: the volume may be attached (``force``, or 3.66)."""
    assert ctx.project_id is not None
    volume = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume:create_snapshot", volume.project_id)
    if volume.host is None:
        raise invalid_volume("The snapshot cannot be created because volume has not been "
                             "scheduled to any host.")
    if volume.status == "maintenance":
        raise invalid_volume("The snapshot cannot be created when the volume is in "
                             "maintenance mode.")
    if volume.migration_status not in NOT_MIGRATING:
        raise invalid_volume("Snapshot cannot be created while volume is migrating.")
    if volume.status == "error":
        raise invalid_volume("The snapshot cannot be created when the volume is in error "
                             "status.")
    transition = VOLUME["snapshot_in_use" if in_use else "snapshot"]
    if not allows(transition, volume.status):
        raise invalid_volume(f"Volume {volume.id} status must be "
                             f"{', '.join(transition.allowed)}, but current status is: "
                             f"{volume.status}.")
    type_name = find_type(volume.volume_type_id).name
    quotas.reserve(s, ctx.project_id, quotas.with_type(
        {"snapshots": 1, "gigabytes": volume.size}, type_name), "snapshots", volume.size)
    created = now()
    row = VolumeSnapshot(
        id=new_uuid(), volume_id=volume.id, project_id=ctx.project_id,
        user_id=ctx.user_id, name=name, description=description,
        status=SNAPSHOT["create"].interim or "creating", progress="0%",
        volume_size=volume.size, volume_type_id=volume.volume_type_id,
        metadata_=dict(metadata), image_metadata=dict(volume.image_metadata),
        created_at=created, updated_at=created)
    s.add(row)
    s.flush()
    creating = snapshot_record(row)
    store.create_snapshot(row.id, volume.id)
    row.status = SNAPSHOT["create"].final or "available"
    row.progress = "100%"
    row.updated_at = now()
    s.add(row)
    return creating


def get(s: Session, ctx: RequestContext, snapshot_id: str) -> SnapshotRecord:
    row = snapshot_row(s, ctx, snapshot_id)
    policy.authorize(ctx, "volume:get_snapshot", row.project_id)
    return snapshot_record(row)


def update(s: Session, ctx: RequestContext, snapshot_id: str,
           changes: dict[str, Any]) -> SnapshotRecord:
    """Set the ``name`` or ``description`` that ``changes`` holds."""
    row = snapshot_row(s, ctx, snapshot_id)
    policy.authorize(ctx, "volume:update_snapshot", row.project_id)
    if "name" in changes:
        row.name = changes["name"]
    if "description" in changes:
        row.description = changes["description"]
    row.updated_at = now()
    s.add(row)
    return snapshot_record(row)


def delete(s: Session, ctx: RequestContext, snapshot_id: str, store: VolumeStore,
           force: bool = False) -> None:
    """Delete a snapshot (``force``: an admin's, whatever its status)."""
    row = snapshot_row(s, ctx, snapshot_id)
    if force:
        policy.authorize(ctx, "volume_extension:snapshot_admin_actions:force_delete",
                         row.project_id)
    policy.authorize(ctx, "volume:delete_snapshot", row.project_id)
    transition = SNAPSHOT["delete"]
    if not force and not allows(transition, row.status):
        raise invalid_snapshot(f"Snapshot status must be {or_list(transition.allowed)} and "
                               "must not be part of a group.")
    assert transition.final == GONE
    store.delete_snapshot(row.id)
    s.delete(row)


def reset_status(s: Session, ctx: RequestContext, snapshot_id: str, status: str) -> None:
    """An admin sets a snapshot's status by hand."""
    row = snapshot_row(s, ctx, snapshot_id)
    policy.authorize(ctx, "volume_extension:snapshot_admin_actions:reset_status",
                     row.project_id)
    row.status = status.lower()
    row.updated_at = now()
    s.add(row)


def update_status(s: Session, ctx: RequestContext, snapshot_id: str, status: str,
                  progress: str | None) -> None:
    """Nova reports the progress of a snapshot it takes (``os-update_snapshot_status``):
    from ``creating`` or ``deleting`` only, to the statuses ``STATUS_UPDATES`` allows."""
    row = snapshot_row(s, ctx, snapshot_id)
    policy.authorize(ctx, "snapshot_extension:snapshot_actions:update_snapshot_status",
                     row.project_id)
    if row.status not in STATUS_UPDATES:
        raise InvalidInput(f"Snapshot status {row.status} not allowed for "
                           "update_snapshot_status")
    if status not in STATUS_UPDATES[row.status]:
        raise InvalidInput(f"Provided snapshot status {status} not allowed for snapshot "
                           f"with status {row.status}.")
    row.status = status
    if progress:
        row.progress = progress
    row.updated_at = now()
    s.add(row)


# -- metadata ---------------------------------------------------------------------------


def get_metadata(s: Session, ctx: RequestContext, snapshot_id: str) -> dict[str, str]:
    row = snapshot_row(s, ctx, snapshot_id)
    policy.authorize(ctx, "volume:get_snapshot_metadata", row.project_id)
    return dict(row.metadata_)


def get_metadata_item(s: Session, ctx: RequestContext, snapshot_id: str, key: str) -> str:
    metadata = get_metadata(s, ctx, snapshot_id)
    if key not in metadata:
        raise NotFound(f"Snapshot {snapshot_id} has no metadata with key {key}.")
    return metadata[key]


def update_metadata(s: Session, ctx: RequestContext, snapshot_id: str,
                    values: dict[str, str], replace: bool) -> dict[str, str]:
    row = snapshot_row(s, ctx, snapshot_id)
    policy.authorize(ctx, "volume:update_snapshot_metadata", row.project_id)
    row.metadata_ = dict(values) if replace else {**row.metadata_, **values}
    row.updated_at = now()
    s.add(row)
    return dict(row.metadata_)


def delete_metadata_item(s: Session, ctx: RequestContext, snapshot_id: str,
                         key: str) -> None:
    row = snapshot_row(s, ctx, snapshot_id)
    policy.authorize(ctx, "volume:delete_snapshot_metadata", row.project_id)
    if key not in row.metadata_:
        raise NotFound(f"Snapshot {snapshot_id} has no metadata with key {key}.")
    row.metadata_ = {k: v for k, v in row.metadata_.items() if k != key}
    row.updated_at = now()
    s.add(row)
