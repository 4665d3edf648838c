"""What the API asks of a running guest and answers at once: its console log, console URLs
(and the VNC socket behind a console token), its password, its diagnostics.

These apply Nova's ``check_instance_host`` (no host: 409 "not ready") and ask the backend
directly; its errors become the domain's in ``backend_errors``.
"""

from __future__ import annotations

from collections.abc import Callable

from backends.base import ComputeBackend, Diagnostics, PowerState
from emulator.compute.backend_errors import backend_errors
from emulator.compute.consoles import ConsoleConnection, ConsoleTokens, InvalidToken
from emulator.compute.instances import Instances
from emulator.compute.records import ServerRecord, not_ready
from emulator.compute.servers import Servers
from emulator.compute.specs import instance_spec
from emulator.context import RequestContext
from emulator.errors import Conflict, EmulatorError, InvalidInput

__all__ = ["CONSOLE_TYPES", "ConsoleRefused", "Diagnostics", "ServerConsoles", "tail"]

#: Console types each protocol serves (Nova's compute manager; xvpvnc went with XenAPI).
CONSOLE_TYPES: dict[str, frozenset[str]] = {
    "vnc": frozenset({"novnc"}),
    "spice": frozenset({"spice-html5", "spice-direct"}),
    "serial": frozenset({"serial"}),
    "mks": frozenset({"webmks"}),
}
#: Nova's compute API method per protocol (it names the action in a state conflict).
CONSOLE_METHODS = {"vnc": "get_vnc_console", "spice": "get_spice_console",
                   "serial": "get_serial_console", "mks": "get_mks_console"}
#: The port a console token records per type: nominal (where a libvirt host listens); the
#: QEMU backend's displays are UNIX sockets.
CONSOLE_PORTS = {"novnc": 5900, "spice-html5": 5900, "spice-direct": 5900, "serial": 10000,
                 "webmks": 902}
#: The policies of the server-password calls.
_PASSWORD = "os_compute_api:os-server-password:"


class ConsoleRefused(EmulatorError):
    """A console connection Nova's proxy would drop (a type this proxy does not serve)."""


def tail(log: str, length: int | None) -> str:
    """Nova's ``_tail_log``: the last ``length`` lines (None: everything; 0: nothing).

    NOTE: as in Nova, -1 takes ``lines[1:]`` (all but the first line), not "unlimited".
    """
    if length is None:
        return log
    if length == 0:
        return ""
    return "\n".join(log.split("\n")[-length:])


class ServerConsoles:
    def __init__(self, servers: Servers, instances: Instances, tokens: ConsoleTokens,
                 backend: ComputeBackend) -> None:
        self.servers = servers
        self.instances = instances
        self.tokens = tokens
        self.backend = backend

    def _hosted(self, ctx: RequestContext, server_id: str, rule: str) -> ServerRecord:
        """The server (404), ``rule`` (403), then Nova's ``check_instance_host`` (409)."""
        record = self.servers.get(ctx, server_id, rule)
        if not record.instance.host:
            raise not_ready(record.uuid)
        return record

    def check_console_output(self, ctx: RequestContext, server_id: str) -> None:
        """The server (404), the policy (403), a host (409): what Nova checks before it
        reads the body."""
        self._hosted(ctx, server_id, "os_compute_api:os-console-output")

    async def console_output(self, ctx: RequestContext, server_id: str,
                             length: int | None) -> str:
        """The last ``length`` lines of the guest's serial console."""
        record = self._hosted(ctx, server_id, "os_compute_api:os-console-output")
        with backend_errors(record.uuid):
            log = await self.backend.get_console_output(
                instance_spec(record.instance, addresses=record.fixed_addresses))
        return tail(log, length)

    def console_url(self, ctx: RequestContext, server_id: str, protocol: str,
                    console_type: str, access_url_base: Callable[[str], str],
                    legacy: bool = False) -> str:
        """A console URL for the server, after Nova's checks: the server (404), policy
        (403), a host (409), no delete or migration under way, a type the protocol serves
        (400). The URL (``access_url_base(console_type)`` where the proxy of that type
        answers) carries a new console auth token."""
        row = self._hosted(ctx, server_id, "os_compute_api:os-remote-consoles").instance
        method = CONSOLE_METHODS[protocol]
        if row.task_state in ("deleting", "migrating"):
            if legacy and protocol == "vnc":
                raise Conflict(f"Cannot '{method}' instance {row.uuid} while it is in "
                               f"task_state {row.task_state}")
            raise InvalidInput(f"Instance {row.uuid} in task_state {row.task_state}. Cannot "
                               f"{method} while the instance is in this state.")
        if console_type not in CONSOLE_TYPES[protocol]:
            raise InvalidInput(f"Invalid console type {console_type}")
        assert row.host is not None
        return self.tokens.authorize(row.uuid, console_type, row.host,
                                     CONSOLE_PORTS[console_type],
                                     access_url_base(console_type))

    def check_remote_console(self, ctx: RequestContext, server_id: str) -> None:
        """The server (404) and the policy (403): what Nova checks before the body."""
        self.servers.get(ctx, server_id, "os_compute_api:os-remote-consoles")

    async def vnc_socket(self, connection: ConsoleConnection) -> str:
        """The VNC socket behind a console token, if its server is still where it was
        (else ``InvalidToken``: the compute host no longer vouches for the port)."""
        if connection.console_type != "novnc":
            raise ConsoleRefused(
                f"This proxy serves novnc consoles, not {connection.console_type}.")
        row = self.instances.get(connection.instance_uuid)
        if row is None or row.deleted or row.host != connection.host:
            raise InvalidToken()
        with backend_errors(row.uuid):
            return await self.backend.get_vnc_socket(instance_spec(row))

    def password(self, ctx: RequestContext, server_id: str) -> str:
        """The password the guest posted to the metadata service: none here (no metadata
        service yet), so always Nova's empty answer."""
        self.servers.get(ctx, server_id, _PASSWORD + "show")
        return ""

    def clear_password(self, ctx: RequestContext, server_id: str) -> None:
        self.servers.get(ctx, server_id, _PASSWORD + "clear")

    async def diagnostics(self, ctx: RequestContext, server_id: str) -> Diagnostics:
        """The guest's diagnostics; Nova's 409 unless it is running."""
        record = self._hosted(ctx, server_id, "os_compute_api:os-server-diagnostics")
        row = record.instance
        if row.power_state != int(PowerState.RUNNING):
            raise Conflict(f"Cannot 'get_diagnostics' instance {row.uuid} while it is in "
                           f"power state {PowerState(row.power_state).nova_name}")
        with backend_errors(row.uuid):
            return await self.backend.get_diagnostics(
                instance_spec(row, addresses=record.fixed_addresses))
