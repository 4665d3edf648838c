"""The server action ``injectNetworkInfo`` (admins; 202, no body) and the removed
``resetNetwork`` (410), rows of the server action table."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.routing import Call, empty_response
from emulator.compute.admin_actions import AdminActions


class AdminActionsController:
    def __init__(self, actions: AdminActions) -> None:
        self.actions = actions

    async def inject_network_info(self, call: Call, _payload: Any) -> Response:
        common.check_body(call, "inject_network_info")
        self.actions.inject_network_info(common.context(call), call.params["server_id"])
        return empty_response(202)
