"""Snapshots over HTTP (``/snapshots``, ``/snapshots/detail``, ``/snapshots/{id}``) and
their views (``cinder/api/v3/snapshots.py``, ``views/snapshots.py``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.api.volume import schemas
from emulator.api.volume.common import (
    NOT_FILTERS,
    ListingController,
    bool_param,
    check_text,
    collection_links,
    context,
    list_query,
    literal,
    sort_params,
    timestamp,
    to_bool,
    validate,
    with_count,
)
from emulator.api.volume.microversion import V
from emulator.api.volume.volume_actions import action_name
from emulator.api.volume.volumes import reject_unknown_filters
from emulator.volume import policy
from emulator.volume.records import SnapshotRecord
from emulator.volume.states import SNAPSHOT_STATUSES

#: Filters a non-admin may use (3.31+: ``resource_filters.json``; before: the list).
USER_FILTERS = ("name", "status", "volume_id", "metadata", "availability_zone",
                "consumes_quota")
LEGACY_USER_FILTERS = ("status", "volume_id", "name", "metadata")
FORCE_INVALID = (
    "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward "
    "compatability, however, when the 'force' flag is passed with a value evaluating to "
    "True, it is silently ignored.")


def snapshot_view(call: Call, snapshot: SnapshotRecord, extended: bool = True
                  ) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": snapshot.id,
        "created_at": timestamp(snapshot.created_at),
        "updated_at": timestamp(snapshot.updated_at),
        "name": snapshot.name,
        "description": snapshot.description,
        "volume_id": snapshot.volume_id,
        "status": snapshot.status,
        "size": snapshot.volume_size,
        "metadata": dict(snapshot.metadata),
    }
    if call.version >= V(14):
        view["group_snapshot_id"] = None
    if call.version >= V(41):
        view["user_id"] = snapshot.user_id
    if call.version >= V(65):
        view["consumes_quota"] = snapshot.use_quota
    if extended and policy.allowed(context(call),
                                   "volume_extension:extended_snapshot_attributes",
                                   snapshot.project_id):
        view["os-extended-snapshot-attributes:project_id"] = snapshot.project_id
        view["os-extended-snapshot-attributes:progress"] = snapshot.progress
    return view


def snapshot_filters(call: Call) -> dict[str, Any]:
    raw = {k: v for k, v in call.request.query_params.items() if k not in NOT_FILTERS}
    if call.version < V(31):
        if call.version < V(22):
            raw.pop("metadata", None)
        if not context(call).is_admin:
            raw = {k: v for k, v in raw.items() if k in LEGACY_USER_FILTERS}
    reject_unknown_filters(call, raw, USER_FILTERS)
    filters: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("name", "display_name"):
            filters["name"] = value
        elif key == "metadata":
            filters[key] = literal(value)
        elif key in ("consumes_quota", "use_quota"):
            filters["use_quota"] = bool_param(raw, key)
        else:
            filters[key] = value
    return filters


class SnapshotsController(ListingController):
    def listing(self, call: Call, detailed: bool) -> Response:
        query = call.request.query_params
        counted = with_count(call)
        # NOTE: ``name`` sorts only from 3.30; the column's own name always does.
        renames = {"display_name": "name", "display_description": "description",
                   "name": "name" if call.version >= V(30) else "-name"}
        page = self.volumes.list_snapshots(context(call), list_query(
            call, snapshot_filters(call), sort_params(query, renames)))
        items = [snapshot_view(call, s, extended=detailed) for s in page.items]
        body: dict[str, Any] = {"snapshots": items}
        found = collection_links(call, "snapshots/detail" if detailed else "snapshots",
                                 [s.id for s in page.items], page.total if counted else None)
        if found:
            body["snapshots_links"] = found
        if counted:
            body["count"] = page.total
        return json_response(body)

    async def show(self, call: Call) -> Response:
        snapshot = self.volumes.get_snapshot(context(call), call.params["snapshot_id"])
        return json_response({"snapshot": snapshot_view(call, snapshot)})

    async def create(self, call: Call) -> Response:
        spec = validate(schemas.SNAPSHOT_CREATE, call.body)["snapshot"]
        ctx = context(call)
        volume_id = spec["volume_id"]
        if volume_id is None:
            raise Fault(404, "Volume None could not be found.")
        self.volumes.get_volume(ctx, volume_id)
        force = False
        if spec.get("force") is not None:
            force = to_bool(spec["force"])
            if call.version >= V(66) and not force:
                raise Fault(400, FORCE_INVALID)
        name = spec.get("name", spec.get("display_name"))
        snapshot = self.volumes.create_snapshot(
            ctx, volume_id, check_text(name, "name"),
            check_text(spec.get("description"), "description"),
            dict(spec.get("metadata") or {}), in_use=force or call.version >= V(66))
        return json_response({"snapshot": snapshot_view(call, snapshot, extended=False)},
                             status=202)

    async def update(self, call: Call) -> Response:
        spec = validate(schemas.SNAPSHOT_UPDATE, call.body)["snapshot"]
        changes: dict[str, Any] = {}
        for key, alias in (("name", "display_name"), ("description", "display_description")):
            if key in spec or alias in spec:
                changes[key] = check_text(spec.get(key, spec.get(alias)), key)
        snapshot = self.volumes.update_snapshot(context(call), call.params["snapshot_id"],
                                                changes)
        return json_response({"snapshot": snapshot_view(call, snapshot, extended=False)})

    async def delete(self, call: Call) -> Response:
        self.volumes.delete_snapshot(context(call), call.params["snapshot_id"])
        return empty_response(202)

    async def action(self, call: Call) -> Response:
        """``POST /snapshots/{id}/action``: an admin's ``os-reset_status`` and
        ``os-force_delete``, and ``os-update_snapshot_status`` (Nova's)."""
        name = action_name(call.body)
        if name not in schemas.SNAPSHOT_ACTIONS:
            raise Fault(400, f"There is no such action: {name}. Verify the request body and "
                             "Content-Type header and try again.")
        body = validate(schemas.SNAPSHOT_ACTIONS[name], call.body)[name]
        ctx, snapshot_id = context(call), call.params["snapshot_id"]
        if name == "os-reset_status":
            status = str(body["status"])
            if status.lower() not in SNAPSHOT_STATUSES:
                raise Fault(400, f"Snapshot status: {status} is invalid, valid statuses are: "
                                 f"{SNAPSHOT_STATUSES}.")
            self.volumes.reset_snapshot_status(ctx, snapshot_id, status)
        elif name == "os-force_delete":
            self.volumes.delete_snapshot(ctx, snapshot_id, force=True)
        else:
            self.volumes.update_snapshot_status(ctx, snapshot_id, str(body["status"]),
                                                body.get("progress"))
        return empty_response(202)
