"""Volume views by microversion (``cinder/api/v3/views/volumes.py``), and the attributes
Cinder's extensions add to ``show`` and the detailed list (not to create or update)."""

from __future__ import annotations

from typing import Any

from emulator.api.routing import Call
from emulator.api.volume.common import collection_links, context, links, timestamp
from emulator.api.volume.microversion import V
from emulator.volume import policy
from emulator.volume.records import SERVICE_UUID, VolumeRecord

#: Admin metadata keys everyone sees among a volume's metadata.
VISIBLE_ADMIN_METADATA = ("readonly", "attached_mode")


def summary(call: Call, volume: VolumeRecord) -> dict[str, Any]:
    return {"id": volume.id, "name": volume.name, "links": links(call, "volumes", volume.id)}


def _attachments(call: Call, volume: VolumeRecord) -> list[dict[str, Any]]:
    admin_or_service = context(call).is_admin or "service" in call.token.role_names
    return [{
        "id": volume.id,
        "attachment_id": a.id,
        "volume_id": volume.id,
        "server_id": a.instance_uuid,
        "host_name": a.attached_host if admin_or_service else None,
        "device": a.mountpoint,
        "attached_at": timestamp(a.attach_time),
    } for a in volume.attachments if a.attach_status == "attached"]


def detail(call: Call, volume: VolumeRecord, admin_metadata: bool = True) -> dict[str, Any]:
    """A volume's details; ``admin_metadata``: its visible admin metadata shows among its
    metadata (not in a create's answer)."""
    ctx, version = context(call), call.version
    metadata = dict(volume.metadata)
    if admin_metadata:
        metadata.update({k: v for k, v in volume.admin_metadata.items()
                         if k in VISIBLE_ADMIN_METADATA})
    view: dict[str, Any] = {
        "id": volume.id,
        "status": volume.status,
        "size": volume.size,
        "availability_zone": volume.availability_zone,
        "created_at": timestamp(volume.created_at),
        "updated_at": timestamp(volume.updated_at),
        "name": volume.name,
        "description": volume.description,
        "volume_type": volume.volume_type.name,
        "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid,
        "metadata": metadata,
        "links": links(call, "volumes", volume.id),
        "user_id": volume.user_id,
        "bootable": str(volume.bootable).lower(),
        "encrypted": False,
        "replication_status": volume.replication_status,
        "consistencygroup_id": None,
        "multiattach": volume.multiattach,
        "attachments": _attachments(call, volume),
    }
    if ctx.is_admin:
        view["migration_status"] = volume.migration_status
    if version >= V(13):
        view["group_id"] = None
    if ctx.is_admin and version >= V(21):
        view["provider_id"] = None
    if version >= V(48):
        # The LVM backend's targets are not shared between volumes.
        view["shared_targets"] = False
        view["service_uuid"] = SERVICE_UUID if volume.host else None
    if ctx.is_admin and version >= V(61):
        view["cluster_name"] = None
    if version >= V(63):
        view["volume_type_id"] = volume.volume_type.id
    if version >= V(65):
        view["consumes_quota"] = volume.use_quota
    return view


def extended(call: Call, volume: VolumeRecord) -> dict[str, Any]:
    """``detail`` with what the extensions add (host, tenant, migration, image metadata)
    as far as the policy lets the caller see them."""
    ctx = context(call)
    view = detail(call, volume)
    if policy.allowed(ctx, "volume_extension:volume_host_attribute", volume.project_id):
        view["os-vol-host-attr:host"] = volume.host
    if policy.allowed(ctx, "volume_extension:volume_tenant_attribute", volume.project_id):
        view["os-vol-tenant-attr:tenant_id"] = volume.project_id
    if policy.allowed(ctx, "volume_extension:volume_mig_status_attribute",
                      volume.project_id):
        view["os-vol-mig-status-attr:migstat"] = volume.migration_status
        view["os-vol-mig-status-attr:name_id"] = None
    if volume.image_metadata and policy.allowed(
            ctx, "volume_extension:volume_image_metadata:show", volume.project_id):
        view["volume_image_metadata"] = dict(volume.image_metadata)
    return view


def volume_list(call: Call, volumes: list[VolumeRecord], detailed: bool,
                count: int | None) -> dict[str, Any]:
    items = [extended(call, v) if detailed else summary(call, v) for v in volumes]
    body: dict[str, Any] = {"volumes": items}
    found = collection_links(call, "volumes/detail" if detailed else "volumes",
                             [v.id for v in volumes], count)
    if found:
        body["volumes_links"] = found
    if count is not None:
        body["count"] = count
    return body
