"""Nova's image proxy (``/images``): Glance images in Nova's shapes, until 2.35.

The image routes end at 2.35 and the image metadata routes at 2.38 (Nova's
``MAX_PROXY_API_SUPPORT_VERSION`` and ``MAX_IMAGE_META_PROXY_API_VERSION``); above, they
are 404. Nova asks Glance with the caller's token, so Glance's visibility and policy apply
as they are, and Glance's errors come back in Nova's words.
"""

from __future__ import annotations

import sys
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.faults import Fault
from emulator.api.routing import Call, base_url, empty_response, json_response
from emulator.compute.checks import check_image_metadata_count
from emulator.errors import Forbidden, NotFound
from emulator.image.service import (
    ATTRIBUTES,
    Change,
    ImageQuery,
    ImageRecord,
    ImageService,
    property_changes,
)

#: Last microversions of the proxies.
MAX_IMAGES_VERSION = V(2, 35)
MAX_IMAGE_METADATA_VERSION = V(2, 38)

#: Glance status -> Nova status, and the progress Nova reports for it.
STATUS: dict[str, str] = {
    "active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED",
    "pending_delete": "DELETED", "killed": "ERROR",
}
PROGRESS: dict[str, int] = {"queued": 25, "saving": 50, "active": 100}

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

_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})

#: Keys Glance would not take as properties (its attributes and reserved names).
_NOT_PROPERTIES = frozenset({*ATTRIBUTES, "id", "self", "file", "schema", "direct_url",
                             "stores", "location", "deleted", "deleted_at"})


def _time(record_time: Any) -> str:
    return str(record_time.strftime("%Y-%m-%dT%H:%M:%SZ"))


class ImagesController:
    def __init__(self, images: ImageService) -> None:
        self.images = images

    # -- views -----------------------------------------------------------------------------

    @staticmethod
    def _links(call: Call, image_id: str) -> list[dict[str, str]]:
        glance = f"{base_url(call.request)}/image"
        return [*common.links(call, "images", image_id),
                {"rel": "alternate", "type": "application/vnd.openstack.image",
                 "href": f"{glance}/images/{image_id}"}]

    def _basic(self, call: Call, image: ImageRecord) -> dict[str, Any]:
        return {"id": image.id, "name": image.name, "links": self._links(call, image.id)}

    def _show(self, call: Call, image: ImageRecord) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": image.id,
            "name": image.name,
            "minRam": image.min_ram,
            "minDisk": image.min_disk,
            "metadata": dict(image.properties),
            "created": _time(image.created_at),
            "updated": _time(image.updated_at),
            "status": STATUS.get(image.status, "UNKNOWN"),
            "progress": PROGRESS.get(image.status, 0),
            "OS-EXT-IMG-SIZE:size": image.size or 0,
            "links": self._links(call, image.id),
        }
        server = image.properties.get("instance_uuid")
        if server is not None:
            view["server"] = {"id": server, "links": common.links(call, "servers", server)}
        disk_config = image.properties.get("auto_disk_config")
        if disk_config is not None:
            auto = disk_config.strip().lower() in _TRUE
            view["OS-DCF:diskConfig"] = "AUTO" if auto else "MANUAL"
        return view

    # -- lookups ---------------------------------------------------------------------------

    def _get(self, call: Call, image_id: str) -> ImageRecord:
        try:
            return self.images.get(common.context(call), image_id)
        except NotFound:
            raise Fault(404, "Image not found.") from None

    def _query(self, call: Call) -> ImageQuery:
        common.check_query(call, "image_index_query")
        query = call.request.query_params
        filters: dict[str, str] = {}
        for param in query:
            value = query[param]
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
        limit, marker = common.limit_and_marker(call)
        given = common.last_value(call, "limit")
        return ImageQuery(filters=filters, limit=limit if given and limit else sys.maxsize,
                          marker=marker)

    def _list(self, call: Call, collection: str, detail: bool) -> Response:
        page = self.images.list_images(common.context(call), self._query(call))
        items = [self._show(call, i) if detail else self._basic(call, i) for i in page.images]
        body: dict[str, Any] = {"images": items}
        last = page.images[-1].id if page.images else None
        next_links = common.next_links(call, collection, len(page.images), last)
        if next_links:
            body["images_links"] = next_links
        return json_response(body)

    # -- images ----------------------------------------------------------------------------

    async def index(self, call: Call) -> Response:
        return self._list(call, "images", detail=False)

    async def detail(self, call: Call) -> Response:
        return self._list(call, "images/detail", detail=True)

    async def show(self, call: Call) -> Response:
        return json_response({"image": self._show(call, self._get(call, call.params["image_id"]))})

    async def delete(self, call: Call) -> Response:
        try:
            self.images.delete(common.context(call), call.params["image_id"])
        except NotFound:
            raise Fault(404, "Image not found.") from None
        except Forbidden:
            raise Fault(403, "You are not allowed to delete the image.") from None
        return empty_response(204)

    # -- metadata --------------------------------------------------------------------------

    def _write(self, call: Call, image: ImageRecord, wanted: dict[str, str]) -> ImageRecord:
        """Make ``wanted`` the image's properties (Nova updates with ``purge_props``)."""
        check_image_metadata_count(len(wanted))
        not_authorized = Fault(403, f"Not authorized for image {image.id}.")
        if set(wanted) & _NOT_PROPERTIES or any(k.startswith("os_glance") for k in wanted):
            raise not_authorized
        changes: list[Change] = property_changes(image.properties, wanted, purge=True)
        try:
            return self.images.update(common.context(call), image.id, changes)
        except NotFound:
            raise Fault(404, "Image not found.") from None
        except Forbidden:
            raise not_authorized from None

    async def metadata_index(self, call: Call) -> Response:
        image = self._get(call, call.params["image_id"])
        return json_response({"metadata": image.properties})

    async def metadata_show(self, call: Call) -> Response:
        image = self._get(call, call.params["image_id"])
        key = call.params["key"]
        if key not in image.properties:
            raise Fault(404)
        return json_response({"meta": {key: image.properties[key]}})

    async def metadata_create(self, call: Call) -> Response:
        common.check_body(call, "image_metadata_create")
        image = self._get(call, call.params["image_id"])
        wanted = {**image.properties, **call.body["metadata"]}
        image = self._write(call, image, wanted)
        return json_response({"metadata": image.properties})

    async def metadata_update(self, call: Call) -> Response:
        common.check_body(call, "image_metadata_update")
        key, meta = call.params["key"], call.body["meta"]
        if key not in meta:
            raise Fault(400, "Request body and URI mismatch")
        image = self._get(call, call.params["image_id"])
        self._write(call, image, {**image.properties, key: meta[key]})
        return json_response({"meta": meta})

    async def metadata_update_all(self, call: Call) -> Response:
        common.check_body(call, "image_metadata_update_all")
        metadata = call.body["metadata"]
        image = self._get(call, call.params["image_id"])
        self._write(call, image, dict(metadata))
        return json_response({"metadata": metadata})

    async def metadata_delete(self, call: Call) -> Response:
        image = self._get(call, call.params["image_id"])
        key = call.params["key"]
        if key not in image.properties:
            raise Fault(404, "Invalid metadata key")
        self._write(call, image, {k: v for k, v in image.properties.items() if k != key})
        return empty_response(204)
