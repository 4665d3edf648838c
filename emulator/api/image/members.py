"""Image members over HTTP (``/v2/images/{id}/members``), with the messages Glance's member
controller gives instead of the domain's."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.compute.common import context
from emulator.api.faults import Fault
from emulator.api.image.bodies import member_id, member_status, read_json
from emulator.api.image.faults import image_not_found, refusals
from emulator.api.image.views import member_view
from emulator.api.routing import Call, empty_response, json_response
from emulator.errors import Forbidden, NotFound
from emulator.image.service import ImageService


class MembersController:
    def __init__(self, images: ImageService, max_body: int) -> None:
        self.images = images
        self.max_body = max_body

    async def index(self, call: Call) -> Response:
        image_id = call.params["image_id"]
        try:
            members = self.images.list_members(context(call), image_id)
        except NotFound:
            raise image_not_found(image_id) from None
        except Forbidden as exc:
            raise Fault(403, f"Not allowed to list members for image {image_id}: "
                             f"{exc.message}") from None
        return json_response({"members": [member_view(m) for m in members],
                              "schema": "/v2/schemas/members"})

    async def create(self, call: Call) -> Response:
        image_id = call.params["image_id"]
        member = member_id(await read_json(call, self.max_body))
        with refusals(image_id, "create members", limit="member"):
            record = self.images.add_member(context(call), image_id, member)
        return json_response(member_view(record))

    async def show(self, call: Call) -> Response:
        image_id, member = call.params["image_id"], call.params["member_id"]
        try:
            record = self.images.get_member(context(call), image_id, member)
        except Forbidden:
            raise Fault(403, "You are not authorized to lookup the members of the image "
                             f"{image_id}.") from None
        return json_response(member_view(record))

    async def update(self, call: Call) -> Response:
        image_id, member = call.params["image_id"], call.params["member_id"]
        status = member_status(await read_json(call, self.max_body))
        try:
            record = self.images.update_member(context(call), image_id, member, status)
        except Forbidden:
            raise Fault(403, f"Not allowed to update members for image {image_id}.") from None
        return json_response(member_view(record))

    async def delete(self, call: Call) -> Response:
        image_id, member = call.params["image_id"], call.params["member_id"]
        try:
            self.images.remove_member(context(call), image_id, member)
        except Forbidden:
            raise Fault(403, f"Not allowed to delete members for image {image_id}.") from None
        return empty_response(204)
