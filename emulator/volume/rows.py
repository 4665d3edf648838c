"""Rows as records, and who sees which row: a volume, snapshot or attachment of another
project is not found (Cinder's project-scoped queries), except by an admin."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.volume.errors import attachment_not_found, snapshot_not_found, volume_not_found
from emulator.volume.models import Volume, VolumeAttachment, VolumeSnapshot
from emulator.volume.records import (
    DEFAULT_TYPE,
    VOLUME_TYPES,
    AttachmentRecord,
    SnapshotRecord,
    VolumeRecord,
    VolumeTypeRecord,
)


def now() -> datetime:
    return datetime.now(UTC)


def volume_type(type_id: str) -> VolumeTypeRecord:
    return next((t for t in VOLUME_TYPES if t.id == type_id), DEFAULT_TYPE)


def sees(ctx: RequestContext, project_id: str) -> bool:
    return ctx.is_admin or project_id == ctx.project_id


def volume_row(s: Session, ctx: RequestContext, volume_id: str) -> Volume:
    row = s.get(Volume, volume_id)
    if row is None or not sees(ctx, row.project_id):
        raise volume_not_found(volume_id)
    return row


def snapshot_row(s: Session, ctx: RequestContext, snapshot_id: str) -> VolumeSnapshot:
    row = s.get(VolumeSnapshot, snapshot_id)
    if row is None or not sees(ctx, row.project_id):
        raise snapshot_not_found(snapshot_id)
    return row


def attachment_row(s: Session, ctx: RequestContext, attachment_id: str) -> VolumeAttachment:
    row = s.get(VolumeAttachment, attachment_id)
    if row is None or not sees(ctx, row.project_id):
        raise attachment_not_found(attachment_id)
    return row


def attachments_of(s: Session, volume_id: str) -> list[VolumeAttachment]:
    return list(s.exec(select(VolumeAttachment).where(
        VolumeAttachment.volume_id == volume_id).order_by(
        col(VolumeAttachment.created_at), col(VolumeAttachment.id))))


def snapshots_of(s: Session, volume_id: str) -> list[VolumeSnapshot]:
    return list(s.exec(select(VolumeSnapshot).where(VolumeSnapshot.volume_id == volume_id)))


def attachment_record(row: VolumeAttachment) -> AttachmentRecord:
    return AttachmentRecord(
        id=row.id, volume_id=row.volume_id, project_id=row.project_id,
        instance_uuid=row.instance_uuid, attach_status=row.attach_status,
        attach_mode=row.attach_mode, attached_host=row.attached_host,
        mountpoint=row.mountpoint, connector=dict(row.connector),
        connection_info=dict(row.connection_info), attach_time=row.attach_time,
        detach_time=row.detach_time, created_at=row.created_at)


def volume_record(s: Session, row: Volume) -> VolumeRecord:
    return VolumeRecord(
        id=row.id, project_id=row.project_id, user_id=row.user_id, name=row.name,
        description=row.description, size=row.size, status=row.status,
        attach_status=row.attach_status, availability_zone=row.availability_zone,
        volume_type=volume_type(row.volume_type_id), host=row.host,
        snapshot_id=row.snapshot_id, source_volid=row.source_volid, bootable=row.bootable,
        multiattach=row.multiattach, migration_status=row.migration_status,
        replication_status=row.replication_status, metadata=dict(row.metadata_),
        image_metadata=dict(row.image_metadata), admin_metadata=dict(row.admin_metadata),
        use_quota=row.use_quota, created_at=row.created_at, updated_at=row.updated_at,
        attachments=tuple(attachment_record(a) for a in attachments_of(s, row.id)))


def snapshot_record(row: VolumeSnapshot) -> SnapshotRecord:
    return SnapshotRecord(
        id=row.id, volume_id=row.volume_id, project_id=row.project_id, user_id=row.user_id,
        name=row.name, description=row.description, status=row.status,
        progress=row.progress, volume_size=row.volume_size,
        volume_type_id=row.volume_type_id, metadata=dict(row.metadata_),
        use_quota=row.use_quota, created_at=row.created_at, updated_at=row.updated_at)
