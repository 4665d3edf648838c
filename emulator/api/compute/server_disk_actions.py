"""The action handlers that change a server's disk or flavor, or copy its disk:
``rebuild``, ``resize``/``confirmResize``/``revertResize``, ``createImage`` and
``createBackup``. Each parses what its microversion allows, makes one call to
``emulator.compute.disk_operations`` and answers as Nova does."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.server_views import ServerView
from emulator.api.routing import Call, base_url, empty_response, json_response
from emulator.compute.disk_operations import DiskOperations, Rebuild, Snapshot

#: Rebuild body key -> (first microversion, the server's column it sets).
REBUILD_FIELDS: dict[str, tuple[V, str]] = {
    "name": (V(2, 1), "display_name"),
    "accessIPv4": (V(2, 1), "access_ip_v4"),
    "accessIPv6": (V(2, 1), "access_ip_v6"),
    "OS-DCF:diskConfig": (V(2, 1), "disk_config"),
    "description": (V(2, 19), "display_description"),
    "user_data": (V(2, 57), "user_data"),
    "hostname": (V(2, 90), "hostname"),
}


class DiskActions:
    def __init__(self, disk: DiskOperations) -> None:
        self.disk = disk
        self.view = ServerView()

    async def rebuild(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "rebuild")
        version = call.version
        columns = {column: payload[key] for key, (since, column) in REBUILD_FIELDS.items()
                   if key in payload and version >= since}
        if "display_name" in columns:
            columns["display_name"] = columns["display_name"].strip()
        certs = payload.get("trusted_image_certificates")
        request = Rebuild(
            image_ref=str(payload["imageRef"]),
            password=payload.get("adminPass"),
            metadata=dict(payload["metadata"]) if "metadata" in payload else None,
            key_name=payload.get("key_name"),
            key_name_given=version >= V(2, 54) and "key_name" in payload,
            trusted_certs=tuple(certs) if certs else None,
            trusted_certs_given=version >= V(2, 63) and "trusted_image_certificates" in payload,
            columns=columns)
        record, password = self.disk.rebuild(common.context(call), call.params["server_id"],
                                             request)
        location = common.links(call, "servers", record.uuid)[0]["href"]
        return json_response({"server": self.view.rebuild(call, record, password)},
                             status=202, headers={"Location": location})

    async def resize(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "resize")
        self.disk.resize(common.context(call), call.params["server_id"],
                         str(payload["flavorRef"]), payload.get("OS-DCF:diskConfig"))
        return empty_response(202)

    async def confirm_resize(self, call: Call, _payload: Any) -> Response:
        common.check_body(call, "confirm_resize")
        self.disk.confirm_resize(common.context(call), call.params["server_id"])
        return empty_response(204)

    async def revert_resize(self, call: Call, _payload: Any) -> Response:
        common.check_body(call, "revert_resize")
        self.disk.revert_resize(common.context(call), call.params["server_id"])
        return empty_response(202)

    async def create_image(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "create_image")
        image_id = self.disk.snapshot(common.context(call), call.params["server_id"], Snapshot(
            name=payload["name"].strip(), metadata=dict(payload.get("metadata", {})),
            check_quota=call.version < V(2, 39)))
        if call.version >= V(2, 45):
            return json_response({"image_id": image_id}, status=202)
        # Nova's ``generate_image_url``: the image service's URL of the new image.
        location = f"{base_url(call.request)}/image/v2/images/{image_id}"
        return empty_response(202, headers={"Location": location})

    async def create_backup(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "create_backup")
        rotation = int(payload["rotation"])
        image_id = self.disk.snapshot(common.context(call), call.params["server_id"], Snapshot(
            name=payload["name"].strip(), metadata=dict(payload.get("metadata", {})),
            backup_type=str(payload["backup_type"]), rotation=rotation,
            check_quota=call.version < V(2, 39)))
        if call.version >= V(2, 45):
            return json_response({"image_id": image_id}, status=202)
        # NOTE: Nova's backup Location is under the compute API, and only with a rotation.
        headers = {"Location": common.href(call, "images", image_id)} if rotation > 0 else None
        return empty_response(202, headers=headers)
