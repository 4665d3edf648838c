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
from emulator.api.routing import Call, base_url, empty_response, json_response
from emulator.compute.image_proxy import ImageProxy, glance_filters
from emulator.image.service import ImageQuery, ImageRecord

#: Last microversions of the proxies.
MAX_IMAGES_VERSION = V(2, 35)
MAX_IMAGE_METADATA_VERSION = V(2, 38)

#: Glance status -> Nova status, and the progress Nova reports for it.
STATUS: dict[str, str] = {
    "active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED",
    "pending_delete": "DELETED", "killed": "ERROR",
}
PROGRESS: dict[str, int] = {"queued": 25, "saving": 50, "active": 100}

_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})



def _time(record_time: Any) -> str:
    return str(record_time.strftime("%Y-%m-%dT%H:%M:%SZ"))


class ImagesController:
    def __init__(self, proxy: ImageProxy) -> None:
        self.proxy = proxy

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

    # -- images ----------------------------------------------------------------------------

    def _query(self, call: Call) -> ImageQuery:
        common.check_query(call, "image_index_query")
        query = call.request.query_params
        limit, marker = common.limit_and_marker(call)
        given = common.last_value(call, "limit")
        return ImageQuery(filters=glance_filters({p: query[p] for p in query}),
                          limit=limit if given and limit else sys.maxsize, marker=marker)

    def _list(self, call: Call, collection: str, detail: bool) -> Response:
        found = self.proxy.list(common.context(call), self._query(call))
        items = [self._show(call, i) if detail else self._basic(call, i) for i in found]
        last = found[-1].id if found else None
        return json_response(common.page_body(call, "images", collection, items, last))

    async def index(self, call: Call) -> Response:
        return self._list(call, "images", detail=False)

    async def detail(self, call: Call) -> Response:
        return self._list(call, "images/detail", detail=True)

    async def show(self, call: Call) -> Response:
        image = self.proxy.get(common.context(call), call.params["image_id"])
        return json_response({"image": self._show(call, image)})

    async def delete(self, call: Call) -> Response:
        self.proxy.delete(common.context(call), call.params["image_id"])
        return empty_response(204)

    # -- metadata --------------------------------------------------------------------------

    async def metadata_index(self, call: Call) -> Response:
        image = self.proxy.get(common.context(call), call.params["image_id"])
        return json_response({"metadata": image.properties})

    async def metadata_show(self, call: Call) -> Response:
        key = call.params["key"]
        value = self.proxy.item(common.context(call), call.params["image_id"], key)
        return json_response({"meta": {key: value}})

    async def metadata_create(self, call: Call) -> Response:
        items = common.check_body(call, "image_metadata_create")["metadata"]
        merged = self.proxy.merge(common.context(call), call.params["image_id"], items)
        return json_response({"metadata": merged})

    async def metadata_update(self, call: Call) -> Response:
        meta = common.check_body(call, "image_metadata_update")["meta"]
        self.proxy.set_item(common.context(call), call.params["image_id"],
                            call.params["key"], meta)
        return json_response({"meta": meta})

    async def metadata_update_all(self, call: Call) -> Response:
        metadata = common.check_body(call, "image_metadata_update_all")["metadata"]
        self.proxy.replace(common.context(call), call.params["image_id"], metadata)
        return json_response({"metadata": metadata})

    async def metadata_delete(self, call: Call) -> Response:
        self.proxy.delete_item(common.context(call), call.params["image_id"], call.params["key"])
        return empty_response(204)
