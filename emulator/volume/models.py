"""Block storage tables (Cinder's ``volumes``, ``snapshots``, ``volume_attachment`` and
``quotas``), prefixed ``cinder_`` so no other service's table can clash with them.

Metadata (the user's, and the image's a volume was made from) is a JSON column: Cinder
keeps them in key/value tables, but nothing here queries them by key in SQL. A deleted
volume, snapshot or attachment is removed: Cinder keeps soft-deleted rows no API shows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel


class Volume(SQLModel, table=True):
    __tablename__ = "cinder_volumes"

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(index=True, max_length=255)
    user_id: str = Field(max_length=255)
    name: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=255)
    size: int
    #: Cinder's volume status (``emulator.volume.states``).
    status: str = Field(index=True, max_length=255)
    #: detached, reserved, attaching, attached, detaching (from the attachments).
    attach_status: str = Field(default="detached", max_length=255)
    previous_status: str | None = Field(default=None, max_length=255)
    availability_zone: str = Field(max_length=255)
    volume_type_id: str = Field(max_length=36)
    #: ``host@backend#pool`` once scheduled (Cinder's ``host``).
    host: str | None = Field(default=None, max_length=255)
    snapshot_id: str | None = Field(default=None, max_length=36)
    source_volid: str | None = Field(default=None, max_length=36)
    bootable: bool = False
    multiattach: bool = False
    migration_status: str | None = Field(default=None, max_length=255)
    replication_status: str | None = Field(default=None, max_length=255)
    metadata_: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    #: What the volume's image said of itself (``volume_image_metadata``); {} if none.
    image_metadata: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    #: Admin metadata (``readonly``, ``attached_mode``).
    admin_metadata: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    use_quota: bool = True
    created_at: datetime = Field(index=True)
    updated_at: datetime | None = None
    launched_at: datetime | None = None


class VolumeSnapshot(SQLModel, table=True):
    __tablename__ = "cinder_snapshots"

    id: str = Field(primary_key=True, max_length=36)
    volume_id: str = Field(index=True, max_length=36)
    project_id: str = Field(index=True, max_length=255)
    user_id: str = Field(max_length=255)
    name: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=255)
    progress: str = Field(default="0%", max_length=255)
    volume_size: int
    volume_type_id: str = Field(max_length=36)
    metadata_: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    #: The source volume's image metadata, handed on to volumes made from the snapshot.
    image_metadata: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    use_quota: bool = True
    created_at: datetime = Field(index=True)
    updated_at: datetime | None = None


class VolumeAttachment(SQLModel, table=True):
    __tablename__ = "cinder_volume_attachments"

    id: str = Field(primary_key=True, max_length=36)
    volume_id: str = Field(index=True, max_length=36)
    #: The owner of the volume when the attachment was made (for tenant isolation).
    project_id: str = Field(index=True, max_length=255)
    instance_uuid: str | None = Field(default=None, index=True, max_length=36)
    #: reserved, attaching, attached, detaching, error_attaching, error_detaching.
    attach_status: str = Field(max_length=255)
    #: rw, ro, or ``null`` when neither the create nor the connector said.
    attach_mode: str = Field(default="null", max_length=4)
    attached_host: str | None = Field(default=None, max_length=255)
    mountpoint: str | None = Field(default=None, max_length=255)
    connector: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    connection_info: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    attach_time: datetime | None = None
    detach_time: datetime | None = None
    created_at: datetime = Field(index=True)
    updated_at: datetime | None = None


class VolumeQuotaLimit(SQLModel, table=True):
    """A project's own limit of one resource (a resource without a row takes the
    default, ``emulator.volume.quotas.DEFAULTS``)."""

    __tablename__ = "cinder_quotas"

    project_id: str = Field(primary_key=True, max_length=255)
    resource: str = Field(primary_key=True, max_length=300)
    hard_limit: int
