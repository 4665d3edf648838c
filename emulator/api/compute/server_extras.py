"""Rescue, shelve, deferred delete and consoles: more rows of the action table, and the
routes under ``/servers/{id}`` that come with them (remote consoles, the server password,
diagnostics).

The state-changing actions go through the transition table like every other action; the
read-only ones (console output, console URLs, diagnostics) apply Nova's
``check_instance_host`` and ask the backend.

NOTE: console URLs point at the emulator itself (``emulator.api.console_proxy``), which
serves noVNC's WebSocket; SPICE, serial and MKS URLs have nothing behind them yet.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from backends.base import InstanceNotFound, PowerState
from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.schemas.parameter_types import NAME
from emulator.api.console_proxy import console_base_url, console_port
from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body
from emulator.api.routing import Call, base_url, empty_response, json_response
from emulator.compute.actions import TRANSITIONS
from emulator.compute.consoles import ConsoleTokens
from emulator.compute.lifecycle import Lifecycle, instance_spec
from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.servers import ServerRecord, ServerService, generate_password, now
from emulator.context import RequestContext
from emulator.errors import Conflict, InvalidInput

Handler = Callable[[Call, Any], Awaitable[Response]]

#: Nova's ``parameter_types.image_id``.
_IMAGE_ID = {"type": "string", "format": "uuid"}
_RESCUE = {
    "type": "object",
    "properties": {"rescue": {"type": ["object", "null"],
                              "properties": {"adminPass": {"type": "string"},
                                             "rescue_image_ref": _IMAGE_ID},
                              "additionalProperties": False}},
    "required": ["rescue"], "additionalProperties": False,
}
_UNSHELVE_V277 = {
    "type": "object",
    "properties": {"unshelve": {"type": ["object", "null"],
                                "properties": {"availability_zone": NAME},
                                "required": ["availability_zone"],
                                "additionalProperties": False}},
    "required": ["unshelve"], "additionalProperties": False,
}
_UNSHELVE_V291 = {
    "type": "object",
    "properties": {"unshelve": {"type": ["object", "null"],
                                "properties": {"availability_zone": {"type": ["string", "null"]},
                                               "host": {"type": "string"}},
                                "additionalProperties": False}},
    "required": ["unshelve"], "additionalProperties": False,
}
_CONSOLE_OUTPUT = {
    "type": "object",
    "properties": {"os-getConsoleOutput": {
        "type": "object",
        "properties": {"length": {"type": ["integer", "string", "null"],
                                  "pattern": "^-?[0-9]+$", "minimum": -1}},
        "additionalProperties": False}},
    "required": ["os-getConsoleOutput"], "additionalProperties": False,
}


def _legacy_console_schema(action: str, types: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {action: {"type": "object",
                                "properties": {"type": {"type": "string", "enum": types}},
                                "required": ["type"], "additionalProperties": False}},
        "required": [action], "additionalProperties": False,
    }


def _remote_console_schema(protocols: list[str], types: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"remote_console": {
            "type": "object",
            "properties": {"protocol": {"type": "string", "enum": protocols},
                           "type": {"type": "string", "enum": types}},
            "required": ["protocol", "type"], "additionalProperties": False}},
        "required": ["remote_console"], "additionalProperties": False,
    }


_V26_TYPES = ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"]
#: (first microversion, schema) of ``POST /servers/{id}/remote-consoles``, newest first.
_REMOTE_CONSOLE = (
    (V(2, 99), _remote_console_schema(["vnc", "spice", "serial", "rdp", "mks"],
                                      [*_V26_TYPES, "webmks", "spice-direct"])),
    (V(2, 8), _remote_console_schema(["vnc", "spice", "serial", "rdp", "mks"],
                                     [*_V26_TYPES, "webmks"])),
    (V(2, 6), _remote_console_schema(["vnc", "spice", "serial", "rdp"], _V26_TYPES)),
)
#: Console types each protocol serves (Nova's compute manager; xvpvnc went with XenAPI).
CONSOLE_TYPES: dict[str, frozenset[str]] = {
    "vnc": frozenset({"novnc"}),
    "spice": frozenset({"spice-html5", "spice-direct"}),
    "serial": frozenset({"serial"}),
    "mks": frozenset({"webmks"}),
}
#: Nova's compute API method per protocol (it names the action in a state conflict).
_CONSOLE_METHODS = {"vnc": "get_vnc_console", "spice": "get_spice_console",
                    "serial": "get_serial_console", "mks": "get_mks_console"}
LEGACY_CONSOLES_MAX = V(2, 5)
#: webob's ``HTTPBadRequest`` explanation (the removed RDP console's only answer).
BAD_REQUEST = ("The server could not comply with the request since it is either malformed "
               "or otherwise incorrect.")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")
#: Nova's ``power_state.STATE_MAP`` (the diagnostics conflict names the power state).
POWER_NAMES = {0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed",
               7: "suspended"}


def not_ready(server_id: str) -> Conflict:
    """Nova's ``InstanceNotReady`` (``check_instance_host``), a 409."""
    return Conflict(f"Instance {server_id} is not ready")


