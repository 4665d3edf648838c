"""The Image (Glance v2) API at ``/image``: its route table, and the request path.

Request path, as Glance's paste pipeline orders it: version negotiation first (the root,
``/versions`` and any unknown version segment answer the versions list without a token),
then the token check, then the v2 router (a known path with another method is a 405).
Faults are Glance's (``faults``). Glance has no request size limit in front of it; only
JSON bodies are bounded here.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.image.data import DataController
from emulator.api.image.faults import SERVER_ERROR, fault_from_error, render_glance
from emulator.api.image.images import ImagesController
from emulator.api.image.members import MembersController
from emulator.api.image.schemas import IMAGE_SCHEMA, IMAGES_SCHEMA, MEMBER_SCHEMA, MEMBERS_SCHEMA
from emulator.api.image.tags import TagsController
from emulator.api.image.versions import URL_VERSIONS, versions_response
from emulator.api.routing import Call, Handler, Route, base_url, json_response
from emulator.api.service import AuthFault, Service
from emulator.errors import EmulatorError
from emulator.identity.service import IdentityService
from emulator.image.service import ImageService

log = logging.getLogger("nova_emulator.api")


def _document(document: dict[str, Any]) -> Handler:
    """A handler that answers ``document`` (a published schema)."""
    async def show(_call: Call) -> Response:
        return json_response(document)

    return show


class ImageAPI(Service):
    prefix = "/image"
    route_root = "/v2"
    # NOTE: no declared-size check: Glance has no sizelimit middleware, and image data is
    # as large as it is. JSON bodies are still bounded when read.
    limit_declared_size = False

    def __init__(self, identity: IdentityService, public_url: str, max_body: int,
                 images: ImageService) -> None:
        self.images = ImagesController(images, max_body, self.prefix)
        self.data = DataController(images)
        self.tags = TagsController(images)
        self.members = MembersController(images, max_body)
        super().__init__(identity, public_url, max_body)

    def routes(self) -> list[Route]:
        im, data, tags, members = self.images, self.data, self.tags, self.members
        return [
            Route("GET", "/images", im.index),
            Route("POST", "/images", im.create),
            Route("GET", "/images/{image_id}", im.show),
            Route("GET", "/images/{image_id}/tasks", im.tasks),
            Route("PATCH", "/images/{image_id}", im.update),
            Route("DELETE", "/images/{image_id}", im.delete),
            Route("PUT", "/images/{image_id}/file", data.upload),
            Route("GET", "/images/{image_id}/file", data.download),
            Route("PUT", "/images/{image_id}/tags/{tag}", tags.add),
            Route("DELETE", "/images/{image_id}/tags/{tag}", tags.remove),
            Route("POST", "/images/{image_id}/actions/deactivate", im.deactivate),
            Route("POST", "/images/{image_id}/actions/reactivate", im.reactivate),
            Route("GET", "/images/{image_id}/members", members.index),
            Route("POST", "/images/{image_id}/members", members.create),
            Route("GET", "/images/{image_id}/members/{member_id}", members.show),
            Route("PUT", "/images/{image_id}/members/{member_id}", members.update),
            Route("DELETE", "/images/{image_id}/members/{member_id}", members.delete),
            Route("GET", "/schemas/image", _document(IMAGE_SCHEMA)),
            Route("GET", "/schemas/images", _document(IMAGES_SCHEMA)),
            Route("GET", "/schemas/member", _document(MEMBER_SCHEMA)),
            Route("GET", "/schemas/members", _document(MEMBERS_SCHEMA)),
        ]

    def error_response(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, AuthFault):
            return self.render(exc)
        if isinstance(exc, Fault):
            fault = exc
        elif isinstance(exc, EmulatorError):
            fault = fault_from_error(exc)
        else:
            log.error("unexpected error in %s %s", request.method, request.url.path,
                      exc_info=exc)
            fault = Fault(500, SERVER_ERROR)
        return render_glance(fault, request.headers.get("accept"))

    async def dispatch(self, request: Request, subpath: str) -> Response:
        segments = subpath.split("/", 2)
        first = segments[1] if len(segments) > 1 else ""
        if first == "versions" or first not in URL_VERSIONS:
            return versions_response(f"{base_url(request)}{self.prefix}/v2/",
                                     200 if first == "versions" else 300)
        auth = self.authenticate(request)
        path = "/" + segments[2] if len(segments) > 2 else "/"
        if path.endswith("/"):
            # NOTE: Glance's routes match exactly: ``/v2/images/`` is no image and no list.
            raise Fault(404)
        try:
            route, params = self.table.match(request.method, path)
        except Fault as fault:
            if fault.status == 405:
                raise Fault(405, f"The method {request.method} is not allowed for this "
                                 "resource.", fault.headers) from None
            raise
        return await route.handler(Call(request=request, params=params, auth=auth))
