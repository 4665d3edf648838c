"""``POST /servers/{id}/action``: the action table (body key -> first microversion,
handler) and the handlers of the actions that change a server's power, lock or state.

Each handler validates its body against the schema table, makes one domain call (the
transition table in ``emulator.compute.actions`` decides whether the action may start
and what it ends in) and answers. Disk and image actions are in ``server_disk_actions``,
console actions in ``server_consoles``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common, removed
from emulator.api.compute.admin_actions import AdminActionsController
from emulator.api.compute.common import ActionHandler, ActionTable, V
from emulator.api.compute.server_consoles import ServerConsolesController
from emulator.api.compute.server_disk_actions import DiskActions
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.operations import ServerOperations, Unshelve
from emulator.context import RequestContext

#: ``operation(ctx, server_id)``: a domain entry that takes nothing else.
Simple = Callable[[RequestContext, str], None]


class ServerActions:
    def __init__(self, operations: ServerOperations) -> None:
        self.operations = operations

    @staticmethod
    def _simple(operation: Simple, schema: str | None = None,
                status: int = 202) -> ActionHandler:
        """A handler that validates the body (when the action has a schema) and calls
        ``operation`` with the server id alone."""
        async def handler(call: Call, _payload: Any) -> Response:
            if schema is not None:
                common.check_body(call, schema)
            operation(common.context(call), call.params["server_id"])
            return empty_response(status)

        return handler

    async def reboot(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "reboot")
        self.operations.reboot(common.context(call), call.params["server_id"],
                               hard=str(payload["type"]).upper() == "HARD")
        return empty_response(202)

    async def lock(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "lock")
        reason = payload.get("locked_reason") if isinstance(payload, dict) and \
            call.version >= V(2, 73) else None
        self.operations.lock(common.context(call), call.params["server_id"], reason)
        return empty_response(202)

    async def change_password(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "change_password")
        self.operations.change_password(common.context(call), call.params["server_id"],
                                        payload["adminPass"])
        return empty_response(202)

    async def reset_state(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "reset_state")
        self.operations.reset_state(common.context(call), call.params["server_id"],
                                    payload["state"])
        return empty_response(202)

    async def rescue(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "rescue")
        options = payload or {}
        password = self.operations.rescue(
            common.context(call), call.params["server_id"], options.get("adminPass"),
            options.get("rescue_image_ref"), volume_backed=call.version >= V(2, 87))
        return json_response({"adminPass": password})

    async def unshelve(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "unshelve")
        options = payload if isinstance(payload, dict) else {}
        zone_given = call.version >= V(2, 77) and "availability_zone" in options
        request = Unshelve(zone_given=zone_given,
                           zone=options.get("availability_zone") if zone_given else None,
                           host=options.get("host") if call.version >= V(2, 91) else None)
        self.operations.unshelve(common.context(call), call.params["server_id"], request)
        return empty_response(202)

    def table(self, disk: DiskActions, consoles: ServerConsolesController,
              admin: AdminActionsController) -> ActionTable:
        """Every action of ``POST /servers/{id}/action``, as Nova's servers controller and
        its companions (admin actions, deferred delete, lock, pause, rescue, shelve,
        suspend, consoles) accept them: body key -> (first microversion, handler)."""
        ops, simple, base = self.operations, self._simple, V(2, 1)
        return {
            "os-stop": (base, simple(ops.stop, "stop")),
            "os-start": (base, simple(ops.start, "start")),
            "reboot": (base, self.reboot),
            "pause": (base, simple(ops.pause)),
            "unpause": (base, simple(ops.unpause)),
            "suspend": (base, simple(ops.suspend)),
            "resume": (base, simple(ops.resume)),
            "lock": (base, self.lock),
            "unlock": (base, simple(ops.unlock)),
            "changePassword": (base, self.change_password),
            "trigger_crash_dump": (V(2, 17), simple(ops.trigger_crash_dump,
                                                    "trigger_crash_dump")),
            "os-resetState": (base, self.reset_state),
            "rescue": (base, self.rescue),
            "unrescue": (base, simple(ops.unrescue)),
            "shelve": (base, simple(ops.shelve)),
            "shelveOffload": (base, simple(ops.shelve_offload)),
            "unshelve": (base, self.unshelve),
            "restore": (base, simple(ops.restore)),
            "forceDelete": (base, simple(ops.force_delete)),
            "rebuild": (base, disk.rebuild),
            "resize": (base, disk.resize),
            "confirmResize": (base, disk.confirm_resize),
            "revertResize": (base, disk.revert_resize),
            "createImage": (base, disk.create_image),
            "createBackup": (base, disk.create_backup),
            "os-getConsoleOutput": (base, consoles.console_output),
            "os-getVNCConsole": (base, consoles.legacy("vnc", "get_vnc_console")),
            "os-getSPICEConsole": (base, consoles.legacy("spice", "get_spice_console")),
            "os-getSerialConsole": (base, consoles.legacy("serial", "get_serial_console")),
            "os-getRDPConsole": (base, consoles.rdp_console),
            "injectNetworkInfo": (base, admin.inject_network_info),
            "resetNetwork": (base, removed.gone_action),
        }
