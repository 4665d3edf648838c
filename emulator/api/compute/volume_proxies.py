"""Nova's volume proxies until 2.35 (the route table answers 404 after it):
``/os-volumes`` and ``/os-snapshots`` (list, detail, show, create: 200; delete: 202).
Lists take Nova's ``limit``/``offset``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.security_groups import offset_and_limit
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.api.volume import schemas as cinder_schemas
from emulator.api.volume.common import check_text
from emulator.api.volume.common import validate as cinder_validate
from emulator.compute.proxies.volumes import VolumeProxy, cinder_text
from emulator.errors import InvalidInput

#: ``strutils.bool_from_string(strict=True)``'s words (the schema let only these through).
TRUE_WORDS = ("1", "t", "true", "on", "y", "yes")


class VolumeProxiesController:
    def __init__(self, proxy: VolumeProxy) -> None:
        self.proxy = proxy

    async def _volumes(self, call: Call, detail: bool) -> Response:
        common.check_query(call, "proxy_volume_index_query")
        found = self.proxy.list_volumes(common.context(call), detail, *offset_and_limit(call))
        return json_response({"volumes": found})

    async def volume_index(self, call: Call) -> Response:
        return await self._volumes(call, detail=False)

    async def volume_detail(self, call: Call) -> Response:
        return await self._volumes(call, detail=True)

    async def volume_show(self, call: Call) -> Response:
        volume = self.proxy.get_volume(common.context(call), call.params["volume_id"])
        return json_response({"volume": volume})

    async def volume_create(self, call: Call) -> Response:
        spec = common.check_body(call, "proxy_volume_create")["volume"]
        size = spec["size"]
        # NOTE: Nova holds a numeric string to the schema's minimum too; Draft 4 does not.
        if isinstance(size, str) and int(size) < 1:
            raise Fault(400, f"Invalid input for field/attribute size. Value: {size}. "
                             f"{size} is less than the minimum of 1")
        spec = self._as_cinder_takes_it(spec)
        volume = self.proxy.create_volume(common.context(call), spec)
        location = common.href(call, "os-volumes", volume["id"])
        return json_response({"volume": volume}, headers={"Location": location})

    @staticmethod
    def _as_cinder_takes_it(spec: dict[str, Any]) -> dict[str, Any]:
        """``spec`` with its name and description as Cinder keeps them, after Cinder's own
        checks of the body Nova's client sends (its 400 as Nova passes it on)."""
        sent: dict[str, Any] = {
            "size": spec["size"], "metadata": spec.get("metadata") or {},
            **{key: spec[key] for key in ("snapshot_id", "volume_type", "availability_zone")
               if key in spec},
            "name": spec.get("display_name"), "description": spec.get("display_description")}
        try:
            cinder_validate(cinder_schemas.VOLUME_CREATE, {"volume": sent})
            name = check_text(sent["name"], "name")
            description = check_text(sent["description"], "description")
        except Fault as fault:
            raise Fault(400, "Invalid input received: "
                             f"{cinder_text(InvalidInput(fault.message))}") from None
        return {**spec, "display_name": name, "display_description": description}

    async def volume_delete(self, call: Call) -> Response:
        self.proxy.delete_volume(common.context(call), call.params["volume_id"])
        return empty_response(202)

    async def _snapshots(self, call: Call, detail: bool) -> Response:
        common.check_query(call, "proxy_snapshot_index_query")
        found = self.proxy.list_snapshots(common.context(call), detail,
                                          *offset_and_limit(call))
        return json_response({"snapshots": found})

    async def snapshot_index(self, call: Call) -> Response:
        return await self._snapshots(call, detail=False)

    async def snapshot_detail(self, call: Call) -> Response:
        return await self._snapshots(call, detail=True)

    async def snapshot_show(self, call: Call) -> Response:
        snapshot = self.proxy.get_snapshot(common.context(call), call.params["snapshot_id"])
        return json_response({"snapshot": snapshot})

    async def snapshot_create(self, call: Call) -> Response:
        spec = common.check_body(call, "proxy_snapshot_create")["snapshot"]
        force = str(spec.get("force", False)).lower() in TRUE_WORDS
        made = self.proxy.create_snapshot(common.context(call), spec["volume_id"], force,
                                          spec.get("display_name"),
                                          spec.get("display_description"))
        return json_response({"snapshot": made})

    async def snapshot_delete(self, call: Call) -> Response:
        self.proxy.delete_snapshot(common.context(call), call.params["snapshot_id"])
        return empty_response(202)
