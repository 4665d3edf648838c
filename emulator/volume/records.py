"""What the block storage domain hands out: volumes, snapshots, attachments and volume
types as immutable records detached from the database, and the parsed list requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Cinder's default storage availability zone (``storage_availability_zone``).
AVAILABILITY_ZONE = "nova"
#: Where every volume lives: devstack's ``<host>@<backend>#<pool>`` of its LVM backend,
#: on the controller (Nova's services in this emulator run on ``controller`` too).
VOLUME_HOST = "controller@lvmdriver-1#lvmdriver-1"
#: The cinder-volume service's uuid (3.48 ``service_uuid``), stable across restarts.
SERVICE_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-emulator/cinder-volume/" + VOLUME_HOST))


@dataclass(frozen=True)
class VolumeTypeRecord:
    id: str
    name: str
    description: str | None
    is_public: bool
    extra_specs: dict[str, str] = field(default_factory=dict)
    qos_specs_id: str | None = None


#: Cinder's one volume type, made by its first database migration (``__DEFAULT__``).
DEFAULT_TYPE = VolumeTypeRecord(
    id=str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-emulator/cinder/volume-type/__DEFAULT__")),
    name="__DEFAULT__", description="Default Volume Type", is_public=True)
#: Every volume type there is.
VOLUME_TYPES: tuple[VolumeTypeRecord, ...] = (DEFAULT_TYPE,)


@dataclass(frozen=True)
class AttachmentRecord:
    id: str
    volume_id: str
    project_id: str
    instance_uuid: str | None
    attach_status: str
    attach_mode: str
    attached_host: str | None
    mountpoint: str | None
    connector: dict[str, Any]
    connection_info: dict[str, Any]
    attach_time: datetime | None
    detach_time: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class VolumeRecord:
    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    size: int
    status: str
    attach_status: str
    availability_zone: str
    volume_type: VolumeTypeRecord
    host: str | None
    snapshot_id: str | None
    source_volid: str | None
    bootable: bool
    multiattach: bool
    migration_status: str | None
    replication_status: str | None
    metadata: dict[str, str]
    image_metadata: dict[str, str]
    admin_metadata: dict[str, str]
    use_quota: bool
    created_at: datetime
    updated_at: datetime | None
    attachments: tuple[AttachmentRecord, ...] = ()


@dataclass(frozen=True)
class SnapshotRecord:
    id: str
    volume_id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    status: str
    progress: str
    volume_size: int
    volume_type_id: str
    metadata: dict[str, str]
    use_quota: bool
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class TimeComparison:
    """A ``created_at``/``updated_at`` filter (3.60): (operator, UTC time) pairs, any of
    which may hold. NOTE: Cinder ORs them, so ``gt:a,lt:b`` is not a window."""

    terms: tuple[tuple[str, datetime], ...]


@dataclass(frozen=True)
class ListQuery:
    """A list request, parsed: exact-match ``filters`` on record attributes (``metadata``
    a dict of pairs that must all be there), then sort, marker, offset and limit."""

    filters: dict[str, Any] = field(default_factory=dict)
    #: (key, "asc"|"desc") pairs, most significant first.
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"), ("id", "desc"))
    marker: str | None = None
    offset: int = 0
    limit: int | None = None
    #: An admin's ``all_tenants``: every project's, not only the caller's.
    all_projects: bool = False


@dataclass(frozen=True)
class NewVolume:
    """A create request, parsed (sources named by id; the domain looks them up)."""

    size: int | None
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_id: str | None = None
