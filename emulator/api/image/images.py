"""Images over HTTP (``/v2/images`` and ``/v2/images/{id}``): list, show, create, patch,
delete, deactivate and reactivate, and an image's tasks; each handler parses, makes one
domain call, builds the view."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.compute.common import context
from emulator.api.faults import Fault
from emulator.api.image.bodies import new_image, read_json
from emulator.api.image.patch import parse_patch, patch_draft
from emulator.api.image.queries import image_query
from emulator.api.image.views import image_view, images_view
from emulator.api.routing import Call, base_url, empty_response, json_response
from emulator.errors import NotFound
from emulator.image.service import ImageService


class ImagesController:
    def __init__(self, images: ImageService, max_body: int, prefix: str) -> None:
        self.images = images
        self.max_body = max_body
        #: Where the service is mounted (for the ``Location`` of a new image).
        self.prefix = prefix

    async def index(self, call: Call) -> Response:
        query = call.request.query_params
        page = self.images.list_images(context(call), image_query(query))
        return json_response(images_view(page, query))

    async def show(self, call: Call) -> Response:
        return json_response(image_view(self.images.get(context(call),
                                                        call.params["image_id"])))

    async def create(self, call: Call) -> Response:
        new = new_image(call, await read_json(call, self.max_body))
        image = self.images.create(context(call), new)
        location = f"{base_url(call.request)}{self.prefix}/v2/images/{image.id}"
        return json_response(image_view(image), status=201, headers={"Location": location})

    async def update(self, call: Call) -> Response:
        draft = patch_draft(call.request.headers.get("content-type", ""))
        changes = parse_patch(await read_json(call, self.max_body), draft)
        image = self.images.update(context(call), call.params["image_id"], changes)
        return json_response(image_view(image))

    async def delete(self, call: Call) -> Response:
        image_id = call.params["image_id"]
        try:
            self.images.delete(context(call), image_id)
        except NotFound:
            raise Fault(404, f"Failed to find image {image_id} to delete") from None
        return empty_response(204)

    async def deactivate(self, call: Call) -> Response:
        self.images.set_active(context(call), call.params["image_id"], active=False)
        return empty_response(204)

    async def reactivate(self, call: Call) -> Response:
        self.images.set_active(context(call), call.params["image_id"], active=True)
        return empty_response(204)

    async def tasks(self, call: Call) -> Response:
        """``GET /v2/images/{id}/tasks`` (Glance 2.12)."""
        try:
            tasks = self.images.tasks(context(call), call.params["image_id"])
        except NotFound:
            raise Fault(404) from None  # NOTE: Glance's bare HTTPNotFound, no image id
        return json_response({"tasks": tasks})
