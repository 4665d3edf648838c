"""``createImage`` of a volume-backed server (Nova's ``snapshot_volume_backed``): a Cinder
snapshot of each of its volumes (forced: they are in use) and an image of size 0 whose
``block_device_mapping`` property maps those snapshots back (``bdm_v2``,
``root_device_name``), so that a server booted from the image gets volumes made from
them. All at once, in the API's call: no task state, an ``api_snapshot_instance`` event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from emulator.compute.actions import TRANSITIONS, refusal
from emulator.compute.instance_actions import InstanceActions, start_action
from emulator.compute.policy import authorize
from emulator.compute.records import now, visible_instance
from emulator.compute.snapshots import Snapshots
from emulator.compute.volumes.mappings import ROOT_DEVICE, volume_rows
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict
from emulator.volume.service import VolumeService

EVENT = "api_snapshot_instance"


class VolumeBackedSnapshots:
    def __init__(self, db: Database, volumes: VolumeService, snapshots: Snapshots,
                 actions: InstanceActions) -> None:
        self.db = db
        self.volumes = volumes
        self.snapshots = snapshots
        self.actions = actions

    def snapshot(self, ctx: RequestContext, server_id: str, name: str,
                 metadata: Mapping[str, str]) -> str | None:
        """The image id of a volume-backed server's snapshot; None (nothing done) when the
        server boots from its image."""
        transition = TRANSITIONS["create_image"]
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, transition.rule, row.project_id)
            mappings = volume_rows(s, row.uuid)
            # Nova's is_volume_backed_instance: no image, or a root volume.
            if row.image_ref and not any(m.boot_index == 0 for m in mappings):
                return None
            authorize(ctx, "os_compute_api:servers:create_image:allow_volume_backed",
                      row.project_id)
            refused = refusal(transition, row.uuid, row.vm_state, row.task_state,
                              row.launched_at is not None)
            if refused is not None:
                raise Conflict(refused)
            start_action(s, ctx, row.uuid, transition.name, now())
        self.actions.start_event(row.uuid, ctx.request_id, EVENT, None)
        images: list[dict[str, Any]] = []
        for mapping in mappings:
            assert mapping.volume_id is not None
            volume = self.volumes.get_volume(ctx, mapping.volume_id)
            snapshot = self.volumes.create_snapshot(ctx, volume.id, f"snapshot for {name}",
                                                    volume.description, {}, in_use=True)
            images.append({
                "source_type": "snapshot", "destination_type": "volume",
                "snapshot_id": snapshot.id, "volume_id": None, "image_id": None,
                "volume_size": volume.size, "boot_index": mapping.boot_index,
                "device_name": mapping.device_name,
                "delete_on_termination": mapping.delete_on_termination,
                "disk_bus": mapping.disk_bus, "device_type": mapping.device_type,
                "guest_format": None, "no_device": None, "tag": mapping.tag,
                "volume_type": None})
        properties = dict(metadata)
        properties["root_device_name"] = row.root_device_name or ROOT_DEVICE
        if images:
            # NOTE: Glance keeps strings: Nova's image API sends these JSON-encoded.
            properties["block_device_mapping"] = json.dumps(images)
            properties["bdm_v2"] = "True"
        image = self.snapshots.begin(ctx, row, name, properties, "snapshot",
                                     disk_format="raw")
        self.actions.finish_event(row.uuid, ctx.request_id, EVENT, "Success")
        return image.id

    async def activate(self, ctx: RequestContext, image_id: str) -> None:
        """Nova's ``force_activate``: an empty upload makes the size-0 image active."""
        await self.snapshots.finish(ctx, image_id, b"")
