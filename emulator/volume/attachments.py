"""The attachments API's operations (Cinder 3.27+), how Nova attaches a volume:

1. create with the server (``instance_uuid``) and no connector: the volume is
   ``reserved``, the attachment ``reserved``;
2. update with the host's connector: the storage makes the connection, the attachment
   and the volume are ``attaching`` and the answer carries the ``connection_info``;
3. complete (``os-complete``, 3.44): the attachment is ``attached``, the volume
   ``in-use``;
4. delete: the attachment is gone, and the volume's status follows from the attachments
   left (``available`` when none).

A create with a connector does 1 and 2 at once. Deleting an attachment a server still
uses is Nova's to do (Cinder asks Nova: ``nova_attachment``); a service (Nova itself)
may always.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import Conflict
from emulator.ids import new_uuid
from emulator.volume import policy
from emulator.volume.errors import invalid_volume
from emulator.volume.models import Volume, VolumeAttachment
from emulator.volume.records import AttachmentRecord
from emulator.volume.rows import (
    attachment_record,
    attachment_row,
    attachments_of,
    now,
    volume_row,
)
from emulator.volume.states import ATTACHMENT, VOLUME, allows, or_list, volume_attach_status
from emulator.volume.store import VolumeStore

#: (server id, volume id) -> the id of the attachment Nova holds for them, or None when
#: Nova knows no such attachment (Cinder's ``nova.get_server_volume``).
NovaAttachment = Callable[[str, str], "str | None"]


def no_nova_attachment(_server_id: str, _volume_id: str) -> str | None:
    """Until Nova attaches volumes, it holds no attachment."""
    return None


def _refuse_error_status(volume: Volume, action: str) -> str | None:
    if "error" in volume.status:
        return (f"Volume attachments can not be {action} if the volume is in an error "
                f"state. The Volume {volume.id} currently has a status of: "
                f"{volume.status} ")
    return None


def _reserve(s: Session, volume: Volume, instance_uuid: str | None) -> None:
    """Cinder's ``_attachment_reserve``: the volume becomes ``reserved``, unless it is
    already in use or reserved by the same server (a move of that server)."""
    transition = VOLUME["reserve_multiattach" if volume.multiattach else "reserve"]
    if allows(transition, volume.status):
        assert transition.final is not None
        volume.status = transition.final
        volume.updated_at = now()
        s.add(volume)
        return
    same_server = instance_uuid is not None and volume.status in ("in-use", "reserved") and \
        any(a.instance_uuid == instance_uuid for a in attachments_of(s, volume.id))
    if not same_server:
        raise invalid_volume(f"Volume {volume.id} status must be {or_list(transition.allowed)}"
                             f" to reserve, but the current status is {volume.status}.")


def _connect(s: Session, volume: Volume, attachment: VolumeAttachment,
             connector: dict[str, Any], store: VolumeStore) -> None:
    """The volume manager's ``attachment_update``: connection info from the storage, and
    the attachment and the volume ``attaching``."""
    mode = attachment.attach_mode if attachment.attach_mode != "null" \
        else str(connector.get("mode", "rw"))
    connector = {**connector, "mode": mode} if attachment.attach_mode != "null" else connector
    info = store.connection_info(volume.id, connector)
    access_mode = volume.admin_metadata.get("attached_mode") or (
        "ro" if volume.admin_metadata.get("readonly") == "True" else "rw")
    info.update(qos_specs=None, access_mode=access_mode, encrypted=False, cacheable=False,
                attachment_id=attachment.id,
                enforce_multipath=connector.get("enforce_multipath", False))
    attachment.connector = dict(connector)
    attachment.connection_info = info
    attachment.attach_status = ATTACHMENT["update"]
    attachment.attached_host = str(connector.get("host", ""))
    attachment.mountpoint = str(connector.get("mountpoint", "na"))
    attachment.attach_mode = mode
    attachment.attach_time = attachment.updated_at = now()
    volume.status = volume.attach_status = ATTACHMENT["update"]
    volume.updated_at = now()
    s.add(attachment)
    s.add(volume)


def create(s: Session, ctx: RequestContext, volume_id: str, instance_uuid: str | None,
           connector: dict[str, Any] | None, mode: str, store: VolumeStore) -> AttachmentRecord:
    volume = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, "volume:attachment_create", volume.project_id)
    refusal = _refuse_error_status(volume, "created")
    if refusal:
        raise invalid_volume(refusal)
    _reserve(s, volume, instance_uuid)
    created = now()
    attachment = VolumeAttachment(
        id=new_uuid(), volume_id=volume.id, project_id=volume.project_id,
        instance_uuid=instance_uuid, attach_status=ATTACHMENT["create"],
        created_at=created, updated_at=created)
    s.add(attachment)
    if connector:
        _connect(s, volume, attachment, connector, store)
    # NOTE: Cinder sets the mode asked for (or ``null``) after the connection is made, so
    # a create with a connector shows ``null`` where an update would show ``rw``.
    attachment.attach_mode = "ro" if volume.admin_metadata.get("readonly") == "True" \
        else mode
    s.add(attachment)
    s.flush()
    return attachment_record(attachment)


def update(s: Session, ctx: RequestContext, attachment_id: str, connector: dict[str, Any],
           store: VolumeStore) -> AttachmentRecord:
    attachment = attachment_row(s, ctx, attachment_id)
    policy.authorize(ctx, "volume:attachment_update", attachment.project_id)
    volume = volume_row(s, ctx, attachment.volume_id)
    refusal = _refuse_error_status(volume, "updated")
    if refusal:
        raise Conflict(f"Resource conflict: {refusal}")
    others = attachments_of(s, volume.id)
    if len(others) > 1 and not volume.multiattach and any(a.connection_info for a in others):
        raise Conflict(f"Resource conflict: duplicate connectors detected on volume "
                       f"{volume.id}")
    _connect(s, volume, attachment, connector, store)
    s.flush()
    return attachment_record(attachment)


def complete(s: Session, ctx: RequestContext, attachment_id: str) -> None:
    attachment = attachment_row(s, ctx, attachment_id)
    volume = volume_row(s, ctx, attachment.volume_id)
    policy.authorize(ctx, "volume:attachment_complete", attachment.project_id)
    attachment.attach_status = ATTACHMENT["complete"]
    attachment.updated_at = now()
    volume.status, volume.attach_status = volume_attach_status([ATTACHMENT["complete"]])
    volume.updated_at = now()
    s.add(attachment)
    s.add(volume)


def get(s: Session, ctx: RequestContext, attachment_id: str) -> AttachmentRecord:
    return attachment_record(attachment_row(s, ctx, attachment_id))


def delete(s: Session, ctx: RequestContext, attachment_id: str, service: bool,
           nova_attachment: NovaAttachment) -> list[AttachmentRecord]:
    """Remove an attachment; the attachments of the volume left are returned."""
    attachment = attachment_row(s, ctx, attachment_id)
    policy.authorize(ctx, "volume:attachment_delete", attachment.project_id)
    server = attachment.instance_uuid
    if not service and server and attachment.connection_info \
            and nova_attachment(server, attachment.volume_id) == attachment.id:
        raise Conflict(f"ConflictNovaUsingAttachment: Detach volume from instance {server} "
                       "using the Compute API")
    volume = s.get(Volume, attachment.volume_id)
    assert volume is not None
    s.delete(attachment)
    s.flush()
    left = attachments_of(s, volume.id)
    status, attach_status = volume_attach_status(
        [a.attach_status for a in left if not a.attach_status.startswith("error_")])
    volume.attach_status = attach_status
    # Cinder leaves the status of a volume being migrated or uploaded to its flow.
    if attach_status != "detached" or (not volume.migration_status
                                       and volume.status != "uploading") \
            or volume.migration_status in ("success", "error"):
        volume.status = status
    volume.admin_metadata = {k: v for k, v in volume.admin_metadata.items()
                             if k != "attached_mode"}
    volume.updated_at = now()
    s.add(volume)
    return [attachment_record(a) for a in left]
