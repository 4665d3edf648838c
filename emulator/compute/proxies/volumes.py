"""Nova's volume proxies over Cinder (``nova.volume.cinder.API`` and the controllers
``volumes`` and ``snapshots``): volumes and snapshots in Nova's camelCase shapes (one
attachment shown, or ``[{}]``), and Cinder's refusals as ``cinder.API``'s decorators turn
them into Nova's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from emulator.compute.proxies.policy import VOL, authorize
from emulator.context import RequestContext
from emulator.errors import EmulatorError, Forbidden, InvalidInput, NotFound, OverQuota
from emulator.network.rows import new_id
from emulator.volume.errors import QuotaExceeded, snapshot_not_found, volume_not_found
from emulator.volume.records import ListQuery, NewVolume, SnapshotRecord, VolumeRecord
from emulator.volume.service import VolumeService

#: The HTTP status cinderclient saw, by the error Cinder's API turned into it.
CINDER_STATUS: tuple[tuple[type[EmulatorError], int], ...] = (
    (InvalidInput, 400), (Forbidden, 403), (NotFound, 404), (QuotaExceeded, 413))


def _stamp(record: VolumeRecord | SnapshotRecord) -> str:
    """Cinder's ``created_at`` as cinderclient hands it on (``…T…`` with microseconds)."""
    return record.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def cinder_text(error: EmulatorError) -> str:
    """``str()`` of the cinderclient exception ``error`` becomes in Nova."""
    status = next((code for kind, code in CINDER_STATUS if isinstance(error, kind)), 500)
    return f"{error.message} (HTTP {status}) (Request-ID: req-{new_id()})"


@contextmanager
def cinder_errors(not_found: NotFound | None,
                  over_quota: str | None = None) -> Iterator[None]:
    """``cinder.API``'s translations: a 404 is ``not_found`` (none: Cinder's own
    message, as ``translate_create_exception`` keeps it), a 413 an ``OverQuota``
    (``over_quota`` its message, else Cinder's), a 400 ``InvalidInput``, a 403
    ``Forbidden``. NOTE: where Nova's controller does not expect the error (a snapshot of
    a missing or in-use volume), Nova answers 500; here the error's own 4xx stands."""
    try:
        yield
    except NotFound as error:
        raise (not_found or NotFound(error.message)) from error
    except QuotaExceeded as error:
        message = error.message.partition(": ")[2] or error.message
        raise OverQuota(over_quota or message) from error
    except InvalidInput as error:
        raise InvalidInput(f"Invalid input received: {cinder_text(error)}") from error
    except Forbidden as error:
        raise Forbidden(cinder_text(error)) from error


def volume_view(volume: VolumeRecord) -> dict[str, Any]:
    """Nova's volume (``_translate_volume_summary_view``): the first attachment only."""
    attachments: list[dict[str, Any]] = [{}]
    attached = [a for a in volume.attachments if a.instance_uuid]
    if volume.attach_status == "attached" and attached:
        first = attached[0]
        attachments = [{"id": volume.id, "volumeId": volume.id, "serverId": first.instance_uuid}]
        if first.mountpoint:
            attachments[0]["device"] = first.mountpoint
    return {"id": volume.id, "status": volume.status, "size": volume.size,
            "availabilityZone": volume.availability_zone, "createdAt": _stamp(volume),
            "attachments": attachments, "displayName": volume.name,
            "displayDescription": volume.description, "volumeType": volume.volume_type.name,
            "snapshotId": volume.snapshot_id, "metadata": dict(volume.metadata)}


def snapshot_view(snapshot: SnapshotRecord) -> dict[str, Any]:
    return {"id": snapshot.id, "volumeId": snapshot.volume_id, "status": snapshot.status,
            "size": snapshot.volume_size, "createdAt": _stamp(snapshot),
            "displayName": snapshot.name, "displayDescription": snapshot.description}


class VolumeProxy:
    """``/os-volumes`` and ``/os-snapshots`` over ``VolumeService``."""

    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes

    def list_volumes(self, ctx: RequestContext, detail: bool, offset: int,
                     limit: int) -> list[dict[str, Any]]:
        authorize(ctx, f"{VOL}:{'detail' if detail else 'list'}")
        found = self.volumes.list_volumes(ctx, ListQuery()).items
        return [volume_view(v) for v in found[offset:offset + limit]]

    def get_volume(self, ctx: RequestContext, volume_id: str) -> dict[str, Any]:
        authorize(ctx, f"{VOL}:show")
        with cinder_errors(volume_not_found(volume_id)):
            return volume_view(self.volumes.get_volume(ctx, volume_id))

    def create_volume(self, ctx: RequestContext, spec: dict[str, Any]) -> dict[str, Any]:
        """A volume from ``spec`` (the API's checked ``volume`` body)."""
        authorize(ctx, f"{VOL}:create")
        snapshot_id, size = spec.get("snapshot_id"), spec.get("size")
        if snapshot_id is not None:
            with cinder_errors(snapshot_not_found(snapshot_id)):
                snapshot = self.volumes.get_snapshot(ctx, snapshot_id)
            size = snapshot.volume_size if size is None else size
        new = NewVolume(size=int(size) if size is not None else None,
                        name=spec.get("display_name"),
                        description=spec.get("display_description"),
                        volume_type=spec.get("volume_type"),
                        metadata=dict(spec.get("metadata") or {}),
                        availability_zone=spec.get("availability_zone"),
                        snapshot_id=snapshot_id)
        with cinder_errors(None):
            return volume_view(self.volumes.create_volume(ctx, new))

    def delete_volume(self, ctx: RequestContext, volume_id: str) -> None:
        authorize(ctx, f"{VOL}:delete")
        with cinder_errors(volume_not_found(volume_id)):
            self.volumes.delete_volume(ctx, volume_id)

    def list_snapshots(self, ctx: RequestContext, detail: bool, offset: int,
                       limit: int) -> list[dict[str, Any]]:
        authorize(ctx, f"{VOL}:snapshots:{'detail' if detail else 'list'}")
        found = self.volumes.list_snapshots(ctx, ListQuery()).items
        return [snapshot_view(s) for s in found[offset:offset + limit]]

    def get_snapshot(self, ctx: RequestContext, snapshot_id: str) -> dict[str, Any]:
        authorize(ctx, f"{VOL}:snapshots:show")
        with cinder_errors(snapshot_not_found(snapshot_id)):
            return snapshot_view(self.volumes.get_snapshot(ctx, snapshot_id))

    def create_snapshot(self, ctx: RequestContext, volume_id: str, force: bool,
                        name: str | None, description: str | None) -> dict[str, Any]:
        authorize(ctx, f"{VOL}:snapshots:create")
        with cinder_errors(volume_not_found(volume_id),
                           over_quota="Quota exceeded for resources: snapshots"):
            made = self.volumes.create_snapshot(ctx, volume_id, name, description, {},
                                                force)
        return snapshot_view(made)

    def delete_snapshot(self, ctx: RequestContext, snapshot_id: str) -> None:
        authorize(ctx, f"{VOL}:snapshots:delete")
        with cinder_errors(snapshot_not_found(snapshot_id)):
            self.volumes.delete_snapshot(ctx, snapshot_id)
