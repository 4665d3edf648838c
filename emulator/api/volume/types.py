"""Volume types (``/types``, ``/types/default``, ``/types/{id}``): the one default type,
as Cinder's ``VolumeTypesController`` shows it; and availability zones
(``/os-availability-zone``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.routing import Call, json_response
from emulator.api.volume.common import context
from emulator.volume import policy
from emulator.volume.records import AVAILABILITY_ZONE, DEFAULT_TYPE, VOLUME_TYPES, VolumeTypeRecord

#: Extra specs everyone sees (Cinder's ``USER_VISIBLE_EXTRA_SPECS``).
USER_VISIBLE_EXTRA_SPECS = ("RESKEY:availability_zones", "multiattach", "sharedtargets")


def type_view(call: Call, vtype: VolumeTypeRecord) -> dict[str, Any]:
    ctx = context(call)
    view: dict[str, Any] = {"id": vtype.id, "name": vtype.name, "is_public": vtype.is_public,
                            "description": vtype.description}
    if policy.allowed(ctx, "volume_extension:access_types_extra_specs"):
        sensitive = policy.allowed(ctx, "volume_extension:types_extra_specs:read_sensitive")
        view["extra_specs"] = {k: v for k, v in vtype.extra_specs.items()
                               if sensitive or k in USER_VISIBLE_EXTRA_SPECS}
    if policy.allowed(ctx, "volume_extension:access_types_qos_specs_id"):
        view["qos_specs_id"] = vtype.qos_specs_id
    return view


class TypesController:
    async def index(self, call: Call) -> Response:
        return json_response({"volume_types": [type_view(call, t) for t in VOLUME_TYPES
                                               if t.is_public or context(call).is_admin]})

    async def show(self, call: Call) -> Response:
        type_id = call.params["type_id"]
        # NOTE: by id only (a name is not found), and ``default`` for the default type.
        vtype = DEFAULT_TYPE if type_id == "default" else next(
            (t for t in VOLUME_TYPES if t.id == type_id), None)
        if vtype is None:
            raise Fault(404, f"Volume type {type_id} could not be found.")
        return json_response({"volume_type": type_view(call, vtype)})


class ZonesController:
    async def index(self, call: Call) -> Response:
        return json_response({"availabilityZoneInfo": [
            {"zoneName": AVAILABILITY_ZONE, "zoneState": {"available": True}}]})