def tail(log: str, length: Any) -> str:
    """Nova's ``_tail_log``: the last ``length`` lines (None: everything; 0: nothing).

    NOTE: as in Nova, -1 takes ``lines[1:]`` (all but the first line), not "unlimited".
    """
    if length is None:
        return log
    count = int(length)
    if count == 0:
        return ""
    return "\n".join(log.split("\n")[-count:])


def soft_delete(servers: ServerService, lifecycle: Lifecycle, ctx: RequestContext,
                server_id: str) -> bool:
    """``DELETE /servers/{id}`` with ``reclaim_instance_interval`` > 0: a soft delete, as
    Nova's API does, unless the server never launched (then False: delete it outright)."""
    if lifecycle.reclaim_instance_interval <= 0:
        return False
    found = servers.instance(server_id)
    if found is None or found.deleted or found.launched_at is None:
        return False
    transition = TRANSITIONS["soft_delete"]
    row = servers.accept_action(ctx, server_id, transition, "os_compute_api:servers:delete",
                                changes=lambda _row: {"deleted_at": now()})
    lifecycle.act(row, ctx.request_id, transition)
    lifecycle.reclaim_later(row.uuid)
    return True


class ExtraActions:
    """Action-table entries: rescue/unrescue, shelve/shelveOffload/unshelve, restore,
    os-getConsoleOutput and the legacy (2.1-2.5) console actions."""

    def __init__(self, servers: ServerService, lifecycle: Lifecycle) -> None:
        self.servers = servers
        self.lifecycle = lifecycle

    def table(self) -> dict[str, tuple[APIVersion, Handler]]:
        return {
            "rescue": (V(2, 1), self.rescue),
            "unrescue": (V(2, 1), self._simple("unrescue", "os_compute_api:os-unrescue")),
            "shelve": (V(2, 1), self._simple("shelve", "os_compute_api:os-shelve:shelve")),
            "shelveOffload": (V(2, 1), self._simple(
                "shelve_offload", "os_compute_api:os-shelve:shelve_offload")),
            "unshelve": (V(2, 1), self.unshelve),
            "restore": (V(2, 1), self.restore),
            "os-getConsoleOutput": (V(2, 1), self.console_output),
            "os-getVNCConsole": (V(2, 1), self._legacy("vnc", "os-getVNCConsole",
                                                       ["novnc", "xvpvnc"])),
            "os-getSPICEConsole": (V(2, 1), self._legacy("spice", "os-getSPICEConsole",
                                                         ["spice-html5"])),
            "os-getSerialConsole": (V(2, 1), self._legacy("serial", "os-getSerialConsole",
                                                          ["serial"])),
            "os-getRDPConsole": (V(2, 1), self.rdp_console),
        }

    def _run(self, call: Call, key: str, rule: str,
             changes: Callable[[Instance], dict[str, Any]] | None = None,
             **arguments: Any) -> Instance:
        return common.accept_and_act(self.servers, self.lifecycle, call, key, rule, changes,
                                     **arguments)

    def _simple(self, key: str, rule: str) -> Handler:
        async def handler(call: Call, _payload: Any) -> Response:
            self._run(call, key, rule)
            return empty_response(202)

        return handler

    # -- rescue --------------------------------------------------------------------------

    async def rescue(self, call: Call, payload: Any) -> Response:
        validate_body(_RESCUE, call.body)
        options = payload or {}
        password = options.get("adminPass") or generate_password()
        image_ref = options.get("rescue_image_ref")
        ctx = common.context(call)

        def checked(row: Instance) -> dict[str, Any]:
            if image_ref is not None and self.servers.images(ctx, image_ref) is None:
                raise InvalidInput(f"Requested rescue image '{image_ref}' is not supported")
            if not row.image_ref and call.version < V(2, 87):
                raise InvalidInput(f"Instance {row.uuid} cannot be rescued: Cannot rescue a "
                                   "volume-backed instance")
            return {}

        self._run(call, "rescue", "os_compute_api:os-rescue", changes=checked,
                  password=password, rescue_image_id=image_ref)
        return json_response({"adminPass": password})

    # -- shelve --------------------------------------------------------------------------

    async def unshelve(self, call: Call, payload: Any) -> Response:
        if call.version >= V(2, 91):
            validate_body(_UNSHELVE_V291, call.body)
        elif call.version >= V(2, 77):
            validate_body(_UNSHELVE_V277, call.body)
        options = payload if isinstance(payload, dict) else {}
        zone_passed = call.version >= V(2, 77) and "availability_zone" in options
        zone = options.get("availability_zone") if zone_passed else None
        host = options.get("host") if call.version >= V(2, 91) else None
        ctx = common.context(call)

        def checked(row: Instance) -> dict[str, Any]:
            """Nova's ``unshelve`` after the state check: only an offloaded server may
            change zone or host; the zone must exist; a host is admin-only, must exist and
            be in the zone the server will be in."""
            if (zone_passed or host) and row.vm_state != "shelved_offloaded":
                raise Conflict(
                    "Specifying an availability zone or a host when unshelving server "
                    f'"{row.uuid}" with status "{row.vm_state}" is not supported. The server '
                    "status must be SHELVED_OFFLOADED.")
            hosts = {h.name: h.availability_zone for h in self.servers.backend.hosts()}
            if zone_passed and zone and zone not in set(hosts.values()):
                raise InvalidInput("The requested availability zone is not available")
            expected = zone if zone_passed else row.requested_availability_zone
            if host:
                authorize(ctx, "os_compute_api:os-shelve:unshelve_to_host", row.project_id)
                if host not in hosts:
                    raise InvalidInput(f"Compute host {host} could not be found.")
                if expected is not None and hosts[host] != expected:
                    raise Conflict(f'Host "{host}" is not in the availability zone '
                                   f'"{expected}".')
            if zone_passed:
                return {"requested_availability_zone": zone, "pinned_availability_zone": zone}
            return {}

        self._run(call, "unshelve", "os_compute_api:os-shelve:unshelve", changes=checked,
                  destination=host)
        return empty_response(202)

    # -- deferred delete -----------------------------------------------------------------

    async def restore(self, call: Call, _payload: Any) -> Response:
        row = self._run(call, "restore", "os_compute_api:os-deferred-delete:restore",
                        changes=lambda _row: {"deleted_at": None})
        self.lifecycle.cancel_reclaim(row.uuid)
        return empty_response(202)

    # -- consoles ------------------------------------------------------------------------

    def _hosted(self, call: Call, rule: str) -> ServerRecord:
        """The server (404), ``rule`` (403), then Nova's ``check_instance_host`` (409)."""
        record = self.servers.server(common.context(call), call.params["server_id"], rule)
        if not record.instance.host:
            raise not_ready(record.uuid)
        return record

    async def console_output(self, call: Call, payload: Any) -> Response:
        record = self._hosted(call, "os_compute_api:os-console-output")
        validate_body(_CONSOLE_OUTPUT, call.body)
        addresses = tuple((a.network_name, a.address, a.mac_address or "")
                          for a in record.addresses)
        try:
            log = await self.lifecycle.backend.get_console_output(
                instance_spec(record.instance, addresses=addresses))
        except InstanceNotFound:
            raise Fault(404, f"Instance {record.uuid} could not be found.") from None
        output = tail(log, payload.get("length"))
        return json_response({"output": _CONTROL.sub("", output)})

    def _legacy(self, protocol: str, action: str, types: list[str]) -> Handler:
        schema = _legacy_console_schema(action, types)

        async def handler(call: Call, payload: Any) -> Response:
            if call.version > LEGACY_CONSOLES_MAX:
                raise Fault(404)
            validate_body(schema, call.body)
            console_type = payload["type"]
            url = console_url(self.servers, call, protocol, console_type, legacy=True)
            return json_response({"console": {"type": console_type, "url": url}})

        return handler

    async def rdp_console(self, call: Call, _payload: Any) -> Response:
        """Removed with the Hyper-V driver (Nova 29.0.0): always a 400."""
        if call.version > LEGACY_CONSOLES_MAX:
            raise Fault(404)
        raise Fault(400, BAD_REQUEST)


