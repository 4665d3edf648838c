"""The block device mapping table (Nova's ``block_device_mapping``): one row per volume a
server has, attached at boot or later."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class BlockDeviceMapping(SQLModel, table=True):
    __tablename__ = "block_device_mapping"

    id: int | None = Field(default=None, primary_key=True)
    #: What 2.89 shows as ``bdm_uuid``.
    uuid: str = Field(index=True, unique=True, max_length=36)
    instance_uuid: str = Field(index=True, max_length=36)
    #: ``volume``, ``image``, ``snapshot`` or ``blank``.
    source_type: str = Field(max_length=255)
    #: ``volume`` (a Cinder volume) or ``local``.
    destination_type: str = Field(max_length=255)
    volume_id: str | None = Field(default=None, index=True, max_length=36)
    snapshot_id: str | None = Field(default=None, max_length=36)
    image_id: str | None = Field(default=None, max_length=36)
    #: 0 for the root disk; None for a disk the guest does not boot from.
    boot_index: int | None = None
    #: The name Nova assigned (``/dev/vdb``); None while a shelved server has no host.
    device_name: str | None = Field(default=None, max_length=255)
    delete_on_termination: bool = False
    tag: str | None = Field(default=None, max_length=60)
    volume_size: int | None = None
    #: The Cinder attachment Nova holds for the volume (the attachments API).
    attachment_id: str | None = Field(default=None, max_length=36)
    disk_bus: str | None = Field(default=None, max_length=255)
    device_type: str | None = Field(default=None, max_length=255)
    created_at: datetime
