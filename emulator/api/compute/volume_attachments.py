"""``/servers/{server_id}/os-volume_attachments``: Nova's volume attachments.

| version | change |
|---|---|
| 2.20 | attach and detach on a shelved (and shelved-offloaded) server |
| 2.49 | ``tag`` on attach |
| 2.60 | multiattach volumes may be attached |
| 2.70 | views show ``tag`` |
| 2.79 | ``delete_on_termination`` on attach and in views |
| 2.85 | PUT updates ``delete_on_termination`` (swap only when ``volumeId`` differs) |
| 2.89 | views show ``attachment_id`` and ``bdm_uuid``, no more ``id`` |
| 2.101 | attach answers 202 with no body (the device is named asynchronously) |
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import MAX_LIMIT, V
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.volumes.attachments import AttachRequest, ServerVolumes
from emulator.compute.volumes.mappings import BdmRecord

TRUE = frozenset({"true", "1", "on", "yes"})


def _bool(value: Any) -> bool:
    """A value the schema's boolean accepted (a bool or one of its strings)."""
    return value if isinstance(value, bool) else str(value).lower() in TRUE


def _view(call: Call, bdm: BdmRecord) -> dict[str, Any]:
    """Nova's ``_translate_attachment_detail_view``."""
    view: dict[str, Any] = {}
    new_ids = call.version >= V(2, 89)
    if not new_ids:
        view["id"] = bdm.volume_id
    view["volumeId"] = bdm.volume_id
    view["serverId"] = bdm.instance_uuid
    if bdm.device_name:
        view["device"] = bdm.device_name
    if call.version >= V(2, 70):
        view["tag"] = bdm.tag
    if call.version >= V(2, 79):
        view["delete_on_termination"] = bdm.delete_on_termination
    if new_ids:
        view["attachment_id"] = bdm.attachment_id
        view["bdm_uuid"] = bdm.uuid
    return view


def _integer(call: Call, name: str) -> int:
    raw = common.last_value(call, name)
    return int(raw) if raw is not None else 0


class VolumeAttachmentsController:
    def __init__(self, volumes: ServerVolumes) -> None:
        self.volumes = volumes

    async def index(self, call: Call) -> Response:
        common.check_query(call, "volume_attachments_index_query")
        # Nova's ``common.limited``: limit 0 (or none) is the maximum page.
        limit = min(_integer(call, "limit") or MAX_LIMIT, MAX_LIMIT)
        offset = _integer(call, "offset")
        found = self.volumes.list(common.context(call), call.params["server_id"])
        page = found[offset:offset + limit]
        if call.version >= V(2, 89):
            page = [b for b in page if b.attachment_id is not None]
        return json_response({"volumeAttachments": [_view(call, b) for b in page]})

    async def show(self, call: Call) -> Response:
        common.check_query(call, "volume_attachments_show_query")
        bdm = self.volumes.show(common.context(call), call.params["server_id"],
                                call.params["volume_id"])
        return json_response({"volumeAttachment": _view(call, bdm)})

    async def create(self, call: Call) -> Response:
        body = common.check_body(call, "volume_attachments_create")["volumeAttachment"]
        request = AttachRequest(
            volume_id=body["volumeId"], device=body.get("device"), tag=body.get("tag"),
            delete_on_termination=_bool(body.get("delete_on_termination", False)),
            multiattach=call.version >= V(2, 60),
            shelved_allowed=call.version >= V(2, 20),
            asynchronous=call.version >= V(2, 101))
        server_id = call.params["server_id"]
        bdm = self.volumes.attach(common.context(call), server_id, request)
        if call.version >= V(2, 101):
            return empty_response(202)
        assert bdm is not None  # only an asynchronous attach answers before the reserve
        view: dict[str, Any] = {"id": bdm.volume_id, "serverId": server_id,
                                "volumeId": bdm.volume_id, "device": bdm.device_name}
        if call.version >= V(2, 70):
            view["tag"] = request.tag
        if call.version >= V(2, 79):
            view["delete_on_termination"] = request.delete_on_termination
        return json_response({"volumeAttachment": view})

    async def update(self, call: Call) -> Response:
        """Before 2.85 a swap (Cinder's, during a migration); from 2.85 an update of the
        mapping, and a swap too when ``volumeId`` names another volume."""
        body = common.check_body(call, "volume_attachments_update")["volumeAttachment"]
        ctx = common.context(call)
        server_id, volume_id = call.params["server_id"], call.params["volume_id"]
        new_volume = body["volumeId"]
        if call.version >= V(2, 85):
            fields = dict(body)
            if "delete_on_termination" in fields:
                fields["delete_on_termination"] = _bool(fields["delete_on_termination"])
            if new_volume == volume_id:
                self.volumes.update(ctx, server_id, volume_id, fields)
                return empty_response(202)
            self.volumes.authorize_swap(ctx)
            self.volumes.update(ctx, server_id, volume_id, fields)
        self.volumes.swap(ctx, server_id, volume_id, new_volume)
        return empty_response(202)

    async def delete(self, call: Call) -> Response:
        self.volumes.detach(common.context(call), call.params["server_id"],
                            call.params["volume_id"],
                            shelved_allowed=call.version >= V(2, 20))
        return empty_response(202)
