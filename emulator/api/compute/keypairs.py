"""Key pairs (``/os-keypairs``): create or import, list, show, delete, per microversion.

| version | change |
|---|---|
| 2.2 | ``type`` (ssh/x509) in requests and every view; create 200 -> 201, delete 202 -> 204 |
| 2.10 | admins name another user: ``user_id`` in the create body, ``?user_id=`` elsewhere |
| 2.35 | list paging: ``limit``, ``marker`` (a name), ``keypairs_links`` |
| 2.75 | unknown query parameters -> 400 |
| 2.92 | ``public_key`` required (no generation); names may contain ``@`` and ``.`` |
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.schemas import parameter_types as types
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.keypairs import KEY_TYPES, SSH, KeyPairRecord, KeyPairService, NewKeyPair

# -- request schemas (nova/api/openstack/compute/schemas/keypairs.py) ----------------------


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

#: Create schemas by first version, oldest first.
CREATE_SCHEMAS: list[tuple[APIVersion, dict[str, Any]]] = [
    (V(2, 1), _CREATE), (V(2, 2), _CREATE_V22), (V(2, 10), _CREATE_V210),
    (V(2, 92), _CREATE_V292),
]

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

_INDEX_QUERIES: list[tuple[APIVersion, Mapping[str, Any]]] = [
    (V(2, 1), _ANY_QUERY), (V(2, 10), _QUERY_V210), (V(2, 35), _INDEX_QUERY_V235),
    (V(2, 75), _INDEX_QUERY_V275),
]
#: Show and delete take the same query parameters.
_ITEM_QUERIES: list[tuple[APIVersion, Mapping[str, Any]]] = [
    (V(2, 1), _ANY_QUERY), (V(2, 10), _QUERY_V210), (V(2, 75), _QUERY_V275),
]


def create_schema(version: APIVersion) -> dict[str, Any]:
    """The create body schema in force at ``version``."""
    chosen = CREATE_SCHEMAS[0][1]
    for since, schema in CREATE_SCHEMAS:
        if version >= since:
            chosen = schema
    return chosen


class KeypairsController:
    def __init__(self, keypairs: KeyPairService) -> None:
        self.keypairs = keypairs

    # -- views ---------------------------------------------------------------------------

    @staticmethod
    def _typed(call: Call, view: dict[str, Any], kp: KeyPairRecord) -> dict[str, Any]:
        if call.version >= V(2, 2):
            view["type"] = kp.type
        return view

    def _item(self, call: Call, kp: KeyPairRecord) -> dict[str, Any]:
        """A list item (wrapped in ``{"keypair": ...}`` by the caller)."""
        return self._typed(call, {"name": kp.name, "public_key": kp.public_key,
                                  "fingerprint": kp.fingerprint}, kp)

    def _created(self, call: Call, kp: KeyPairRecord) -> dict[str, Any]:
        view: dict[str, Any] = {"name": kp.name, "public_key": kp.public_key,
                                "fingerprint": kp.fingerprint, "user_id": kp.user_id}
        if kp.private_key is not None:
            view["private_key"] = kp.private_key
        return self._typed(call, view, kp)

    def _shown(self, call: Call, kp: KeyPairRecord) -> dict[str, Any]:
        # NOTE: Nova still shows its soft-delete columns; key pairs are never soft-deleted
        # nor updated, so they are constant.
        return self._typed(call, {
            "name": kp.name,
            "public_key": kp.public_key,
            "fingerprint": kp.fingerprint,
            "user_id": kp.user_id,
            "created_at": kp.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
            "deleted": False,
            "deleted_at": None,
            "id": kp.id,
            "updated_at": None,
        }, kp)

    # -- handlers ------------------------------------------------------------------------

    @staticmethod
    def _user_id(call: Call) -> str | None:
        """``?user_id=`` from 2.10 (the *first* value, as Nova reads it); empty means self."""
        if call.version < V(2, 10):
            return None
        values = call.request.query_params.getlist("user_id")
        return (values[0] or None) if values else None

    async def index(self, call: Call) -> Response:
        common.check_query(call, _INDEX_QUERIES)
        paged = call.version >= V(2, 35)
        limit, marker = common.limit_and_marker(call) if paged else (None, None)
        found = self.keypairs.list_keypairs(common.context(call), self._user_id(call),
                                            limit=limit, marker=marker)
        body: dict[str, Any] = {"keypairs": [{"keypair": self._item(call, kp)} for kp in found]}
        if paged:
            last = found[-1].name if found else None
            next_links = common.next_links(call, "os-keypairs", len(found), last)
            if next_links:
                body["keypairs_links"] = next_links
        return json_response(body)

    async def show(self, call: Call) -> Response:
        common.check_query(call, _ITEM_QUERIES)
        kp = self.keypairs.get(common.context(call), call.params["keypair_name"],
                               self._user_id(call))
        return json_response({"keypair": self._shown(call, kp)})

    async def create(self, call: Call) -> Response:
        validate_body(create_schema(call.version), call.body)
        data = call.body["keypair"]
        new = NewKeyPair(
            name=data["name"].strip(),
            type=data.get("type", SSH),
            public_key=data.get("public_key"),
            user_id=data.get("user_id") or None,
        )
        kp = self.keypairs.create(common.context(call), new)
        status = 201 if call.version >= V(2, 2) else 200
        return json_response({"keypair": self._created(call, kp)}, status=status)

    async def delete(self, call: Call) -> Response:
        common.check_query(call, _ITEM_QUERIES)
        self.keypairs.delete(common.context(call), call.params["keypair_name"],
                             self._user_id(call))
        return empty_response(204 if call.version >= V(2, 2) else 202)
