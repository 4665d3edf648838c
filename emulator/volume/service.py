"""Block storage as Cinder keeps it: the volume service's entry points, one per operation.

The Cinder API calls ``VolumeService`` (and Nova's side will too); it never speaks HTTP.
Each entry runs one module's operation in one transaction (``volumes``, ``actions``,
``metadata``, ``snapshots``, ``attachments``, ``listing``, ``quotas``); the data of the
volumes goes through the ``VolumeStore``. Images are read through the image service
before the transaction starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, InvalidInput, NotFound
from emulator.image.records import ImagePage, ImageQuery, ImageRecord
from emulator.volume import (
    actions,
    attachments,
    legacy,
    listing,
    metadata,
    policy,
    quotas,
    snapshots,
    volumes,
)
from emulator.volume.attachments import NovaAttachment, no_nova_attachment
from emulator.volume.errors import invalid_input
from emulator.volume.listing import Page
from emulator.volume.records import (
    AttachmentRecord,
    ListQuery,
    NewVolume,
    SnapshotRecord,
    VolumeRecord,
)
from emulator.volume.store import VolumeStore

P = ParamSpec("P")
T = TypeVar("T")


class Images(Protocol):
    """What block storage reads of the image service."""

    def get(self, ctx: RequestContext, image_id: str) -> ImageRecord: ...

    def list_images(self, ctx: RequestContext, query: ImageQuery) -> ImagePage: ...


class VolumeService:
    def __init__(self, db: Database, store: VolumeStore, images: Images,
                 nova_attachment: NovaAttachment = no_nova_attachment) -> None:
        self.db = db
        self.store = store
        self.images = images
        #: Asked before a user deletes an attachment a server may still use.
        self.nova_attachment = nova_attachment

    def _transaction(self, operation: Callable[Concatenate[Session, P], T],
                     *args: P.args, **kwargs: P.kwargs) -> T:
        with self.db.session() as s:
            return operation(s, *args, **kwargs)

    # -- volumes --------------------------------------------------------------------------

    def find_image(self, ctx: RequestContext, image_ref: str) -> ImageRecord:
        """The image an ``imageRef`` names: a URL's last segment as an id, else a name
        (Cinder's ``_image_uuid_from_ref``)."""
        image_id = image_ref.split("/")[-1]
        try:
            return self.images.get(ctx, image_id)
        except (NotFound, InvalidInput):
            pass
        named = self.images.list_images(ctx, ImageQuery(filters={"name": image_ref},
                                                        limit=2)).images
        if len(named) > 1:
            raise Conflict(f"Multiple matches found for '{image_ref}', use an ID to be "
                           "more specific.")
        if named:
            return named[0]
        raise InvalidInput("Invalid image identifier or unable to access requested image.")

    def create_volume(self, ctx: RequestContext, new: NewVolume) -> VolumeRecord:
        image = self.find_image(ctx, new.image_id) if new.image_id is not None else None
        return self._transaction(volumes.create, ctx, new, image, self.store)

    def store_path(self, volume_id: str) -> str | None:
        """The file the store keeps the volume in (for a hypervisor), or None."""
        return self.store.path(volume_id)

    def get_volume(self, ctx: RequestContext, volume_id: str) -> VolumeRecord:
        return self._transaction(volumes.get, ctx, volume_id)

    def list_volumes(self, ctx: RequestContext, query: ListQuery) -> Page[VolumeRecord]:
        return self._transaction(listing.list_volumes, ctx, query)

    def update_volume(self, ctx: RequestContext, volume_id: str,
                      changes: dict[str, Any]) -> VolumeRecord:
        return self._transaction(volumes.update, ctx, volume_id, changes)

    def delete_volume(self, ctx: RequestContext, volume_id: str, cascade: bool = False,
                      force: bool = False) -> None:
        self._transaction(volumes.delete, ctx, volume_id, cascade, force, self.store)

    def extend_volume(self, ctx: RequestContext, volume_id: str, new_size: int,
                      in_use_allowed: bool) -> None:
        self._transaction(actions.extend, ctx, volume_id, new_size, in_use_allowed,
                          self.store)

    def retype_volume(self, ctx: RequestContext, volume_id: str, new_type: str) -> None:
        self._transaction(actions.retype, ctx, volume_id, new_type)

    def set_bootable(self, ctx: RequestContext, volume_id: str, bootable: bool) -> None:
        self._transaction(actions.set_bootable, ctx, volume_id, bootable)

    def set_readonly(self, ctx: RequestContext, volume_id: str, readonly: bool) -> None:
        self._transaction(actions.set_readonly, ctx, volume_id, readonly)

    def reset_status(self, ctx: RequestContext, volume_id: str, status: str | None,
                     attach_status: str | None, migration_status: str | None) -> None:
        self._transaction(actions.reset_status, ctx, volume_id, status, attach_status,
                          migration_status)

    def legacy_action(self, ctx: RequestContext, action: str, volume_id: str,
                      **fields: Any) -> Any:
        """One step of the attach flow before the attachments API (``legacy``):
        ``reserve``, ``unreserve``, ``begin_detaching``, ``roll_detaching``, ``attach``,
        ``detach``, ``initialize_connection`` or ``terminate_connection``."""
        operation = legacy.STEPS[action]
        if action == "initialize_connection":
            fields["store"] = self.store
        return self._transaction(operation, ctx, volume_id, **fields)

    # -- volume metadata ------------------------------------------------------------------

    def volume_metadata(self, ctx: RequestContext, volume_id: str) -> dict[str, str]:
        return self._transaction(metadata.get, ctx, volume_id)

    def volume_metadata_item(self, ctx: RequestContext, volume_id: str, key: str) -> str:
        return self._transaction(metadata.get_item, ctx, volume_id, key)

    def update_volume_metadata(self, ctx: RequestContext, volume_id: str,
                               values: dict[str, str], replace: bool,
                               create: bool = False) -> dict[str, str]:
        rule = "volume:create_volume_metadata" if create else "volume:update_volume_metadata"
        return self._transaction(metadata.update, ctx, volume_id, values, replace, rule)

    def delete_volume_metadata_item(self, ctx: RequestContext, volume_id: str,
                                    key: str) -> None:
        self._transaction(metadata.delete_item, ctx, volume_id, key)

    def image_metadata(self, ctx: RequestContext, volume_id: str) -> dict[str, str]:
        return self._transaction(metadata.get, ctx, volume_id, "image")

    def set_image_metadata(self, ctx: RequestContext, volume_id: str,
                           values: dict[str, str]) -> dict[str, str]:
        return self._transaction(metadata.update, ctx, volume_id, values, False, None,
                                 "image")

    def unset_image_metadata(self, ctx: RequestContext, volume_id: str, key: str) -> None:
        self._transaction(metadata.delete_item, ctx, volume_id, key, "image")

    # -- snapshots ------------------------------------------------------------------------

    def create_snapshot(self, ctx: RequestContext, volume_id: str, name: str | None,
                        description: str | None, metadata_: dict[str, str],
                        in_use: bool) -> SnapshotRecord:
        return self._transaction(snapshots.create, ctx, volume_id, name, description,
                                 metadata_, in_use, self.store)

    def get_snapshot(self, ctx: RequestContext, snapshot_id: str) -> SnapshotRecord:
        return self._transaction(snapshots.get, ctx, snapshot_id)

    def list_snapshots(self, ctx: RequestContext, query: ListQuery) -> Page[SnapshotRecord]:
        return self._transaction(listing.list_snapshots, ctx, query)

    def update_snapshot(self, ctx: RequestContext, snapshot_id: str,
                        changes: dict[str, Any]) -> SnapshotRecord:
        return self._transaction(snapshots.update, ctx, snapshot_id, changes)

    def delete_snapshot(self, ctx: RequestContext, snapshot_id: str,
                        force: bool = False) -> None:
        self._transaction(snapshots.delete, ctx, snapshot_id, self.store, force)

    def reset_snapshot_status(self, ctx: RequestContext, snapshot_id: str,
                              status: str) -> None:
        self._transaction(snapshots.reset_status, ctx, snapshot_id, status)

    def update_snapshot_status(self, ctx: RequestContext, snapshot_id: str, status: str,
                               progress: str | None) -> None:
        self._transaction(snapshots.update_status, ctx, snapshot_id, status, progress)

    def snapshot_metadata(self, ctx: RequestContext, snapshot_id: str) -> dict[str, str]:
        return self._transaction(snapshots.get_metadata, ctx, snapshot_id)

    def snapshot_metadata_item(self, ctx: RequestContext, snapshot_id: str, key: str) -> str:
        return self._transaction(snapshots.get_metadata_item, ctx, snapshot_id, key)

    def update_snapshot_metadata(self, ctx: RequestContext, snapshot_id: str,
                                 values: dict[str, str], replace: bool) -> dict[str, str]:
        return self._transaction(snapshots.update_metadata, ctx, snapshot_id, values, replace)

    def delete_snapshot_metadata_item(self, ctx: RequestContext, snapshot_id: str,
                                      key: str) -> None:
        self._transaction(snapshots.delete_metadata_item, ctx, snapshot_id, key)

    # -- attachments ----------------------------------------------------------------------

    def create_attachment(self, ctx: RequestContext, volume_id: str,
                          instance_uuid: str | None, connector: dict[str, Any] | None,
                          mode: str = "null") -> AttachmentRecord:
        return self._transaction(attachments.create, ctx, volume_id, instance_uuid,
                                 connector, mode, self.store)

    def get_attachment(self, ctx: RequestContext, attachment_id: str) -> AttachmentRecord:
        return self._transaction(attachments.get, ctx, attachment_id)

    def list_attachments(self, ctx: RequestContext,
                         query: ListQuery) -> Page[AttachmentRecord]:
        return self._transaction(listing.list_attachments, ctx, query)

    def update_attachment(self, ctx: RequestContext, attachment_id: str,
                          connector: dict[str, Any]) -> AttachmentRecord:
        return self._transaction(attachments.update, ctx, attachment_id, connector,
                                 self.store)

    def complete_attachment(self, ctx: RequestContext, attachment_id: str) -> None:
        self._transaction(attachments.complete, ctx, attachment_id)

    def delete_attachment(self, ctx: RequestContext, attachment_id: str,
                          service: bool = False) -> list[AttachmentRecord]:
        """``service``: the caller is a service (Nova detaching), which may always."""
        return self._transaction(attachments.delete, ctx, attachment_id, service,
                                 self.nova_attachment)

    # -- quotas ---------------------------------------------------------------------------

    def quotas(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        policy.authorize(ctx, "volume_extension:quotas:show", project_id)
        return self._transaction(quotas.limits, project_id)

    def quota_usage(self, ctx: RequestContext, project_id: str) -> dict[str, dict[str, int]]:
        policy.authorize(ctx, "volume_extension:quotas:show", project_id)

        def both(s: Session) -> dict[str, dict[str, int]]:
            limit, used = quotas.limits(s, project_id), quotas.usage(s, project_id)
            return {name: {"limit": limit[name], "in_use": used[name], "reserved": 0}
                    for name in limit}

        return self._transaction(both)

    def quota_defaults(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        policy.authorize(ctx, "volume_extension:quotas:show", project_id)
        return quotas.resources()

    def update_quotas(self, ctx: RequestContext, project_id: str,
                      values: dict[str, object]) -> dict[str, int]:
        policy.authorize(ctx, "volume_extension:quotas:update", project_id)
        if not 1 <= len(project_id) <= 255:
            raise invalid_input("quota_set_name has a length outside 1 to 255")

        def update(s: Session) -> dict[str, int]:
            quotas.update(s, project_id, values)
            s.flush()
            return quotas.limits(s, project_id)

        return self._transaction(update)

    def delete_quotas(self, ctx: RequestContext, project_id: str) -> None:
        policy.authorize(ctx, "volume_extension:quotas:delete", project_id)
        self._transaction(quotas.delete, project_id)

    def limits(self, ctx: RequestContext, project_id: str) -> dict[str, dict[str, int]]:
        """Limits and usage for ``GET /limits`` (usage only as the policy allows)."""
        def both(s: Session) -> dict[str, dict[str, int]]:
            limit = quotas.limits(s, project_id)
            used = quotas.usage(s, project_id) \
                if policy.allowed(ctx, "limits_extension:used_limits", project_id) else {}
            return {"limit": limit, "in_use": used}

        return self._transaction(both)
