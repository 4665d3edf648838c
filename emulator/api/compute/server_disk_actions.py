"""The server actions that change a server's disk or flavor, or copy its disk: ``rebuild``,
``resize``/``confirmResize``/``revertResize``, ``createImage`` and ``createBackup``.

Their guards and states are rows of the transition table (emulator.compute.actions); the
checks here are the ones Nova makes after its state checks (image, flavor, key pair), run
inside ``accept_action`` so that the order of refusals is Nova's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.schemas.servers import schema_for
from emulator.api.compute.server_views import ServerView
from emulator.api.requests import validate_body
from emulator.api.routing import Call, base_url, empty_response, json_response
from emulator.compute.actions import TRANSITIONS
from emulator.compute.lifecycle import ActionHooks, Lifecycle, instance_spec
from emulator.compute.models import Instance
from emulator.compute.policy import authorize
from emulator.compute.servers import MAX_METADATA_ITEMS, ServerService, generate_password
from emulator.compute.snapshots import Snapshots
from emulator.compute.states import VmState
from emulator.context import RequestContext
from emulator.errors import InvalidInput, NotFound, OverQuota


def _validated(name: str, call: Call) -> None:
    schema = schema_for(name, call.version)
    assert schema is not None
    validate_body(schema, call.body)


def _previous_spec(row: Instance) -> Any:
    """The instance as it was before its resize (its old flavor, on its source host)."""
    return dataclasses.replace(
        instance_spec(row), host=row.source_host or row.host or "", vcpus=row.old_vcpus,
        memory_mb=row.old_memory_mb, root_gb=row.old_root_gb,
        ephemeral_gb=row.old_ephemeral_gb, swap_mb=row.old_swap)


class DiskActions:
    def __init__(self, servers: ServerService, lifecycle: Lifecycle,
                 snapshots: Snapshots | None) -> None:
        self.servers = servers
        self.lifecycle = lifecycle
        self.snapshots = snapshots
        self.view = ServerView()

    # -- rebuild -------------------------------------------------------------------------

    def _rebuild_columns(self, ctx: RequestContext, call: Call, payload: dict[str, Any],
                         row: Instance) -> dict[str, Any]:
        """Nova's ``compute_api.rebuild`` checks, in its order, and the columns it sets."""
        version = call.version
        columns: dict[str, Any] = {"image_ref": str(payload["imageRef"]), "progress": 0}
        if version >= V(2, 63) and "trusted_image_certificates" in payload:
            authorize(ctx, "os_compute_api:servers:rebuild:trusted_certs", row.project_id)
            certs = payload["trusted_image_certificates"]
            columns["trusted_certs"] = list(certs) if certs else None
        if version >= V(2, 54) and "key_name" in payload:
            key_name = payload["key_name"]
            key_data = None
            if key_name is not None:
                try:
                    key_data = self.servers.keypairs.get(ctx, key_name).public_key
                except NotFound:
                    raise InvalidInput("Invalid key_name provided.") from None
            columns.update(key_name=key_name, key_data=key_data)
        if version >= V(2, 90) and "hostname" in payload:
            columns["hostname"] = payload["hostname"]
        image_id = columns["image_ref"]
        image = self.servers.images(ctx, image_id)
        if image is None:
            raise InvalidInput("Cannot find image for rebuild")
        if len(payload.get("metadata", {})) > MAX_METADATA_ITEMS:
            raise OverQuota(f"Maximum number of metadata items exceeds {MAX_METADATA_ITEMS}")
        if image.status != "active":
            raise InvalidInput(f"Image {image_id} is not active.")
        if image.min_ram > row.memory_mb:
            raise InvalidInput("Flavor's memory is too small for requested image.")
        if row.root_gb and image.min_disk > row.root_gb:
            raise InvalidInput(
                "Flavor's disk is smaller than the minimum size specified in image metadata. "
                f"Flavor disk is {row.root_gb * 1024**3} bytes, minimum size is "
                f"{image.min_disk * 1024**3} bytes.")
        if "name" in payload:
            columns["display_name"] = payload["name"].strip()
        if version >= V(2, 19) and "description" in payload:
            columns["display_description"] = payload["description"]
        if version >= V(2, 57) and "user_data" in payload:
            columns["user_data"] = payload["user_data"]
        for key, column in (("accessIPv4", "access_ip_v4"), ("accessIPv6", "access_ip_v6"),
                            ("OS-DCF:diskConfig", "disk_config")):
            if key in payload:
                columns[column] = payload[key]
        return columns

    async def rebuild(self, call: Call, payload: Any) -> Response:
        _validated("rebuild", call)
        ctx = common.context(call)
        password = payload["adminPass"] if "adminPass" in payload else generate_password()
        transition = TRANSITIONS["rebuild"]
        row = self.servers.accept_action(
            ctx, call.params["server_id"], transition, "os_compute_api:servers:rebuild",
            changes=lambda r: self._rebuild_columns(ctx, call, payload, r))
        if "metadata" in payload:
            self.servers.replace_metadata(row.uuid, dict(payload["metadata"]))
        self.lifecycle.act(row, ctx.request_id, transition,
                           power_on=row.old_vm_state != VmState.STOPPED)
        record = self.servers.get(ctx, row.uuid)
        location = common.links(call, "servers", row.uuid)[0]["href"]
        return json_response({"server": self.view.rebuild(call, record, password)},
                             status=202, headers={"Location": location})

    # -- resize --------------------------------------------------------------------------

    async def resize(self, call: Call, payload: Any) -> Response:
        _validated("resize", call)
        ctx = common.context(call)
        flavor_ref = str(payload["flavorRef"])

        def columns(row: Instance) -> dict[str, Any]:
            changes = self.servers.resize_columns(ctx, row, flavor_ref)
            if "OS-DCF:diskConfig" in payload:
                changes["disk_config"] = payload["OS-DCF:diskConfig"]
            return changes

        # The scheduler's claim: the new flavor on the destination, the old one kept on
        # the source until confirm or revert (the hooks are built from the accepted row).
        self._act_on_resize(call, "resize", "os_compute_api:servers:resize", columns,
                            lambda row: {"hooks": self.lifecycle.resize_hooks(row),
                                         "previous": _previous_spec(row)})
        return empty_response(202)

    def _act_on_resize(self, call: Call, key: str, rule: str,
                       changes: Callable[[Instance], dict[str, Any]],
                       with_row: Callable[[Instance], dict[str, Any]]) -> None:
        common.accept_and_act(self.servers, self.lifecycle, call, key, rule, changes,
                              with_row=with_row)

    async def confirm_resize(self, call: Call, _payload: Any) -> Response:
        _validated("confirm_resize", call)
        self._act_on_resize(call, "confirm_resize", "os_compute_api:servers:confirm_resize",
                            self._resized, lambda _row: {"hooks": self.lifecycle.confirm_hooks()})
        return empty_response(204)

    async def revert_resize(self, call: Call, _payload: Any) -> Response:
        _validated("revert_resize", call)
        self._act_on_resize(call, "revert_resize", "os_compute_api:servers:revert_resize",
                            self._resized, lambda row: {"hooks": self.lifecycle.revert_hooks(row),
                                                        "previous": _previous_spec(row)})
        return empty_response(202)

    @staticmethod
    def _resized(row: Instance) -> dict[str, Any]:
        """Nova's ``MigrationNotFound``: a resized server with no resize to finish."""
        if row.old_flavor_id is None:
            raise InvalidInput("Instance has not been resized.")
        return {}

    # -- images --------------------------------------------------------------------------

    def _snapshot(self, call: Call, key: str, rule: str, name: str,
                  metadata: dict[str, str], backup_type: str | None = None,
                  rotation: int = 0) -> str:
        """Accept the action, create its image (queued), start the capture; the image id."""
        ctx = common.context(call)
        snapshots = self.snapshots
        if snapshots is None:
            raise InvalidInput("Snapshots are not available.")

        def check(row: Instance) -> dict[str, Any]:
            if backup_type is not None and not row.image_ref:
                raise InvalidInput("Backup is not supported for volume-backed instances.")
            if not row.image_ref:
                authorize(ctx, "os_compute_api:servers:create_image:allow_volume_backed",
                          row.project_id)
            return {}

        transition = TRANSITIONS[key]
        row = self.servers.accept_action(ctx, call.params["server_id"], transition, rule,
                                         changes=check)
        try:
            image = snapshots.begin(ctx, row, name, metadata,
                                    "snapshot" if backup_type is None else "backup",
                                    backup_type)
        except Exception:
            self.servers.set_state(row.uuid, task_state=None)
            raise
        server_id = row.uuid

        async def upload(data: Any) -> dict[str, Any]:
            await snapshots.finish(ctx, image.id, bytes(data))
            if backup_type is not None:
                snapshots.rotate(ctx, server_id, backup_type, rotation)
            return {}

        hooks = ActionHooks(after=upload, cleanup=lambda: snapshots.discard(ctx, image.id))
        self.lifecycle.act(row, ctx.request_id, transition, hooks=hooks)
        return image.id

    async def create_image(self, call: Call, payload: Any) -> Response:
        _validated("create_image", call)
        image_id = self._snapshot(call, "create_image", "os_compute_api:servers:create_image",
                                  payload["name"].strip(), dict(payload.get("metadata", {})))
        if call.version >= V(2, 45):
            return json_response({"image_id": image_id}, status=202)
        return empty_response(202, headers={"Location": self._image_url(call, image_id)})

    async def create_backup(self, call: Call, payload: Any) -> Response:
        _validated("create_backup", call)
        rotation = int(payload["rotation"])
        image_id = self._snapshot(call, "create_backup", "os_compute_api:os-create-backup",
                                  payload["name"].strip(), dict(payload.get("metadata", {})),
                                  backup_type=str(payload["backup_type"]), rotation=rotation)
        if call.version >= V(2, 45):
            return json_response({"image_id": image_id}, status=202)
        # NOTE: Nova's backup Location is under the compute API, and only with a rotation.
        headers = {"Location": common.href(call, "images", image_id)} if rotation > 0 else None
        return empty_response(202, headers=headers)

    @staticmethod
    def _image_url(call: Call, image_id: str) -> str:
        """Nova's ``generate_image_url``: the image service's URL of the new image."""
        return f"{base_url(call.request)}/image/v2/images/{image_id}"
