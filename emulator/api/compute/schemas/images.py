"""Request schemas of Nova's image proxy, ``/images`` (to 2.35) and its metadata (to 2.38)
(``nova/api/openstack/compute/schemas/images.py``, ``image_metadata.py``)."""

from __future__ import annotations

from typing import Any

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.versions import V, Versioned

_INDEX_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limit": types.multi(types.POSITIVE_INTEGER),
        "page_size": types.multi(types.POSITIVE_INTEGER),
        "offset": types.multi(types.POSITIVE_INTEGER),
    },
    "additionalProperties": True,
}
_METADATA = {
    "type": "object",
    "patternProperties": {"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": "string", "maxLength": 255}},
    "additionalProperties": False,
}
_CREATE = {
    "type": "object",
    "properties": {"metadata": _METADATA},
    "required": ["metadata"],
    "additionalProperties": False,
}
_UPDATE = {
    "type": "object",
    "properties": {"meta": {**_METADATA, "minProperties": 1, "maxProperties": 1}},
    "required": ["meta"],
    "additionalProperties": False,
}


SCHEMAS: Versioned = {
    "image_index_query": ((V(2, 1), _INDEX_QUERY),),
    "image_metadata_create": ((V(2, 1), _CREATE),),
    "image_metadata_update_all": ((V(2, 1), _CREATE),),
    "image_metadata_update": ((V(2, 1), _UPDATE),),
}
