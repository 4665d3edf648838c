"""The attachments API over HTTP (3.27+: ``/attachments``, ``/attachments/detail``,
``/attachments/{id}``, ``os-complete`` from 3.44), and its views
(``cinder/api/v3/attachments.py``, ``views/attachments.py``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.api.volume import schemas
from emulator.api.volume.common import (
    NOT_FILTERS,
    ListingController,
    context,
    list_query,
    sort_params,
    validate,
)
from emulator.api.volume.microversion import V
from emulator.api.volume.volume_actions import action_name
from emulator.api.volume.volumes import reject_unknown_filters
from emulator.volume.records import AttachmentRecord

#: Filters a non-admin may use, and the attributes they name.
FILTERS = {"volume_id": "volume_id", "status": "attach_status",
           "instance_id": "instance_uuid", "attach_status": "attach_status"}


def _time(value: Any) -> str:
    """Cinder's ``_normalize``: the time, or "" when there is none."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else ""


def summary(attachment: AttachmentRecord) -> dict[str, Any]:
    return {"id": attachment.id, "status": attachment.attach_status,
            "instance": attachment.instance_uuid, "volume_id": attachment.volume_id}


def detail(attachment: AttachmentRecord) -> dict[str, Any]:
    return {**summary(attachment),
            "attached_at": _time(attachment.attach_time),
            "detached_at": _time(attachment.detach_time),
            "attach_mode": attachment.attach_mode,
            "connection_info": dict(attachment.connection_info)}


class AttachmentsController(ListingController):
    def listing(self, call: Call, detailed: bool) -> Response:
        query = call.request.query_params
        raw = {k: v for k, v in query.items() if k not in NOT_FILTERS}
        reject_unknown_filters(call, raw, tuple(FILTERS))
        filters = {FILTERS.get(k, k): v for k, v in raw.items()}
        page = self.volumes.list_attachments(context(call), list_query(
            call, filters, sort_params(query, {})))
        view = detail if detailed else summary
        return json_response({"attachments": [view(a) for a in page.items]})

    async def show(self, call: Call) -> Response:
        attachment = self.volumes.get_attachment(context(call), call.params["attachment_id"])
        return json_response({"attachment": detail(attachment)})

    async def create(self, call: Call) -> Response:
        schema = schemas.ATTACHMENT_CREATE_V354 if call.version >= V(54) \
            else schemas.ATTACHMENT_CREATE
        spec = validate(schema, call.body)["attachment"]
        attachment = self.volumes.create_attachment(
            context(call), spec["volume_uuid"], spec.get("instance_uuid"),
            spec.get("connector"), spec.get("mode", "null"))
        return json_response({"attachment": detail(attachment)})

    async def update(self, call: Call) -> Response:
        spec = validate(schemas.ATTACHMENT_UPDATE, call.body)["attachment"]
        attachment = self.volumes.update_attachment(context(call),
                                                    call.params["attachment_id"],
                                                    spec["connector"])
        return json_response({"attachment": detail(attachment)})

    async def delete(self, call: Call) -> Response:
        left = self.volumes.delete_attachment(context(call), call.params["attachment_id"])
        return json_response({"attachments": [summary(a) for a in left]})

    async def action(self, call: Call) -> Response:
        """``POST /attachments/{id}/action``: only ``os-complete`` (3.44)."""
        name = action_name(call.body)
        if name == "os-complete" and call.version < V(44):
            raise Fault(404)  # NOTE: a versioned action outside its window is a 404
        if name != "os-complete":
            raise Fault(400, f"There is no such action: {name}. Verify the request body and "
                             "Content-Type header and try again.")
        self.volumes.complete_attachment(context(call), call.params["attachment_id"])
        return empty_response(204)
