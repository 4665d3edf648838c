"""The attach flow before the attachments API (volume actions ``os-reserve``,
``os-initialize_connection``, ``os-attach``, ``os-begin_detaching``, ``os-detach``,
``os-unreserve``, ``os-roll_detaching``, ``os-terminate_connection``), as Cinder's volume
API and manager still serve it for older clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.errors import InvalidInput
from emulator.ids import new_uuid
from emulator.volume import policy
from emulator.volume.errors import invalid_volume
from emulator.volume.models import Volume, VolumeAttachment
from emulator.volume.rows import attachments_of, now, volume_row
from emulator.volume.states import or_list, volume_attach_status
from emulator.volume.store import VolumeStore

#: The status each step moves a volume from, and to.
LEGACY: dict[str, tuple[tuple[str, ...], str]] = {
    "reserve": (("available",), "attaching"),
    "reserve_multiattach": (("available", "in-use"), "attaching"),
    "begin_detaching": (("in-use",), "detaching"),
    "roll_detaching": (("detaching",), "in-use"),
}


def _owned(s: Session, ctx: RequestContext, volume_id: str, action: str) -> Volume:
    row = volume_row(s, ctx, volume_id)
    policy.authorize(ctx, f"volume_extension:volume_actions:{action}", row.project_id)
    return row


def _set(s: Session, row: Volume, status: str) -> None:
    row.status = status
    row.updated_at = now()
    s.add(row)


def reserve(s: Session, ctx: RequestContext, volume_id: str) -> None:
    row = _owned(s, ctx, volume_id, "reserve")
    allowed, target = LEGACY["reserve_multiattach" if row.multiattach else "reserve"]
    if row.status not in allowed:
        raise invalid_volume(f"Volume status must be {or_list(allowed)} to reserve, but the "
                             f"status is {row.status}.")
    _set(s, row, target)


def unreserve(s: Session, ctx: RequestContext, volume_id: str) -> None:
    """``attaching`` back to ``in-use`` (it has attachments) or ``available``; nothing to
    do for a volume that is not reserved."""
    row = _owned(s, ctx, volume_id, "unreserve")
    if row.status == "attaching":
        _set(s, row, "in-use" if attachments_of(s, row.id) else "available")


def begin_detaching(s: Session, ctx: RequestContext, volume_id: str) -> None:
    row = _owned(s, ctx, volume_id, "begin_detaching")
    allowed, target = LEGACY["begin_detaching"]
    if row.status not in allowed or row.attach_status != "attached":
        raise invalid_volume("Unable to detach volume. Volume status must be 'in-use' and "
                             "attach_status must be 'attached' to detach.")
    _set(s, row, target)


def roll_detaching(s: Session, ctx: RequestContext, volume_id: str) -> None:
    row = _owned(s, ctx, volume_id, "roll_detaching")
    allowed, target = LEGACY["roll_detaching"]
    if row.status in allowed:
        _set(s, row, target)


def attach(s: Session, ctx: RequestContext, volume_id: str, instance_uuid: str | None,
           host_name: str | None, mountpoint: str, mode: str) -> None:
    """Record an attachment made by the caller (the manager's ``attach_volume``)."""
    row = _owned(s, ctx, volume_id, "attach")
    if row.status == "maintenance":
        raise invalid_volume("The volume cannot be attached in maintenance mode.")
    if row.admin_metadata.get("readonly") == "True" and mode != "ro":
        raise InvalidInput(f"Error attaching volume - InvalidVolumeAttachMode: Invalid "
                           f"attaching mode '{mode}' for volume {row.id}.")
    for attachment in attachments_of(s, row.id):
        if (instance_uuid and attachment.instance_uuid == instance_uuid) or (
                not instance_uuid and attachment.attached_host == host_name):
            _set(s, row, "in-use")
            return
    if row.status == "in-use" and not row.multiattach and not row.migration_status:
        raise InvalidInput("Error attaching volume - InvalidVolume: Invalid volume: volume "
                           "is already attached and multiple attachments are not enabled")
    attached = now()
    s.add(VolumeAttachment(
        id=new_uuid(), volume_id=row.id, project_id=row.project_id,
        instance_uuid=instance_uuid, attach_status="attached", attach_mode=mode,
        attached_host=host_name, mountpoint=mountpoint, attach_time=attached,
        created_at=attached, updated_at=attached))
    row.attach_status = "attached"
    row.admin_metadata = {**row.admin_metadata, "attached_mode": mode}
    _set(s, row, "in-use")


def detach(s: Session, ctx: RequestContext, volume_id: str, attachment_id: str | None) -> None:
    """Forget an attachment (the only one when none is named); the volume's status then
    follows from what is left."""
    row = _owned(s, ctx, volume_id, "detach")
    if row.status == "maintenance":
        raise invalid_volume("The volume cannot be detached in maintenance mode.")
    attachments = attachments_of(s, row.id)
    if attachment_id is None and len(attachments) > 1:
        raise InvalidInput("Error detaching volume - InvalidVolume: Invalid volume: Detach "
                           "volume failed: More than one attachment, but no attachment_id "
                           "provided.")
    for attachment in attachments:
        if attachment_id in (None, attachment.id):
            s.delete(attachment)
    s.flush()
    left = [a.attach_status for a in attachments_of(s, row.id)]
    row.status, row.attach_status = volume_attach_status(left)
    row.admin_metadata = {k: v for k, v in row.admin_metadata.items()
                          if k != "attached_mode"}
    _set(s, row, row.status)


def initialize_connection(s: Session, ctx: RequestContext, volume_id: str,
                          connector: dict[str, Any], store: VolumeStore) -> dict[str, Any]:
    """The connection info, in the legacy shape (``driver_volume_type`` and ``data``)."""
    row = _owned(s, ctx, volume_id, "initialize_connection")
    if row.status == "maintenance":
        raise invalid_volume("The volume connection cannot be initialized in maintenance "
                             "mode.")
    data = store.connection_info(row.id, connector)
    kind = data.pop("driver_volume_type")
    access_mode = row.admin_metadata.get("attached_mode") or (
        "ro" if row.admin_metadata.get("readonly") == "True" else "rw")
    data.update(qos_specs=None, access_mode=access_mode, encrypted=False, cacheable=False)
    return {"driver_volume_type": kind, "data": data,
            "enforce_multipath": connector.get("enforce_multipath", False)}


def terminate_connection(s: Session, ctx: RequestContext, volume_id: str) -> None:
    unreserve(s, ctx, volume_id)


#: The steps by action name (``os-<name>``).
STEPS: dict[str, Callable[..., Any]] = {
    "reserve": reserve, "unreserve": unreserve, "begin_detaching": begin_detaching,
    "roll_detaching": roll_detaching, "attach": attach, "detach": detach,
    "initialize_connection": initialize_connection,
    "terminate_connection": terminate_connection,
}
