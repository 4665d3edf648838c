"""Volumes a server is created with (``block_device_mapping_v2``), boot from volume among
them, as Nova's API checks them (``_validate_bdm``) and its compute manager prepares them
(``_prep_block_device``):

1. at the API: the boot sequence, and each mapping's source (an image, a volume that can
   be attached, a snapshot; sizes where a volume must be made); then, once the servers are
   recorded, a mapping per volume and a Cinder attachment (``reserved``) for each volume
   given;
2. at the build, before the spawn: the volumes Nova makes (from an image, a snapshot, or
   blank) are created, every attachment is connected and completed (``in-use``), and the
   backend is given the root volume and the others in its ``InstanceSpec``.

Mappings to ``local`` disks (the image's disk, ephemeral and swap) take no row here: the
flavor's disks stand for them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session

from backends.base import InstanceSpec
from emulator.compute.checks import ImageInfo, ImageLookup
from emulator.compute.models import Instance
from emulator.compute.records import now
from emulator.compute.volumes.attachments import cinder_refusal, connector, volume_spec
from emulator.compute.volumes.mappings import (
    ROOT_DEVICE,
    BdmRecord,
    has_mappings,
    next_device,
    volume_rows,
)
from emulator.compute.volumes.models import BlockDeviceMapping
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import InvalidInput, NotFound
from emulator.ids import new_uuid
from emulator.volume.records import NewVolume
from emulator.volume.service import VolumeService

INVALID = "Block Device Mapping is Invalid"
BOOT_SEQUENCE = (f"{INVALID}: Boot sequence for the instance and image/block device "
                 "mapping combination is not valid.")


@dataclass(frozen=True)
class BlockDeviceRequest:
    """One ``block_device_mapping_v2`` item, parsed (the schema checked its fields)."""

    source_type: str
    destination_type: str
    uuid: str | None = None
    boot_index: int | None = None
    volume_size: int | None = None
    delete_on_termination: bool = False
    device_name: str | None = None
    tag: str | None = None
    disk_bus: str | None = None
    device_type: str | None = None

    @property
    def to_volume(self) -> bool:
        return self.destination_type == "volume"


def boots_from_volume(devices: Sequence[BlockDeviceRequest]) -> bool:
    """Whether the root disk (boot index 0) is a volume."""
    return any(d.boot_index == 0 and d.to_volume for d in devices)


def image_mappings(properties: Mapping[str, str]) -> tuple[BlockDeviceRequest, ...]:
    """The mappings an image carries (a volume-backed server's snapshot: its
    ``block_device_mapping`` property, ``bdm_v2``)."""
    raw = properties.get("block_device_mapping")
    if not raw or properties.get("bdm_v2") not in ("True", "true"):
        return ()
    try:
        items = json.loads(raw)
    except ValueError:
        return ()
    found = []
    for item in items if isinstance(items, list) else ():
        source = item.get("source_type")
        if source not in ("snapshot", "volume", "image", "blank"):
            continue
        found.append(BlockDeviceRequest(
            source_type=source, destination_type=item.get("destination_type") or "volume",
            uuid=item.get(f"{source}_id"), boot_index=item.get("boot_index"),
            volume_size=item.get("volume_size"),
            delete_on_termination=bool(item.get("delete_on_termination")),
            device_name=item.get("device_name"), tag=item.get("tag"),
            disk_bus=item.get("disk_bus"), device_type=item.get("device_type")))
    return tuple(found)


def merged(from_image: Sequence[BlockDeviceRequest],
           asked: Sequence[BlockDeviceRequest]) -> tuple[BlockDeviceRequest, ...]:
    """Nova's ``_merge_bdms_lists``: the request's mappings win over the image's of the
    same device name."""
    named = {d.device_name for d in asked if d.device_name}
    return (*(d for d in from_image if not d.device_name or d.device_name not in named),
            *asked)


class BootVolumes:
    def __init__(self, db: Database, volumes: VolumeService, images: ImageLookup) -> None:
        self.db = db
        self.volumes = volumes
        self.images = images

    # -- at the API ----------------------------------------------------------------------

    @staticmethod
    def requested(image: ImageInfo | None,
                  asked: Sequence[BlockDeviceRequest]) -> tuple[BlockDeviceRequest, ...]:
        """The mappings a create asks for with those its image (as the create read it)
        carries."""
        if image is None:
            return tuple(asked)
        return merged(image_mappings(image.properties), asked)

    def validate(self, ctx: RequestContext, devices: Sequence[BlockDeviceRequest],
                 image_ref: str, count: int, multiattach: bool) -> None:
        """Nova's ``_validate_bdm`` (and ``from_api``'s format checks), in its order."""
        for device in devices:
            if device.source_type != "blank" and not device.uuid:
                raise InvalidInput(f"{INVALID}: Missing device UUID.")
        indexes = sorted(d.boot_index for d in devices
                         if d.boot_index is not None and d.boot_index >= 0)
        if image_ref and 0 not in indexes:
            indexes = [0, *indexes]  # the image's own mapping
        if not indexes or any(i != v for i, v in enumerate(indexes)):
            raise InvalidInput(BOOT_SEQUENCE)
        for device in devices:
            self._check_source(ctx, device, multiattach)
        if count > 1 and any(d.source_type == "volume" for d in devices):
            raise InvalidInput("Cannot attach one or more volumes to multiple instances")

    def _check_source(self, ctx: RequestContext, device: BlockDeviceRequest,
                      multiattach: bool) -> None:
        source, wanted = device.source_type, device.uuid or ""
        if source == "image":
            image = self.images(ctx, wanted)
            if image is None:
                raise InvalidInput(f"{INVALID}: failed to get image {wanted}.")
            if device.boot_index == 0 and image.unbootable is not None:  # ImageUnacceptable
                raise InvalidInput(f"Image {image.id} is unacceptable: {image.unbootable}")
            if device.to_volume and not device.volume_size:
                raise InvalidInput("Images with destination_type 'volume' need to have a "
                                   "non-zero size specified")
        elif source == "volume":
            try:
                volume = self.volumes.get_volume(ctx, wanted)
            except NotFound:
                raise InvalidInput(f"{INVALID}: failed to get volume {wanted}.") from None
            if volume.multiattach and not multiattach:
                raise InvalidInput("Multiattach volumes are only supported starting with "
                                   "compute API version 2.60.")
            if volume.status != "available" and not volume.multiattach:
                raise InvalidInput(
                    f"Invalid volume: Invalid input received: Invalid volume: Volume "
                    f"{volume.id} status must be available or downloading to reserve, but "
                    f"the current status is {volume.status}. (HTTP 400)")
        elif source == "snapshot":
            try:
                self.volumes.get_snapshot(ctx, wanted)
            except NotFound:
                raise InvalidInput(f"{INVALID}: failed to get snapshot {wanted}.") from None
        elif device.to_volume and not device.volume_size:
            raise InvalidInput("Blank volumes (source: 'blank', dest: 'volume') need to have "
                               "non-zero size")

    def record(self, ctx: RequestContext, server_ids: Sequence[str],
               devices: Sequence[BlockDeviceRequest]) -> None:
        """A mapping per volume of each server; the volumes given are reserved for it."""
        wanted = [d for d in devices if d.to_volume]
        if not wanted:
            return
        for server_id in server_ids:
            with self.db.session() as s:
                self._record_one(s, server_id, wanted)
            for device in wanted:
                if device.source_type == "volume" and device.uuid:
                    try:
                        attachment = self.volumes.create_attachment(ctx, device.uuid,
                                                                    server_id, None)
                    except InvalidInput as exc:
                        raise InvalidInput(
                            f"Invalid volume: {cinder_refusal(exc).message}") from None
                    self._set_attachment(server_id, device.uuid, attachment.id)

    def forget(self, ctx: RequestContext, server_ids: Sequence[str]) -> None:
        """Take back what ``record`` did for servers that will not be (their volumes'
        attachments, their mappings)."""
        for server_id in server_ids:
            with self.db.session() as s:
                rows = volume_rows(s, server_id, pending=True)
                attachments = [r.attachment_id for r in rows if r.attachment_id]
                for row in rows:
                    s.delete(row)
            for attachment_id in attachments:
                with contextlib.suppress(NotFound):
                    self.volumes.delete_attachment(ctx, attachment_id, service=True)

    def _record_one(self, s: Session, server_id: str,
                    devices: Sequence[BlockDeviceRequest]) -> None:
        # NOTE: the root volume is vda; the others get the next names, as libvirt names
        # them whatever the request said.
        taken: list[str | None] = [ROOT_DEVICE]
        for device in devices:
            name = ROOT_DEVICE if device.boot_index == 0 else None
            s.add(BlockDeviceMapping(
                uuid=new_uuid(), instance_uuid=server_id,
                source_type=device.source_type, destination_type="volume",
                volume_id=device.uuid if device.source_type == "volume" else None,
                snapshot_id=device.uuid if device.source_type == "snapshot" else None,
                image_id=device.uuid if device.source_type == "image" else None,
                boot_index=device.boot_index, device_name=name,
                delete_on_termination=device.delete_on_termination, tag=device.tag,
                volume_size=device.volume_size, disk_bus=device.disk_bus,
                device_type=device.device_type, created_at=now()))
            taken.append(name)

    def _set_attachment(self, server_id: str, volume_id: str, attachment_id: str) -> None:
        with self.db.session() as s:
            for row in volume_rows(s, server_id):
                if row.volume_id == volume_id:
                    row.attachment_id = attachment_id
                    s.add(row)

    # -- at the build --------------------------------------------------------------------

    async def prepare(self, row: Instance, spec: InstanceSpec) -> InstanceSpec:
        """Make, connect and complete the server's volumes; ``spec`` with them."""
        ctx = RequestContext(user_id=row.user_id, project_id=row.project_id,
                             roles=frozenset({"member", "reader"}),
                             request_id=f"req-build-{row.uuid}")
        with self.db.reading() as connection:  # most servers have none: one read
            if not has_mappings(connection, row.uuid):
                return spec
        with self.db.session() as s:
            rows = volume_rows(s, row.uuid, pending=True)
        if not rows:
            return spec
        taken: list[str | None] = [m.device_name for m in rows]
        records: list[BdmRecord] = []
        for mapping in rows:
            volume_id, attachment_id = mapping.volume_id, mapping.attachment_id
            if volume_id is None:
                volume_id = self.volumes.create_volume(ctx, NewVolume(
                    size=mapping.volume_size, name="", description="",
                    image_id=mapping.image_id, snapshot_id=mapping.snapshot_id)).id
            if attachment_id is None:
                attachment_id = self.volumes.create_attachment(ctx, volume_id, row.uuid,
                                                               None).id
            device = mapping.device_name or next_device(row, taken)
            taken.append(device)
            self.volumes.update_attachment(ctx, attachment_id, connector(row, device))
            self.volumes.complete_attachment(ctx, attachment_id)
            size = self.volumes.get_volume(ctx, volume_id).size
            with self.db.session() as s:
                stored = s.get(BlockDeviceMapping, mapping.id)
                assert stored is not None
                stored.volume_id, stored.attachment_id = volume_id, attachment_id
                stored.device_name, stored.volume_size = device, size
                s.add(stored)
                s.flush()
                records.append(BdmRecord.of(stored))
        specs = [(r, volume_spec(self.volumes, r)) for r in records]
        root = next((v for r, v in specs if r.is_root), None)
        return dataclasses.replace(spec, root_volume=root,
                                   volumes=tuple(v for r, v in specs if not r.is_root))

