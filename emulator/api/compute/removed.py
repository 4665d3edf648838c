"""What Nova removed but still routes: every such route answers 410 ``computeFault``
(``This resource is no longer available.  No forwarding address is given.``) at every
microversion, before any policy or lookup (the XenAPI, nova-network and cells v1 APIs:
agents, cells, certificates, cloudpipe, fixed IPs, floating IP DNS and bulk, fping,
default security group rules, server consoles and virtual interfaces, the write routes
of networks and tenant networks, the server action ``resetNetwork``); and the bare-metal
node proxy's write routes (until 2.35), which Nova answers with a 400 pointing at Ironic.
An action route still needs a body naming one action it knows (else Nova's 400s).
"""

from __future__ import annotations

from typing import Any, NoReturn

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import ActionTable, V
from emulator.api.faults import Fault
from emulator.api.routing import Call

BASE = V(2, 1)
#: The last version of the bare-metal node proxy (Nova's MAX_PROXY_API_SUPPORT_VERSION).
MAX_BAREMETAL_VERSION = V(2, 35)


async def gone(call: Call) -> NoReturn:
    raise Fault(410)


async def gone_action(call: Call, _payload: Any) -> NoReturn:
    raise Fault(410)


def _use_ironic(command: str) -> NoReturn:
    raise Fault(400, f"Command not supported. Please use Ironic command {command} to "
                     "perform this action.")


async def _port_create(call: Call, _payload: Any) -> NoReturn:
    _use_ironic("port-create")


async def _port_delete(call: Call, _payload: Any) -> NoReturn:
    _use_ironic("port-delete")


#: ``POST /os-networks/{id}/action`` (the actions of networks and networks_associate).
NETWORK_ACTIONS: ActionTable = {name: (BASE, gone_action) for name in (
    "disassociate", "disassociate_host", "disassociate_project", "associate_host")}
#: ``POST /os-fixed-ips/{id}/action``.
FIXED_IP_ACTIONS: ActionTable = {name: (BASE, gone_action) for name in ("reserve", "unreserve")}
#: ``POST /os-baremetal-nodes/{id}/action`` (until 2.35).
BAREMETAL_ACTIONS: ActionTable = {"add_interface": (BASE, _port_create),
                                  "remove_interface": (BASE, _port_delete)}


async def network_action(call: Call) -> Response:
    return await common.dispatch_action(call, NETWORK_ACTIONS)


async def fixed_ip_action(call: Call) -> Response:
    return await common.dispatch_action(call, FIXED_IP_ACTIONS)


async def baremetal_create(call: Call) -> NoReturn:
    _use_ironic("node-create")


async def baremetal_delete(call: Call) -> NoReturn:
    _use_ironic("node-delete")


async def baremetal_action(call: Call) -> Response:
    return await common.dispatch_action(call, BAREMETAL_ACTIONS)
