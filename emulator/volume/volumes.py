"""Volumes: create (empty, from an image, a snapshot or another volume), show, update and
delete, with Cinder's checks in Cinder's order (``cinder/api/v3/volumes.py``, then
``cinder/volume/api.py`` and the create flow's ``ExtractVolumeRequestTask``).

Each function runs inside one transaction (``VolumeService``) and completes its status
transition at once (``emulator.volume.states``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import InvalidInput, NotFound
from emulator.ids import new_uuid
from emulator.image.records import ImageRecord
from emulator.volume import policy, quotas
from emulator.volume.errors import invalid_input, invalid_snapshot, invalid_volume
from emulator.volume.models import Volume, VolumeSnapshot
from emulator.volume.records import (
    AVAILABILITY_ZONE,
    DEFAULT_TYPE,
    VOLUME_HOST,
    VOLUME_TYPES,
    NewVolume,
    VolumeRecord,
    VolumeTypeRecord,
)
from emulator.volume.rows import (
    now,
    snapshot_row,
    snapshots_of,
    volume_record,
    volume_row,
)
from emulator.volume.states import (
    GONE,
    NOT_MIGRATING,
    SNAPSHOT,
    SOURCE_VOLUME_STATUSES,
    VOLUME,
    allows,
    or_list,
)
from emulator.volume.store import VolumeSource, VolumeStore

GIB = 1 << 30
#: Image attributes a volume made from the image keeps (Cinder's ``IMAGE_ATTRIBUTES``).
IMAGE_ATTRIBUTES = ("checksum", "container_format", "disk_format", "min_disk", "min_ram",
                    "size")
#: Cinder's ``check_exclusive_options`` names every source, set or not.
SOURCES = "backup, imageRef, snapshot, source volume"
#: Availability zones volumes may be created in.
AVAILABILITY_ZONES = (AVAILABILITY_ZONE,)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def find_type(name_or_id: str) -> VolumeTypeRecord:
    """A volume type by id or name (Cinder's ``get_by_name_or_id``)."""
    for vtype in VOLUME_TYPES:
        if name_or_id in (vtype.id, vtype.name):
            return vtype
    if _is_uuid(name_or_id):
        raise NotFound(f"Volume type {name_or_id} could not be found.")
    raise NotFound(f"Volume type with name {name_or_id} could not be found.")


def image_metadata(image: ImageRecord) -> dict[str, str]:
    """What a volume made from ``image`` remembers of it (``volume_image_metadata``):
    its properties, then its attributes, every value a string."""
    values: dict[str, str] = {key: str(value) for key, value in image.properties.items()}
    values["image_id"] = image.id
    if image.name:
        values["image_name"] = image.name
    for key in IMAGE_ATTRIBUTES:
        value = getattr(image, key)
        if value is not None:
            values[key] = str(value)
    values["signature_verified"] = "False"
    return values


def check_image(image: ImageRecord, size: int) -> None:
    """Cinder's ``check_image_metadata``: active, and it fits in ``size`` GB."""
    if image.status != "active":
        raise invalid_input(f"Image {image.id} is not active.")
    image_gb = ((image.size or 0) + GIB - 1) // GIB
    if image_gb > size:
        raise invalid_input(f"Size of specified image {image_gb}GB is larger than volume "
                            f"size {size}GB.")
    if size < image.min_disk:
        raise invalid_input(f"Volume size {size}GB cannot be smaller than the image "
                            f"minDisk size {image.min_disk}GB.")
    if image.virtual_size:
        virtual_gb = (image.virtual_size + GIB - 1) // GIB
        if virtual_gb > size:
            raise InvalidInput(f"Image {image.id} is unacceptable: Image virtual size is "
                               f"{virtual_gb}GB and doesn't fit in a volume of size "
                               f"{size}GB.")


def _size(new: NewVolume, snapshot: VolumeSnapshot | None, source: Volume | None) -> int:
    """The size asked for, else the source's, checked as ``_extract_size`` does."""
    size = new.size
    if size is None and snapshot is not None:
        size = snapshot.volume_size
    elif size is None and source is not None:
        size = source.size
    if size is None or size <= 0:
        raise invalid_input(f"Volume size '{size}' must be an integer and greater than 0")
    if source is not None and size < source.size:
        raise invalid_input(f"Volume size '{size}'GB cannot be smaller than original volume "
                            f"size  {source.size}GB. They must be >= original volume size.")
    if snapshot is not None and size < snapshot.volume_size:
        raise invalid_input(f"Volume size '{size}'GB cannot be smaller than the snapshot "
                            f"size {snapshot.volume_size}GB. They must be >= original "
                            "snapshot size.")
    return size


def _zone(new: NewVolume, snapshot_zone: str | None, source: Volume | None) -> str:
    zone = new.availability_zone
    if zone is None:
        zone = source.availability_zone if source is not None else snapshot_zone
    zone = zone or AVAILABILITY_ZONE
    if zone not in AVAILABILITY_ZONES:
        raise invalid_input(f"Availability zone '{zone}' is invalid.")
    return zone


def create(s: Session, ctx: RequestContext, new: NewVolume, image: ImageRecord | None,
           store: VolumeStore) -> VolumeRecord:
    """A new volume, ``creating`` in the record returned and ``available`` once the
    transaction commits."""
    assert ctx.project_id is not None
    vtype = find_type(new.volume_type) if new.volume_type else None
    snapshot = snapshot_row(s, ctx, new.snapshot_id) if new.snapshot_id else None
    source = volume_row(s, ctx, new.source_volid) if new.source_volid else None
    policy.authorize(ctx, "volume:create_from_image" if image else "volume:create")
    if sum(x is not None for x in (snapshot, source, image)) > 1:
        raise invalid_input(f"May specify only one of {SOURCES}")
    if snapshot is not None and not allows(SNAPSHOT["source"], snapshot.status):
        raise invalid_snapshot("Originating snapshot status must be one of "
                               f"'{', '.join(SNAPSHOT['source'].allowed)}' values")
    if source is not None and source.status not in SOURCE_VOLUME_STATUSES:
        raise invalid_volume("Originating source volume status must be one of "
                             f"'{', '.join(SOURCE_VOLUME_STATUSES)}' values")
    size = _size(new, snapshot, source)
    if image is not None:
        check_image(image, size)
    snapshot_volume = s.get(Volume, snapshot.volume_id) if snapshot is not None else None
    zone = _zone(new, snapshot_volume.availability_zone if snapshot_volume else None, source)
    vtype = vtype or DEFAULT_TYPE
    quotas.check_volume_size(s, ctx.project_id, size)
    quotas.reserve(s, ctx.project_id, quotas.with_type({"volumes": 1, "gigabytes": size},
                                                       vtype.name), "volumes", size)
    image_meta = image_metadata(image) if image is not None else (
        dict(snapshot.image_metadata) if snapshot is not None
        else dict(source.image_metadata) if source is not None else {})
    bootable = image is not None or bool(
        source.bootable if source is not None
        else snapshot_volume.bootable if snapshot_volume is not None else False)
    created = now()
    row = Volume(
        id=new_uuid(), project_id=ctx.project_id, user_id=ctx.user_id,
        name=new.name, description=new.description, size=size,
        status=VOLUME["create"].interim or "creating", availability_zone=zone,
        volume_type_id=vtype.id, snapshot_id=snapshot.id if snapshot else None,
        source_volid=source.id if source else None, bootable=bootable,
        metadata_=dict(new.metadata), image_metadata=image_meta, created_at=created,
        updated_at=created)
    s.add(row)
    s.flush()
    creating = volume_record(s, row)
    store.create(row.id, size, _source(image, snapshot, source))
    row.status = VOLUME["create"].final or "available"
    row.host = VOLUME_HOST
    row.replication_status = "disabled"
    row.launched_at = row.updated_at = now()
    s.add(row)
    return creating


def _source(image: ImageRecord | None, snapshot: VolumeSnapshot | None,
            source: Volume | None) -> VolumeSource | None:
    if image is not None:
        return VolumeSource("image", image.id)
    if snapshot is not None:
        return VolumeSource("snapshot", snapshot.id)
    if source is not None:
        return VolumeSource("volume", source.id)
    return None


def get(s: Session, ctx: RequestContext, volume_id: str) -> VolumeRecord:
    return volume_record(s, volume_row(s, ctx, volume_id))


#: What an update may change.
UPDATABLE = ("name", "description", "metadata")


def update(s: Session, ctx: RequestContext, volume_id: str,
           changes: dict[str, Any]) -> VolumeRecord:
    """Set the ``name``, ``description`` or ``metadata`` that ``changes`` holds."""
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume:update", row.project_id)
    if row.status == "maintenance":
        raise invalid_volume("The volume cannot be updated during maintenance.")
    if "name" in changes:
        row.name = changes["name"]
    if "description" in changes:
        row.description = changes["description"]
    if changes.get("metadata") is not None:
        row.metadata_ = dict(changes["metadata"])
    row.updated_at = now()
    s.add(row)
    return volume_record(s, row)


def delete(s: Session, ctx: RequestContext, volume_id: str, cascade: bool, force: bool,
           store: VolumeStore) -> None:
    """Delete a volume (with its snapshots if ``cascade``); refused while it is attached,
    in a status delete does not start from, or has snapshots and no ``cascade``."""
    row = volume_row(s, ctx, volume_id)
    if force:
        policy.authorize(ctx, "volume:force_delete", row.project_id)
    policy.authorize(ctx, "volume:delete", row.project_id)
    transition = VOLUME["force_delete" if force else "delete"]
    snapshots = snapshots_of(s, row.id)
    blocked = (row.attach_status == "attached" or not allows(transition, row.status)
               or row.migration_status not in NOT_MIGRATING
               or (snapshots and not cascade)
               or (cascade and not force and any(
                   snap.status not in ("available", "error", "deleting") for snap in snapshots))
               or (cascade and not ctx.is_admin
                   and any(snap.project_id != ctx.project_id for snap in snapshots)))
    if blocked:
        status = f"status must be {or_list(transition.allowed)} and " \
            if transition.allowed else ""
        raise invalid_volume(
            f"Volume {status}must not be migrating, attached, belong to a group, have "
            "snapshots, awaiting a transfer, or be disassociated from snapshots after "
            "volume transfer.")
    assert transition.final == GONE
    for snap in snapshots:
        store.delete_snapshot(snap.id)
        s.delete(snap)
    store.delete(row.id)
    s.delete(row)
