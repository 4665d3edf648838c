"""Request schemas of ``/os-keypairs`` (``nova/api/openstack/compute/schemas/keypairs.py``),
per microversion."""

from __future__ import annotations

import copy
from typing import Any

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.versions import V, Versioned
from emulator.compute.keypairs import KEY_TYPES


def _name(pattern: str) -> dict[str, Any]:
    """A printable ``name`` that also matches ``pattern`` (both must hold)."""
    return {"allOf": [
        types.NAME,
        {"type": "string", "pattern": pattern, "minLength": 1, "maxLength": 255},
    ]}


_NAME = _name(r"^[_\- a-zA-Z0-9]+$")
_NAME_V292 = _name(r"^[_\-\@\. a-zA-Z0-9]+$")

_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "keypair": {
            "type": "object",
            "properties": {
                "name": _NAME,
                "public_key": {"type": "string"},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "required": ["keypair"],
    "additionalProperties": False,
}
_CREATE_V22 = copy.deepcopy(_CREATE)
_CREATE_V22["properties"]["keypair"]["properties"]["type"] = {
    "type": "string", "enum": list(KEY_TYPES),
}
_CREATE_V210 = copy.deepcopy(_CREATE_V22)
_CREATE_V210["properties"]["keypair"]["properties"]["user_id"] = {"type": "string"}
_CREATE_V292 = copy.deepcopy(_CREATE_V210)
_CREATE_V292["properties"]["keypair"]["properties"]["name"] = _NAME_V292
_CREATE_V292["properties"]["keypair"]["required"] = ["name", "public_key"]


# NOTE: before 2.10 every query parameter is ignored (``user_id`` included), before 2.35
# ``limit`` and ``marker`` are, and from 2.75 unknown ones are refused.
_ANY_QUERY: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": True}
_QUERY_V210: dict[str, Any] = {
    "type": "object",
    "properties": {"user_id": types.multi({"type": "string"})},
    "additionalProperties": True,
}
_QUERY_V275 = {**copy.deepcopy(_QUERY_V210), "additionalProperties": False}
_INDEX_QUERY_V235 = copy.deepcopy(_QUERY_V210)
_INDEX_QUERY_V235["properties"].update({
    "limit": types.multi(types.NON_NEGATIVE_INTEGER),
    "marker": types.multi({"type": "string"}),
})
_INDEX_QUERY_V275 = {**copy.deepcopy(_INDEX_QUERY_V235), "additionalProperties": False}


SCHEMAS: Versioned = {
    "keypair_create": ((V(2, 1), _CREATE), (V(2, 2), _CREATE_V22), (V(2, 10), _CREATE_V210),
                       (V(2, 92), _CREATE_V292)),
    "keypair_index_query": ((V(2, 1), _ANY_QUERY), (V(2, 10), _QUERY_V210),
                            (V(2, 35), _INDEX_QUERY_V235), (V(2, 75), _INDEX_QUERY_V275)),
    # Show and delete take the same query parameters.
    "keypair_query": ((V(2, 1), _ANY_QUERY), (V(2, 10), _QUERY_V210), (V(2, 75), _QUERY_V275)),
}
