"""Image tags over HTTP (``PUT``/``DELETE /v2/images/{id}/tags/{tag}``), with the messages
Glance's tag controller gives instead of the domain's."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.compute.common import context
from emulator.api.faults import Fault
from emulator.api.image.faults import refusals
from emulator.api.image.schemas import validate_image
from emulator.api.routing import Call, empty_response
from emulator.image.service import ImageService, TagNotFound


class TagsController:
    def __init__(self, images: ImageService) -> None:
        self.images = images

    async def add(self, call: Call) -> Response:
        image_id, tag = call.params["image_id"], call.params["tag"]
        validate_image({"tags": [tag]})
        with refusals(image_id, "update tags", limit="tag"):
            self.images.add_tag(context(call), image_id, tag)
        return empty_response(204)

    async def remove(self, call: Call) -> Response:
        image_id, tag = call.params["image_id"], call.params["tag"]
        with refusals(image_id, "delete tags"):
            try:
                self.images.remove_tag(context(call), image_id, tag)
            except TagNotFound:
                raise Fault(404) from None
        return empty_response(204)
