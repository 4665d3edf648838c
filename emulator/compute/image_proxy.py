"""Nova's image proxy (``/images`` to 2.35, their metadata to 2.38): Glance's images in
Nova's vocabulary. Nova asks Glance with the caller's token, so Glance's visibility and
policy apply as they are; its refusals come back in Nova's words."""

from __future__ import annotations

from collections.abc import Mapping

from emulator.compute.checks import check_image_metadata_count
from emulator.context import RequestContext
from emulator.errors import Forbidden, InvalidInput, NotFound
from emulator.image.service import (
    ATTRIBUTES,
    ImageQuery,
    ImageRecord,
    ImageService,
    property_changes,
)

#: Nova's list filters -> Glance's (``SUPPORTED_FILTERS``; ``property-*`` pass through).
FILTERS: dict[str, str] = {
    "name": "name",
    "status": "status",
    "changes-since": "updated_at",
    "server": "instance_uuid",
    "type": "image_type",
    "minRam": "min_ram",
    "minDisk": "min_disk",
}
#: Keys Glance would not take as properties (its attributes and reserved names).
NOT_PROPERTIES = frozenset({*ATTRIBUTES, "id", "self", "file", "schema", "direct_url",
                            "stores", "location", "deleted", "deleted_at"})


def glance_filters(nova: Mapping[str, str]) -> dict[str, str]:
    """Nova's list query as Glance's filters (unknown parameters are dropped)."""
    filters: dict[str, str] = {}
    for param, value in nova.items():
        if param in FILTERS:
            filters[FILTERS[param]] = value
        elif param.startswith("property-"):
            filters[param[len("property-"):]] = value
    if "instance_uuid" in filters and "/" in filters["instance_uuid"]:
        filters["instance_uuid"] = filters["instance_uuid"].rsplit("/", 1)[1]
    if "status" in filters:
        filters["status"] = filters["status"].lower()
    if "updated_at" in filters:
        filters["updated_at"] = "gte:" + filters["updated_at"]
    return filters


class ImageProxy:
    def __init__(self, images: ImageService) -> None:
        self.images = images

    def get(self, ctx: RequestContext, image_id: str) -> ImageRecord:
        try:
            return self.images.get(ctx, image_id)
        except NotFound:
            raise NotFound("Image not found.") from None

    def list(self, ctx: RequestContext, query: ImageQuery) -> list[ImageRecord]:
        return list(self.images.list_images(ctx, query).images)

    def delete(self, ctx: RequestContext, image_id: str) -> None:
        try:
            self.images.delete(ctx, image_id)
        except NotFound:
            raise NotFound("Image not found.") from None
        except Forbidden:
            raise Forbidden("You are not allowed to delete the image.") from None

    def _write(self, ctx: RequestContext, image: ImageRecord,
               wanted: dict[str, str]) -> ImageRecord:
        """Make ``wanted`` the image's properties (Nova updates with ``purge_props``)."""
        check_image_metadata_count(len(wanted))
        not_authorized = Forbidden(f"Not authorized for image {image.id}.")
        if set(wanted) & NOT_PROPERTIES or any(k.startswith("os_glance") for k in wanted):
            raise not_authorized
        changes = property_changes(image.properties, wanted, purge=True)
        try:
            return self.images.update(ctx, image.id, changes)
        except NotFound:
            raise NotFound("Image not found.") from None
        except Forbidden:
            raise not_authorized from None

    def item(self, ctx: RequestContext, image_id: str, key: str) -> str:
        value = self.get(ctx, image_id).properties.get(key)
        if value is None:
            raise NotFound("The resource could not be found.")
        return value

    def merge(self, ctx: RequestContext, image_id: str,
              items: Mapping[str, str]) -> dict[str, str]:
        """POST metadata: the items laid over the image's properties; all of them after."""
        image = self.get(ctx, image_id)
        return dict(self._write(ctx, image, {**image.properties, **items}).properties)

    def set_item(self, ctx: RequestContext, image_id: str, key: str,
                 item: Mapping[str, str]) -> None:
        """PUT one key: the body's single key must be the URL's."""
        if key not in item:
            raise InvalidInput("Request body and URI mismatch")
        image = self.get(ctx, image_id)
        self._write(ctx, image, {**image.properties, key: item[key]})

    def replace(self, ctx: RequestContext, image_id: str, items: Mapping[str, str]) -> None:
        self._write(ctx, self.get(ctx, image_id), dict(items))

    def delete_item(self, ctx: RequestContext, image_id: str, key: str) -> None:
        image = self.get(ctx, image_id)
        if key not in image.properties:
            raise NotFound("Invalid metadata key")
        self._write(ctx, image, {k: v for k, v in image.properties.items() if k != key})
