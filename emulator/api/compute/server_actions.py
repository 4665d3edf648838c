"""``POST /servers/{id}/action``: each action parses its body, then the transition table
(emulator.compute.actions) decides whether it may start and what it ends in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.schemas.servers import schema_for
from emulator.api.compute.server_disk_actions import DiskActions
from emulator.api.compute.server_extras import ExtraActions
from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body
from emulator.api.routing import Call, empty_response
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.servers import ServerService
from emulator.compute.snapshots import Snapshots
from emulator.errors import Conflict

Handler = Callable[[Call, Any], Awaitable[Response]]

_NULL_OR_ANY: dict[str, Any] = {}
_LOCK_V273 = {
    "type": "object",
    "properties": {"lock": {"type": ["object", "null"],
                            "properties": {"locked_reason": {"type": "string", "minLength": 1,
                                                             "maxLength": 255}},
                            "additionalProperties": False}},
    "required": ["lock"], "additionalProperties": False,
}
_CHANGE_PASSWORD = {
    "type": "object",
    "properties": {"changePassword": {"type": "object",
                                      "properties": {"adminPass": {"type": "string"}},
                                      "required": ["adminPass"],
                                      "additionalProperties": False}},
    "required": ["changePassword"], "additionalProperties": False,
}
_RESET_STATE = {
    "type": "object",
    "properties": {"os-resetState": {"type": "object",
                                     "properties": {"state": {"type": "string",
                                                              "enum": ["active", "error"]}},
                                     "required": ["state"],
                                     "additionalProperties": False}},
    "required": ["os-resetState"], "additionalProperties": False,
}


class ServerActionsController:
    def __init__(self, servers: ServerService, lifecycle: Lifecycle,
                 extra: Mapping[str, Handler] | None = None,
                 snapshots: Snapshots | None = None) -> None:
        self.servers = servers
        self.lifecycle = lifecycle
        disk = DiskActions(servers, lifecycle, snapshots)
        #: Body key -> (first microversion, handler): the action table of the API.
        self.actions: dict[str, tuple[APIVersion, Handler]] = {
            "os-stop": (V(2, 1), self.stop),
            "os-start": (V(2, 1), self.start),
            "reboot": (V(2, 1), self.reboot),
            "pause": (V(2, 1), self._simple("pause", "os_compute_api:os-pause-server:pause")),
            "unpause": (V(2, 1),
                        self._simple("unpause", "os_compute_api:os-pause-server:unpause")),
            "suspend": (V(2, 1),
                        self._simple("suspend", "os_compute_api:os-suspend-server:suspend")),
            "resume": (V(2, 1),
                       self._simple("resume", "os_compute_api:os-suspend-server:resume")),
            "lock": (V(2, 1), self.lock),
            "unlock": (V(2, 1), self.unlock),
            "changePassword": (V(2, 1), self.change_password),
            "trigger_crash_dump": (V(2, 17), self.trigger_crash_dump),
            "os-resetState": (V(2, 1), self.reset_state),
            "rebuild": (V(2, 1), disk.rebuild),
            "resize": (V(2, 1), disk.resize),
            "confirmResize": (V(2, 1), disk.confirm_resize),
            "revertResize": (V(2, 1), disk.revert_resize),
            "createImage": (V(2, 1), disk.create_image),
            "createBackup": (V(2, 1), disk.create_backup),
        }
        # Rescue, shelve, restore and the console actions (emulator.api.compute.server_extras).
        self.actions.update(ExtraActions(servers, lifecycle).table())
        for name, handler in (extra or {}).items():
            self.actions[name] = (V(2, 1), handler)

    async def dispatch(self, call: Call) -> Response:
        body = call.body
        if not isinstance(body, dict) or len(body) != 1:
            raise Fault(400, "Malformed request body")
        name = next(iter(body))
        entry = self.actions.get(name)
        if entry is None:
            raise Fault(400, f"There is no such action: {name}")
        since, handler = entry
        if call.version < since:
            raise Fault(404)
        return await handler(call, body[name])

    def _run(self, call: Call, key: str, rule: str,
             changes: Callable[[Instance], dict[str, Any]] | None = None,
             **arguments: Any) -> Response:
        common.accept_and_act(self.servers, self.lifecycle, call, key, rule, changes, **arguments)
        return empty_response(202)

    def _simple(self, key: str, rule: str) -> Handler:
        async def handler(call: Call, _payload: Any) -> Response:
            return self._run(call, key, rule)

        return handler

    async def stop(self, call: Call, _payload: Any) -> Response:
        schema = schema_for("stop", call.version)
        if schema is not None:
            validate_body(schema, call.body)
        return self._run(call, "stop", "os_compute_api:servers:stop")

    async def start(self, call: Call, _payload: Any) -> Response:
        schema = schema_for("start", call.version)
        if schema is not None:
            validate_body(schema, call.body)
        return self._run(call, "start", "os_compute_api:servers:start")

    async def reboot(self, call: Call, payload: Any) -> Response:
        schema = schema_for("reboot", call.version)
        assert schema is not None
        validate_body(schema, call.body)
        kind = str(payload["type"]).upper()
        key = "reboot_hard" if kind == "HARD" else "reboot_soft"
        return self._run(call, key, "os_compute_api:servers:reboot")

    async def lock(self, call: Call, payload: Any) -> Response:
        if call.version >= V(2, 73):
            validate_body(_LOCK_V273, call.body)
        reason = payload.get("locked_reason") if isinstance(payload, dict) and \
            call.version >= V(2, 73) else None
        ctx = common.context(call)

        def locked(row: Instance) -> dict[str, Any]:
            owner = "owner" if row.project_id == ctx.project_id else "admin"
            return {"locked": True, "locked_by": owner, "locked_reason": reason}

        return self._run(call, "lock", "os_compute_api:os-lock-server:lock", changes=locked)

    async def unlock(self, call: Call, _payload: Any) -> Response:
        ctx = common.context(call)

        def unlocked(row: Instance) -> dict[str, Any]:
            if row.locked_by == "admin" and row.project_id == ctx.project_id:
                authorize(ctx, "os_compute_api:os-lock-server:unlock:unlock_override",
                          row.project_id)
            return {"locked": False, "locked_by": None, "locked_reason": None}

        return self._run(call, "unlock", "os_compute_api:os-lock-server:unlock",
                         changes=unlocked)

    async def change_password(self, call: Call, payload: Any) -> Response:
        validate_body(_CHANGE_PASSWORD, call.body)
        backend = self.lifecycle.backend

        def agent(_row: Instance) -> dict[str, Any]:
            # NOTE: Nova sets the password through an RPC call, not a cast: a hypervisor
            # that cannot (libvirt: an image with no hw_qemu_guest_agent) is a 409 at once.
            if not backend.guest_agent:
                raise Conflict("QEMU guest agent is not enabled")
            return {}

        return self._run(call, "change_password", "os_compute_api:os-admin-password",
                         changes=agent, password=payload["adminPass"])

    async def trigger_crash_dump(self, call: Call, _payload: Any) -> Response:
        schema = schema_for("trigger_crash_dump", call.version)
        assert schema is not None
        validate_body(schema, call.body)
        return self._run(call, "trigger_crash_dump", "os_compute_api:servers:trigger_crash_dump")

    async def reset_state(self, call: Call, payload: Any) -> Response:
        validate_body(_RESET_STATE, call.body)
        state = payload["state"]
        return self._run(call, "reset_state", "os_compute_api:os-admin-actions:reset_state",
                         changes=lambda _row: {"vm_state": state, "task_state": None})
