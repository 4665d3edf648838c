"""Server snapshots and backups as images (Nova's ``compute_utils.create_image`` and the
compute manager's upload), on the emulator's own image service.

The API creates the image record at once (``queued``, as Nova does before it casts to the
compute host); once the backend has captured the disk its data is uploaded (``saving``,
then ``active``). A failed snapshot deletes its image (Nova's ``delete_image_on_error``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping

from emulator.compute.models import Instance
from emulator.context import RequestContext
from emulator.errors import NotFound
from emulator.image.service import ImageQuery, ImageRecord, ImageService, NewImage

log = logging.getLogger("nova_emulator.snapshots")

#: Nova's ``NON_INHERITABLE_IMAGE_PROPERTIES`` and namespaces: not copied to a snapshot.
NON_INHERITABLE = frozenset({"cache_in_nova", "bittorrent", "img_signature_hash_method",
                             "img_signature", "img_signature_key_type",
                             "img_signature_certificate_uuid"})
NON_INHERITABLE_PREFIXES = ("os_glance_", "base_image_ref", "instance_uuid", "image_type",
                            "backup_type", "user_id", "instance_owner", "owner_",
                            "boot_roles")


#: ``owner_names(user_id, project_id)``: the names of the user and project that own a
#: server (Nova keeps them in the instance's system metadata from its boot).
OwnerNames = Callable[[str, str], tuple[str, str]]


class Snapshots:
    def __init__(self, images: ImageService, owner_names: OwnerNames) -> None:
        self.images = images
        self.owner_names = owner_names

    def _base_properties(self, ctx: RequestContext, row: Instance) -> dict[str, str]:
        if not row.image_ref:
            return {}
        try:
            base = self.images.get(ctx, row.image_ref)
        except NotFound:
            return {}
        return {k: v for k, v in base.properties.items()
                if k not in NON_INHERITABLE and not k.startswith(NON_INHERITABLE_PREFIXES)}

    def begin(self, ctx: RequestContext, row: Instance, name: str,
              metadata: Mapping[str, str], image_type: str,
              backup_type: str | None = None, disk_format: str = "qcow2") -> ImageRecord:
        """Create the ``queued`` image a snapshot (``image_type`` snapshot) or a backup
        (``backup``) of ``row`` will fill, owned by the caller's project."""
        base_min_disk = base_min_ram = 0
        if row.image_ref:
            try:
                base = self.images.get(ctx, row.image_ref)
                base_min_disk, base_min_ram = base.min_disk, base.min_ram
            except NotFound:
                pass
        # Nova's compute_utils.create_image: the instance's system metadata (the base
        # image's inheritable properties, base_image_ref, the owner's names, the roles it
        # was booted with), then instance_uuid, user_id, image_type, the backup type, and
        # the caller's metadata over all of it. Glance counts every one of them.
        properties = self._base_properties(ctx, row)
        if row.image_ref:
            properties["base_image_ref"] = row.image_ref
        user_name, project_name = self.owner_names(row.user_id, row.project_id)
        properties.update({
            "owner_user_name": user_name, "owner_project_name": project_name,
            # NOTE: Nova records the roles of whoever booted the server; we have the
            # snapshotting caller's.
            "boot_roles": ",".join(sorted(ctx.roles)),
            "instance_uuid": row.uuid, "user_id": ctx.user_id, "image_type": image_type})
        if backup_type is not None:
            properties["backup_type"] = backup_type
        properties.update(metadata)
        # NOTE: Nova shares an image made of another project's server with its owner (a
        # member, not a property: Nova pops ``instance_owner`` before it calls Glance).
        shared = ctx.project_id != row.project_id
        image = self.images.create(ctx, NewImage(
            owner=ctx.project_id, name=name, visibility="shared" if shared else "private",
            disk_format=disk_format, container_format="bare",
            # Nova's image_min_disk system metadata: at least the flavor's root disk.
            min_disk=max(base_min_disk, row.root_gb), min_ram=base_min_ram,
            properties=properties))
        if shared:
            self.images.add_member(ctx, image.id, row.project_id)
        return image

    async def finish(self, ctx: RequestContext, image_id: str, data: bytes) -> None:
        """Upload the captured disk: the image goes ``saving``, then ``active``."""
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 1 << 16):
                yield data[start:start + (1 << 16)]

        await self.images.upload(ctx, image_id, chunks())

    def rotate(self, ctx: RequestContext, server_id: str, backup_type: str,
               rotation: int) -> None:
        """Delete the oldest backups of ``server_id`` of ``backup_type`` beyond
        ``rotation`` (Nova's ``_rotate_backups``)."""
        page = self.images.list_images(ctx, ImageQuery(
            filters={"instance_uuid": server_id, "image_type": "backup",
                     "backup_type": backup_type},
            sort=(("created_at", "desc"),), limit=1000))
        for image in page.images[rotation:]:
            self.discard(ctx, image.id)

    def discard(self, ctx: RequestContext, image_id: str) -> None:
        try:
            self.images.delete(ctx, image_id)
        except Exception:  # NOTE: best effort, as Nova's clean-up
            log.warning("could not delete image %s", image_id, exc_info=True)
