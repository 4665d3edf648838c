"""``GET /os-console-auth-tokens/{token}`` (admin): what a console token authorizes.

Nova's rules: below 2.31 always a bare 400 (the API served only RDP consoles, removed
with Hyper-V); from 2.31 the connection of any console type; from 2.99 no query
parameters, and ``tls_port`` for ``spice-direct`` consoles.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.server_consoles import BAD_REQUEST
from emulator.api.faults import Fault
from emulator.api.routing import Call, json_response
from emulator.compute.consoles import ConsoleConnection, ConsoleTokens

#: The first microversion that answers (2.31), and the one that adds ``tls_port`` (2.99).
ANSWERS, TLS_PORT = V(2, 31), V(2, 99)


def _view(found: ConsoleConnection, tls_port: bool) -> dict[str, Any]:
    console: dict[str, Any] = {
        "instance_uuid": found.instance_uuid, "host": found.host, "port": found.port,
        "internal_access_path": found.internal_access_path,
    }
    if tls_port and found.console_type == "spice-direct":
        console["tls_port"] = found.tls_port
    return {"console": console}


class ConsoleAuthTokensController:
    def __init__(self, tokens: ConsoleTokens) -> None:
        self.tokens = tokens

    async def show(self, call: Call) -> Response:
        common.check_query(call, "console_auth_token_query")
        if call.version < ANSWERS:
            raise Fault(400, BAD_REQUEST)
        found = self.tokens.show(common.context(call), call.params["token"])
        return json_response(_view(found, call.version >= TLS_PORT))
