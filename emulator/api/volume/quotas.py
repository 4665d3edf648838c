"""Quotas and limits over HTTP: ``/os-quota-sets/{project_id}`` (show, ``?usage=true``,
``/defaults``, update and delete for admins) and ``/limits`` (absolute limits and, as
the policy allows, usage; no rate limits), as Cinder's ``QuotaSetsController`` and
``LimitsController`` with its ``used_limits`` extension."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.routing import Call, empty_response, json_response
from emulator.api.volume.common import bool_param, context, validate
from emulator.api.volume.microversion import V
from emulator.volume.service import VolumeService

#: ``/limits`` names of limits and of usage.
LIMIT_NAMES = {"gigabytes": "maxTotalVolumeGigabytes",
               "backup_gigabytes": "maxTotalBackupGigabytes",
               "volumes": "maxTotalVolumes", "snapshots": "maxTotalSnapshots",
               "backups": "maxTotalBackups"}
USED_NAMES = {"volumes": "totalVolumesUsed", "gigabytes": "totalGigabytesUsed",
              "snapshots": "totalSnapshotsUsed", "backups": "totalBackupsUsed",
              "backup_gigabytes": "totalBackupGigabytesUsed"}

#: Cinder's quota-set update body (the keys and values are checked by the domain).
QUOTA_SET_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {"quota_set": {"type": "object", "minProperties": 1}},
    "required": ["quota_set"],
    "additionalProperties": False,
}


class QuotasController:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes

    async def show(self, call: Call) -> Response:
        project_id = call.params["project_id"]
        query = call.request.query_params
        ctx = context(call)
        quota_set: dict[str, Any]
        if "usage" in query and bool_param(query, "usage"):
            quota_set = dict(self.volumes.quota_usage(ctx, project_id))
        else:
            quota_set = dict(self.volumes.quotas(ctx, project_id))
        return json_response({"quota_set": {**quota_set, "id": project_id}})

    async def defaults(self, call: Call) -> Response:
        project_id = call.params["project_id"]
        defaults = self.volumes.quota_defaults(context(call), project_id)
        return json_response({"quota_set": {**defaults, "id": project_id}})

    async def update(self, call: Call) -> Response:
        values = validate(QUOTA_SET_BODY, call.body)["quota_set"]
        updated = self.volumes.update_quotas(context(call), call.params["project_id"], values)
        return json_response({"quota_set": updated})

    async def delete(self, call: Call) -> Response:
        self.volumes.delete_quotas(context(call), call.params["project_id"])
        return empty_response(200)


class LimitsController:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes

    async def index(self, call: Call) -> Response:
        ctx = context(call)
        query = call.request.query_params
        project_id = ctx.project_id or ""
        if ctx.is_admin and call.version >= V(39):
            project_id = query.get("project_id", query.get("tenant_id", project_id))
        found = self.volumes.limits(ctx, project_id)
        absolute = {LIMIT_NAMES[k]: v for k, v in found["limit"].items() if k in LIMIT_NAMES}
        absolute.update({USED_NAMES[k]: v for k, v in found["in_use"].items()
                         if k in USED_NAMES})
        return json_response({"limits": {"rate": [], "absolute": absolute}})
