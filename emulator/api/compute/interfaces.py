"""A server's network over HTTP: ``/servers/{id}/os-interface`` (list, show, attach,
detach), ``/servers/{id}/os-security-groups``, and the actions ``addFixedIp``/
``removeFixedIp``, ``addFloatingIp``/``removeFloatingIp`` (until 2.43) and
``addSecurityGroup``/``removeSecurityGroup``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import ActionTable, V
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.server_networking import Interface, ServerNetworking

#: The last microversion of the multinic and floating IP actions.
MAX_PROXY_ACTIONS = V(2, 43)


def _view(call: Call, interface: Interface) -> dict[str, Any]:
    view: dict[str, Any] = {
        "port_state": interface.port_state, "fixed_ips": list(interface.fixed_ips),
        "port_id": interface.port_id, "net_id": interface.net_id,
        "mac_addr": interface.mac_addr}
    if call.version >= V(2, 70):
        view["tag"] = interface.tag
    return view


class InterfacesController:
    def __init__(self, networking: ServerNetworking) -> None:
        self.networking = networking

    # -- os-interface --------------------------------------------------------------------

    async def index(self, call: Call) -> Response:
        found = self.networking.interfaces(common.context(call), call.params["server_id"])
        return json_response({"interfaceAttachments": [_view(call, i) for i in found]})

    async def show(self, call: Call) -> Response:
        found = self.networking.interface(common.context(call), call.params["server_id"],
                                          call.params["port_id"])
        return json_response({"interfaceAttachment": _view(call, found)})

    async def create(self, call: Call) -> Response:
        body = common.check_body(call, "interface_attach") or {}
        attachment = body.get("interfaceAttachment") or {}
        port_id, net_id = attachment.get("port_id"), attachment.get("net_id")
        fixed = [f["ip_address"] for f in attachment.get("fixed_ips") or []]
        if port_id and net_id:
            raise Fault(400, "Must not input both network_id and port_id")
        if fixed and not net_id:
            raise Fault(400, "Must input network_id when request IP address")
        made = await self.networking.attach(common.context(call), call.params["server_id"],
                                            port_id, net_id, fixed, attachment.get("tag"))
        return json_response({"interfaceAttachment": _view(call, made)})

    async def delete(self, call: Call) -> Response:
        self.networking.detach(common.context(call), call.params["server_id"],
                               call.params["port_id"])
        return empty_response(202)

    async def security_groups(self, call: Call) -> Response:
        groups = self.networking.security_groups(common.context(call),
                                                 call.params["server_id"])
        return json_response({"security_groups": groups})

    # -- actions -------------------------------------------------------------------------

    @staticmethod
    def _up_to_2_43(call: Call) -> None:
        if call.version > MAX_PROXY_ACTIONS:
            raise Fault(404)

    async def add_fixed_ip(self, call: Call, payload: Any) -> Response:
        self._up_to_2_43(call)
        common.check_body(call, "add_fixed_ip")
        await self.networking.add_fixed_ip(common.context(call), call.params["server_id"],
                                           str(payload["networkId"]))
        return empty_response(202)

    async def remove_fixed_ip(self, call: Call, payload: Any) -> Response:
        self._up_to_2_43(call)
        common.check_body(call, "remove_fixed_ip")
        await self.networking.remove_fixed_ip(common.context(call), call.params["server_id"],
                                              payload["address"])
        return empty_response(202)

    async def add_floating_ip(self, call: Call, payload: Any) -> Response:
        self._up_to_2_43(call)
        common.check_body(call, "add_floating_ip")
        await self.networking.add_floating_ip(common.context(call), call.params["server_id"],
                                              payload["address"],
                                              payload.get("fixed_address"))
        return empty_response(202)

    async def remove_floating_ip(self, call: Call, payload: Any) -> Response:
        self._up_to_2_43(call)
        common.check_body(call, "remove_floating_ip")
        await self.networking.remove_floating_ip(common.context(call),
                                                 call.params["server_id"], payload["address"])
        return empty_response(202)

    @staticmethod
    def _group_name(call: Call, schema: str, payload: Any) -> str:
        common.check_body(call, schema)
        name = str(payload["name"])
        if not name.strip():
            raise Fault(400, "Security group name cannot be empty")
        return name

    async def add_security_group(self, call: Call, payload: Any) -> Response:
        name = self._group_name(call, "add_security_group", payload)
        self.networking.add_security_group(common.context(call), call.params["server_id"],
                                           name)
        return empty_response(202)

    async def remove_security_group(self, call: Call, payload: Any) -> Response:
        name = self._group_name(call, "remove_security_group", payload)
        self.networking.remove_security_group(common.context(call), call.params["server_id"],
                                              name)
        return empty_response(202)

    def actions(self) -> ActionTable:
        base = V(2, 1)
        return {
            "addFixedIp": (base, self.add_fixed_ip),
            "removeFixedIp": (base, self.remove_fixed_ip),
            "addFloatingIp": (base, self.add_floating_ip),
            "removeFloatingIp": (base, self.remove_floating_ip),
            "addSecurityGroup": (base, self.add_security_group),
            "removeSecurityGroup": (base, self.remove_security_group),
        }
