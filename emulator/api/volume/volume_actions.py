"""``POST /volumes/{id}/action``: one action per body, found in a table (Cinder's
``wsgi.action`` methods of ``volume_actions`` and ``admin_actions``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.api.volume import schemas
from emulator.api.volume.common import context, to_bool, validate
from emulator.api.volume.microversion import V
from emulator.volume.service import VolumeService
from emulator.volume.states import ATTACH_STATUSES, VOLUME_STATUSES

#: The steps of the attach flow before the attachments API (``emulator.volume.legacy``).
LEGACY_STEPS = ("reserve", "unreserve", "begin_detaching", "roll_detaching", "attach",
                "detach", "initialize_connection", "terminate_connection")
#: Cinder's ``VolumeMigrationStatus.ALL``.
MIGRATION_STATUSES = ("migrating", "error", "success", "completing", "none", "starting")

Action = Callable[[Call, dict[str, Any]], Awaitable[Response]]


def action_name(body: Any) -> str:
    """The one key of an action body (Cinder's ``action_peek_json``)."""
    if not isinstance(body, dict) or len(body) != 1:
        raise Fault(400, "Malformed request body")
    return str(next(iter(body)))


def _check_reset(values: dict[str, Any]) -> None:
    """Cinder's ``validate_volume_reset_body`` and status formats."""
    status, attach, migration = (values.get(k) for k in
                                 ("status", "attach_status", "migration_status"))
    if not status and not attach and not migration:
        raise Fault(400, "Must specify 'status', 'attach_status' or 'migration_status' for "
                         "update.")
    if status and status.lower() not in VOLUME_STATUSES:
        raise Fault(400, f"Volume status: {status} is invalid, valid statuses are: "
                         f"{VOLUME_STATUSES}.")
    valid_attach = [s for s in ATTACH_STATUSES if s in ("attached", "detached")]
    if attach and attach.lower() not in valid_attach:
        raise Fault(400, f"Volume attach status: {attach} is invalid, valid statuses are: "
                         f"{valid_attach}.")
    if migration and migration.lower() not in MIGRATION_STATUSES:
        raise Fault(400, f"Volume migration status: {migration} is invalid, valid statuses "
                         f"are: {MIGRATION_STATUSES}.")


class VolumeActionsController:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        #: Action name -> handler of its (validated) body.
        self.actions: dict[str, Action] = {
            "os-extend": self.extend,
            "os-retype": self.retype,
            "os-set_bootable": self.set_bootable,
            "os-update_readonly_flag": self.update_readonly_flag,
            "os-reset_status": self.reset_status,
            "os-force_delete": self.force_delete,
            **{f"os-{step}": self.legacy for step in LEGACY_STEPS},
            "os-show_image_metadata": self.show_image_metadata,
            "os-set_image_metadata": self.set_image_metadata,
            "os-unset_image_metadata": self.unset_image_metadata,
        }

    async def action(self, call: Call) -> Response:
        name = action_name(call.body)
        handler = self.actions.get(name)
        if handler is None:
            raise Fault(400, f"There is no such action: {name}. Verify the request body and "
                             "Content-Type header and try again.")
        body = validate(schemas.ACTIONS[name], call.body)
        return await handler(call, body[name])

    async def extend(self, call: Call, body: dict[str, Any]) -> Response:
        self.volumes.extend_volume(context(call), call.params["volume_id"],
                                   int(body["new_size"]), in_use_allowed=call.version >= V(42))
        return empty_response(202)

    async def retype(self, call: Call, body: dict[str, Any]) -> Response:
        self.volumes.retype_volume(context(call), call.params["volume_id"], body["new_type"])
        return empty_response(202)

    async def set_bootable(self, call: Call, body: dict[str, Any]) -> Response:
        self.volumes.set_bootable(context(call), call.params["volume_id"],
                                  to_bool(body["bootable"]))
        return empty_response(200)

    async def update_readonly_flag(self, call: Call, body: dict[str, Any]) -> Response:
        self.volumes.set_readonly(context(call), call.params["volume_id"],
                                  to_bool(body["readonly"]))
        return empty_response(202)

    async def reset_status(self, call: Call, body: dict[str, Any]) -> Response:
        _check_reset(body)
        self.volumes.reset_status(context(call), call.params["volume_id"],
                                  body.get("status"), body.get("attach_status"),
                                  body.get("migration_status"))
        return empty_response(202)

    async def legacy(self, call: Call, body: dict[str, Any] | None) -> Response:
        """A step of the attach flow before the attachments API."""
        step = action_name(call.body)[len("os-"):]
        fields: dict[str, Any] = {}
        body = body or {}
        if step == "attach":
            fields = {"instance_uuid": body.get("instance_uuid"),
                      "host_name": body.get("host_name"),
                      "mountpoint": body["mountpoint"], "mode": body.get("mode", "rw")}
        elif step == "detach":
            fields = {"attachment_id": body.get("attachment_id")}
        elif step == "initialize_connection":
            connector = body["connector"]
            fields = {"connector": connector if isinstance(connector, dict) else {}}
        info = self.volumes.legacy_action(context(call), step, call.params["volume_id"],
                                          **fields)
        if step == "initialize_connection":
            return json_response({"connection_info": info})
        return empty_response(202)

    async def show_image_metadata(self, call: Call, _body: object) -> Response:
        values = self.volumes.image_metadata(context(call), call.params["volume_id"])
        return json_response({"metadata": values})

    async def set_image_metadata(self, call: Call, body: dict[str, Any]) -> Response:
        values = self.volumes.set_image_metadata(context(call), call.params["volume_id"],
                                                 body["metadata"])
        return json_response({"metadata": values})

    async def unset_image_metadata(self, call: Call, body: dict[str, Any]) -> Response:
        self.volumes.unset_image_metadata(context(call), call.params["volume_id"],
                                          body["key"])
        return empty_response(200)

    async def force_delete(self, call: Call, body: dict[str, Any]) -> Response:
        self.volumes.delete_volume(context(call), call.params["volume_id"], force=True)
        return empty_response(202)