def console_url(servers: ServerService, call: Call, protocol: str, console_type: str,
                legacy: bool = False) -> str:
    """A console URL for the server, after Nova's checks: the server (404), policy (403),
    a host (409), no delete or migration under way, a type the protocol serves (400).
    The URL carries a new console auth token (``emulator.compute.consoles``)."""
    ctx = common.context(call)
    record = servers.server(ctx, call.params["server_id"], "os_compute_api:os-remote-consoles")
    row = record.instance
    if not row.host:
        raise not_ready(row.uuid)
    method = _CONSOLE_METHODS[protocol]
    if row.task_state in ("deleting", "migrating"):
        if legacy and protocol == "vnc":
            raise Conflict(f"Cannot '{method}' instance {row.uuid} while it is in task_state "
                           f"{row.task_state}")
        raise InvalidInput(f"Instance {row.uuid} in task_state {row.task_state}. Cannot "
                           f"{method} while the instance is in this state.")
    if console_type not in CONSOLE_TYPES[protocol]:
        raise InvalidInput(f"Invalid console type {console_type}")
    tokens = ConsoleTokens(servers.db)
    return tokens.authorize(row.uuid, console_type, row.host, console_port(console_type),
                            console_base_url(base_url(call.request), console_type))


class ServerExtrasController:
    """``/servers/{id}/remote-consoles`` (2.6+), ``os-server-password``, ``diagnostics``."""

    def __init__(self, servers: ServerService, lifecycle: Lifecycle) -> None:
        self.servers = servers
        self.lifecycle = lifecycle

    async def remote_console(self, call: Call) -> Response:
        schema = next(s for since, s in _REMOTE_CONSOLE if call.version >= since)
        ctx = common.context(call)
        # Nova reads the server (404) and checks the policy (403) before the body.
        self.servers.server(ctx, call.params["server_id"], "os_compute_api:os-remote-consoles")
        validate_body(schema, call.body)
        protocol = call.body["remote_console"]["protocol"]
        console_type = call.body["remote_console"]["type"]
        if protocol == "rdp":
            raise Fault(400, f"Unavailable console type {protocol}.")
        url = console_url(self.servers, call, protocol, console_type)
        return json_response({"remote_console": {"protocol": protocol, "type": console_type,
                                                 "url": url}})

    async def password_show(self, call: Call) -> Response:
        """The password the guest posted to the metadata service: none here (no metadata
        service yet), so always Nova's empty answer."""
        ctx = common.context(call)
        self.servers.server(ctx, call.params["server_id"], "os_compute_api:os-server-password:show")
        return json_response({"password": ""})

    async def password_clear(self, call: Call) -> Response:
        ctx = common.context(call)
        self.servers.server(ctx, call.params["server_id"],
                            "os_compute_api:os-server-password:clear")
        return empty_response(204)

    async def diagnostics(self, call: Call) -> Response:
        ctx = common.context(call)
        record = self.servers.server(ctx, call.params["server_id"],
                                     "os_compute_api:os-server-diagnostics")
        row = record.instance
        if not row.host:
            raise not_ready(row.uuid)
        if row.power_state != int(PowerState.RUNNING):
            state = POWER_NAMES.get(row.power_state, str(row.power_state))
            raise Conflict(f"Cannot 'get_diagnostics' instance {row.uuid} while it is in "
                           f"power state {state}")
        addresses = tuple((a.network_name, a.address, a.mac_address or "")
                          for a in record.addresses)
        try:
            found = await self.lifecycle.backend.get_diagnostics(
                instance_spec(row, addresses=addresses))
        except InstanceNotFound:
            raise Fault(404, f"Instance {row.uuid} could not be found.") from None
        if call.version < V(2, 48):
            return json_response(dict(found.legacy))
        return json_response({
            "state": found.state, "driver": found.driver, "hypervisor": found.hypervisor,
            "hypervisor_os": found.hypervisor_os, "uptime": found.uptime,
            "config_drive": found.config_drive,
            "num_cpus": len(found.cpu_details), "num_nics": len(found.nic_details),
            "num_disks": len(found.disk_details),
            "cpu_details": [dict(c) for c in found.cpu_details],
            "nic_details": [dict(n) for n in found.nic_details],
            "disk_details": [dict(d) for d in found.disk_details],
            "memory_details": {"maximum": found.memory_maximum, "used": found.memory_used},
        })
