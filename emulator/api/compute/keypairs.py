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

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.keypairs import SSH, KeyPairRecord, KeyPairService, NewKeyPair


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
        common.check_query(call, "keypair_index_query")
        paged = call.version >= V(2, 35)
        limit, marker = common.limit_and_marker(call) if paged else (None, None)
        found = self.keypairs.list_keypairs(common.context(call), self._user_id(call),
                                            limit=limit, marker=marker)
        items = [{"keypair": self._item(call, kp)} for kp in found]
        if not paged:
            return json_response({"keypairs": items})
        last = found[-1].name if found else None
        return json_response(common.page_body(call, "keypairs", "os-keypairs", items, last))

    async def show(self, call: Call) -> Response:
        common.check_query(call, "keypair_query")
        kp = self.keypairs.get(common.context(call), call.params["keypair_name"],
                               self._user_id(call))
        return json_response({"keypair": self._shown(call, kp)})

    async def create(self, call: Call) -> Response:
        common.check_body(call, "keypair_create")
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
        common.check_query(call, "keypair_query")
        self.keypairs.delete(common.context(call), call.params["keypair_name"],
                             self._user_id(call))
        return empty_response(204 if call.version >= V(2, 2) else 202)
