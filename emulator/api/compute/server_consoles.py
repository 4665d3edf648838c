"""A running guest's console log, console URLs, password and diagnostics: the console
actions of ``POST /servers/{id}/action`` (``os-getConsoleOutput``, the legacy console
actions up to 2.5) and the routes ``/servers/{id}/remote-consoles`` (2.6),
``os-server-password`` and ``diagnostics``. The domain side is
``emulator.compute.console_operations``.

NOTE: console URLs point at the emulator itself (``emulator.api.console_proxy``), which
serves noVNC's WebSocket; SPICE, serial and MKS URLs have nothing behind them yet.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import ActionHandler, V
from emulator.api.console_proxy import console_base_url
from emulator.api.faults import Fault
from emulator.api.routing import Call, base_url, empty_response, json_response
from emulator.compute.console_operations import Diagnostics, ServerConsoles

LEGACY_CONSOLES_MAX = V(2, 5)
#: webob's ``HTTPBadRequest`` explanation (the removed RDP console's only answer).
BAD_REQUEST = ("The server could not comply with the request since it is either malformed "
               "or otherwise incorrect.")
#: Nova strips these from console output (XML could not carry them).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")


def diagnostics_view(found: Diagnostics, version: V) -> dict[str, Any]:
    """The driver's free-form dict before 2.48, the standard shape from 2.48."""
    if version < V(2, 48):
        return dict(found.legacy)
    return {
        "state": found.state, "driver": found.driver, "hypervisor": found.hypervisor,
        "hypervisor_os": found.hypervisor_os, "uptime": found.uptime,
        "config_drive": found.config_drive,
        "num_cpus": len(found.cpu_details), "num_nics": len(found.nic_details),
        "num_disks": len(found.disk_details),
        "cpu_details": [dict(c) for c in found.cpu_details],
        "nic_details": [dict(n) for n in found.nic_details],
        "disk_details": [dict(d) for d in found.disk_details],
        "memory_details": {"maximum": found.memory_maximum, "used": found.memory_used},
    }


class ServerConsolesController:
    def __init__(self, consoles: ServerConsoles) -> None:
        self.consoles = consoles

    # -- actions -------------------------------------------------------------------------

    async def console_output(self, call: Call, payload: Any) -> Response:
        # Nova reads the server and checks its host before the body.
        ctx, server_id = common.context(call), call.params["server_id"]
        self.consoles.check_console_output(ctx, server_id)
        common.check_body(call, "console_output")
        length = payload.get("length")
        output = await self.consoles.console_output(
            ctx, server_id, int(length) if length is not None else None)
        return json_response({"output": _CONTROL.sub("", output)})

    def legacy(self, protocol: str, schema: str) -> ActionHandler:
        """``os-getVNCConsole`` and its kin: removed after 2.5 (404)."""
        async def handler(call: Call, payload: Any) -> Response:
            if call.version > LEGACY_CONSOLES_MAX:
                raise Fault(404)
            common.check_body(call, schema)
            console_type = payload["type"]
            url = self.consoles.console_url(
                common.context(call), call.params["server_id"], protocol, console_type,
                partial(console_base_url, base_url(call.request)), legacy=True)
            return json_response({"console": {"type": console_type, "url": url}})

        return handler

    async def rdp_console(self, call: Call, _payload: Any) -> Response:
        """Removed with the Hyper-V driver (Nova 29.0.0): always a 400."""
        if call.version > LEGACY_CONSOLES_MAX:
            raise Fault(404)
        raise Fault(400, BAD_REQUEST)

    # -- routes --------------------------------------------------------------------------

    async def remote_console(self, call: Call) -> Response:
        ctx, server_id = common.context(call), call.params["server_id"]
        # Nova reads the server (404) and checks the policy (403) before the body.
        self.consoles.check_remote_console(ctx, server_id)
        body = common.check_body(call, "remote_console")["remote_console"]
        protocol, console_type = body["protocol"], body["type"]
        if protocol == "rdp":
            raise Fault(400, f"Unavailable console type {protocol}.")
        url = self.consoles.console_url(ctx, server_id, protocol, console_type,
                                        partial(console_base_url, base_url(call.request)))
        return json_response({"remote_console": {"protocol": protocol, "type": console_type,
                                                 "url": url}})

    async def password_show(self, call: Call) -> Response:
        password = self.consoles.password(common.context(call), call.params["server_id"])
        return json_response({"password": password})

    async def password_clear(self, call: Call) -> Response:
        self.consoles.clear_password(common.context(call), call.params["server_id"])
        return empty_response(204)

    async def diagnostics(self, call: Call) -> Response:
        found = await self.consoles.diagnostics(common.context(call), call.params["server_id"])
        return json_response(diagnostics_view(found, call.version))
