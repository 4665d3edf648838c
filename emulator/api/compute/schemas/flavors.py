"""Request schemas of ``/flavors``: create, update, list queries, access and extra specs
(``nova/api/openstack/compute/schemas/flavors.py``, ``flavor_access.py``,
``flavors_extraspecs.py``), per microversion."""

from __future__ import annotations

import copy
from typing import Any

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.versions import NO_QUERY_FROM_2102, V, Versioned
from emulator.compute.flavors import SORT_COLUMNS

_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "flavor": {
            "type": "object",
            "properties": {
                "name": types.NAME,
                "id": {
                    "type": ["string", "number", "null"],
                    "minLength": 1, "maxLength": 255,
                    "pattern": "^(?! )[a-zA-Z0-9. _-]+(?<! )$",
                },
                "ram": types.FLAVOR_POSITIVE,
                "vcpus": types.FLAVOR_POSITIVE,
                "disk": types.FLAVOR_NON_NEGATIVE,
                "OS-FLV-EXT-DATA:ephemeral": types.FLAVOR_NON_NEGATIVE,
                "swap": types.FLAVOR_NON_NEGATIVE,
                "rxtx_factor": {
                    "type": ["number", "string"],
                    "pattern": r"^[0-9]+(\.[0-9]+)?$",
                    "minimum": 0, "exclusiveMinimum": True,
                    "maximum": 3.40282e38,
                },
                "os-flavor-access:is_public": types.BOOLEAN,
            },
            "required": ["name", "ram", "vcpus", "disk"],
            "additionalProperties": False,
        },
    },
    "required": ["flavor"],
    "additionalProperties": False,
}
_DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535,
                "format": "description"}
_CREATE_V255 = copy.deepcopy(_CREATE)
_CREATE_V255["properties"]["flavor"]["properties"]["description"] = _DESCRIPTION
_CREATE_V2102 = copy.deepcopy(_CREATE_V255)
del _CREATE_V2102["properties"]["flavor"]["properties"]["rxtx_factor"]

_UPDATE = {
    "type": "object",
    "properties": {
        "flavor": {
            "type": "object",
            "properties": {"description": _DESCRIPTION},
            "required": ["description"],
            "additionalProperties": False,
        },
    },
    "required": ["flavor"],
    "additionalProperties": False,
}

_SORT_KEYS = sorted(SORT_COLUMNS)
_INDEX_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limit": types.multi(types.NON_NEGATIVE_INTEGER),
        "marker": types.multi({"type": "string"}),
        "is_public": types.multi({"type": "string"}),
        "minRam": types.multi({"type": "string"}),
        "minDisk": types.multi({"type": "string"}),
        "sort_key": types.multi({"type": "string", "enum": _SORT_KEYS}),
        "sort_dir": types.multi({"type": "string", "enum": ["asc", "desc"]}),
    },
    # NOTE: unknown query parameters are ignored until 2.75, then refused.
    "additionalProperties": True,
}
_INDEX_QUERY_V275 = {**copy.deepcopy(_INDEX_QUERY), "additionalProperties": False}
_INDEX_QUERY_V2102 = copy.deepcopy(_INDEX_QUERY_V275)
_INDEX_QUERY_V2102["properties"]["name"] = types.multi({"type": "string"})
_INDEX_QUERY_V2102["properties"]["sort_key"]["items"]["enum"] = [
    k for k in _SORT_KEYS if k != "rxtx_factor"
]

_TENANT = {"type": "string", "minLength": 1, "maxLength": 255}


def _access_schema(action: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            action: {
                "type": "object",
                "properties": {"tenant": _TENANT},
                "required": ["tenant"],
                "additionalProperties": False,
            },
        },
        "required": [action],
        "additionalProperties": False,
    }


_SPEC_KEY = "^[a-zA-Z0-9-_:. ]{1,255}$"
_SPECS = {
    "type": "object",
    "patternProperties": {_SPEC_KEY: {"type": ["string", "number"], "maxLength": 255}},
    "additionalProperties": False,
}
_SPECS_CREATE = {
    "type": "object",
    "properties": {"extra_specs": _SPECS},
    "required": ["extra_specs"],
    "additionalProperties": False,
}
_SPECS_UPDATE = {**_SPECS, "minProperties": 1, "maxProperties": 1}


SCHEMAS: Versioned = {
    "flavor_create": ((V(2, 1), _CREATE), (V(2, 55), _CREATE_V255), (V(2, 102), _CREATE_V2102)),
    "flavor_update": ((V(2, 55), _UPDATE),),
    "flavor_index_query": ((V(2, 1), _INDEX_QUERY), (V(2, 75), _INDEX_QUERY_V275),
                           (V(2, 102), _INDEX_QUERY_V2102)),
    "flavor_show_query": NO_QUERY_FROM_2102,
    "flavor_access_query": NO_QUERY_FROM_2102,
    "flavor_add_access": ((V(2, 1), _access_schema("addTenantAccess")),),
    "flavor_remove_access": ((V(2, 1), _access_schema("removeTenantAccess")),),
    "extra_specs_query": NO_QUERY_FROM_2102,
    "extra_specs_create": ((V(2, 1), _SPECS_CREATE),),
    "extra_specs_update": ((V(2, 1), _SPECS_UPDATE),),
}
