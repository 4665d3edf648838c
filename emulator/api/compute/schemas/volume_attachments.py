"""Request schemas of ``/servers/{id}/os-volume_attachments``, per microversion (Nova's
``schemas/volume_attachments.py``): ``tag`` from 2.49, ``delete_on_termination`` from
2.79, the update of 2.85, strict queries from 2.75 (index) and 2.102 (show)."""

from __future__ import annotations

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.parameter_types import (
    ANY_QUERY,
    NO_QUERY,
    Schema,
    derive,
    multi,
    obj,
    wrapped,
)
from emulator.api.compute.schemas.versions import V, Versioned

_DEVICE: Schema = {"type": ["string", "null"],
                   "pattern": "(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"}

_INDEX_QUERY: Schema = {"type": "object",
                        "properties": {"limit": multi(types.NON_NEGATIVE_INTEGER),
                                       "offset": multi(types.NON_NEGATIVE_INTEGER)},
                        "additionalProperties": True}
_INDEX_QUERY_V275 = derive(_INDEX_QUERY, lambda s: s.update(additionalProperties=False))

_CREATE = wrapped("volumeAttachment", obj({"volumeId": types.UUID, "device": _DEVICE},
                                          required=["volumeId"]))
_CREATE_V249 = derive(_CREATE, lambda s: s["properties"]["volumeAttachment"]["properties"]
                      .update(tag=types.TAG))
_CREATE_V279 = derive(_CREATE_V249, lambda s: s["properties"]["volumeAttachment"]
                      ["properties"].update(delete_on_termination=types.BOOLEAN))

_UPDATE = derive(_CREATE, lambda s: s["properties"]["volumeAttachment"]["properties"]
                 .pop("device"))
_UPDATE_V285 = wrapped("volumeAttachment", obj({
    "volumeId": types.UUID,
    "device": _DEVICE,
    "tag": types.TAG,
    "delete_on_termination": types.BOOLEAN,
    "serverId": types.UUID,
    "id": types.UUID,
}, required=["volumeId"]))

SCHEMAS: Versioned = {
    "volume_attachments_index_query": ((V(2, 1), _INDEX_QUERY), (V(2, 75), _INDEX_QUERY_V275)),
    "volume_attachments_show_query": ((V(2, 1), ANY_QUERY), (V(2, 102), NO_QUERY)),
    "volume_attachments_create": ((V(2, 1), _CREATE), (V(2, 49), _CREATE_V249),
                                  (V(2, 79), _CREATE_V279)),
    "volume_attachments_update": ((V(2, 1), _UPDATE), (V(2, 85), _UPDATE_V285)),
}
