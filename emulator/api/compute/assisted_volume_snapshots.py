"""Assisted volume snapshots (``/os-assisted-volume-snapshots``), for services (Cinder)
and admins: create and delete answer as Nova does for a volume attached to no server
(see ``emulator.compute.volume_snapshots``)."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.routing import Call
from emulator.compute.volume_snapshots import AssistedVolumeSnapshots


class AssistedVolumeSnapshotsController:
    def __init__(self, snapshots: AssistedVolumeSnapshots) -> None:
        self.snapshots = snapshots

    async def create(self, call: Call) -> Response:
        body = common.check_body(call, "volume_snapshot_create")
        self.snapshots.create(common.context(call), body["snapshot"]["volume_id"])

    async def delete(self, call: Call) -> Response:
        common.check_query(call, "volume_snapshot_delete_query")
        self.snapshots.delete(common.context(call), common.last_value(call, "delete_info"))
