"""The image a shelve makes of a server (Nova's ``<server name>-shelved`` snapshot), from
its creation to its deletion.

Nova's API creates the image (queued, as ``createImage`` does: ``image_type`` snapshot, the
server's inheritable image properties) when it accepts the shelve of a server booted from
an image; the compute host powers the guest off, uploads its disk and records
``shelved_at``, ``shelved_image_id`` and ``shelved_host`` in the instance's system
metadata. An unshelve that succeeds deletes the image (an offloaded server is booted from
it, so it must still be there), and so does deleting a shelved server. A volume-backed
server gets no image: Nova offloads it at once.

With ``shelved_offload_time`` > 0 a shelved server keeps its host until that many seconds
of the emulator's clock have passed: an "offload" timer of the lifecycle's (cancelled by
any action on the server and by its delete, armed again after a restart) stands for Nova's
``_poll_shelved_instances``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from backends.base import InstanceSpec
from emulator.compute.actions import TRANSITIONS
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.models import Instance
from emulator.compute.plans import ActionHooks
from emulator.compute.records import now
from emulator.compute.snapshots import Snapshots
from emulator.compute.specs import instance_spec
from emulator.compute.states import TaskState, VmState
from emulator.compute.system_metadata import SystemMetadata
from emulator.context import RequestContext
from emulator.errors import NotFound
from emulator.ids import new_request_id

#: The system metadata a shelve records and a successful unshelve removes (Nova's
#: ``remove_shelved_keys_from_system_metadata``).
SHELVED_KEYS = ("shelved_at", "shelved_image_id", "shelved_host")
#: The instance action event of Nova's conductor looking up the image to unshelve from.
IMAGE_EVENT = "get_image_info"

#: ``capture(instance)``: the guest's root disk as image data (the backend's ``snapshot``).
Capture = Callable[[InstanceSpec], Awaitable[bytes]]


class ShelvedImages:
    def __init__(self, snapshots: Snapshots, lifecycle: Lifecycle, capture: Capture) -> None:
        self.snapshots = snapshots
        self.lifecycle = lifecycle
        self.instances = lifecycle.instances
        self.capture = capture
        self.system_metadata = SystemMetadata(lifecycle.instances.db)

    def create(self, ctx: RequestContext, row: Instance) -> str:
        """The queued image the shelve of ``row`` (image-backed) will fill; its id."""
        return self.snapshots.begin(ctx, row, f"{row.display_name}-shelved", {},
                                    "snapshot").id

    def shelve_hooks(self, ctx: RequestContext, row: Instance, image_id: str) -> ActionHooks:
        """Once the guest is off: its disk uploaded into ``image_id``, which the server's
        system metadata then names; the offload timer starts (the server is SHELVED as
        soon as the hook returns)."""
        capture, snapshots, system_metadata = self.capture, self.snapshots, self.system_metadata

        async def upload(_result: Any) -> dict[str, Any]:
            await snapshots.finish(ctx, image_id, await capture(instance_spec(row)))
            system_metadata.update(row.uuid, {"shelved_at": now().isoformat(),
                                              "shelved_image_id": image_id,
                                              "shelved_host": row.host or ""})
            self.offload_later(row.uuid)
            return {}

        # NOTE: as Nova's, a shelve that fails leaves its image behind (queued).
        return ActionHooks(after=upload)

    def image_of(self, server_id: str) -> str | None:
        """The image the server's shelve made, until an unshelve deletes it."""
        return self.system_metadata.get(server_id).get("shelved_image_id")

    def unshelve_hooks(self, ctx: RequestContext, row: Instance) -> ActionHooks:
        """An unshelve of ``row`` (as accepted): an offloaded server needs its image (Nova's
        conductor fails it otherwise); a server back up deletes it."""
        image_id = self.image_of(row.uuid)
        if image_id is None:  # volume-backed: nothing was made
            return ActionHooks()

        async def unshelved(_result: Any) -> dict[str, Any]:
            self.forget(ctx, row.uuid)
            return {}

        if row.vm_state != VmState.SHELVED_OFFLOADED:
            return ActionHooks(after=unshelved)
        images, instances = self.snapshots.images, self.instances

        def missing() -> str | None:
            try:
                images.get(ctx, image_id)
            except NotFound:
                # NOTE: Nova's conductor sets ERROR and leaves the task_state (unshelving),
                # with a fault of code 404; here the task ends and the fault is a 500.
                instances.set_state(row.uuid, vm_state=VmState.ERROR)
                return f"Unshelve attempted but the image {image_id} cannot be found."
            return None

        return ActionHooks(before=missing, before_event=IMAGE_EVENT, after=unshelved)

    def forget(self, ctx: RequestContext, server_id: str) -> None:
        """Delete the shelve's image with ``ctx`` (best effort: Nova only logs a failure)
        and the system metadata that named it."""
        image_id = self.image_of(server_id)
        if image_id is not None:
            self.snapshots.discard(ctx, image_id)
        self.system_metadata.remove(server_id, SHELVED_KEYS)

    # -- shelved_offload_time --------------------------------------------------------------

    def offload_later(self, server_id: str, delay: float | None = None) -> None:
        """With ``shelved_offload_time`` > 0, offload the server once that many seconds (or
        ``delay``) have passed. NOTE: Nova's task looks every ``shelved_poll_interval`` (an
        hour by default); this one comes on time."""
        window = self.lifecycle.shelved_offload_time
        if window <= 0:
            return

        async def work() -> None:
            self.offload_due(server_id)

        self.lifecycle.later("offload", server_id, window if delay is None else delay, work)

    def offload_due(self, server_id: str) -> None:
        """Nova's ``_poll_shelved_instances`` for one server: offload it unless it is no
        longer SHELVED and idle."""
        row = self.instances.get(server_id)
        if row is None or row.deleted or row.vm_state != VmState.SHELVED \
                or row.task_state is not None:
            return
        if self.instances.set_state(server_id, task_state=TaskState.SHELVING_OFFLOADING):
            row = self.instances.get(server_id) or row
        # NOTE: Nova's periodic task records no action: with an admin context of no
        # project, its event goes to the server's newest action (the shelve).
        lifecycle = self.lifecycle
        request_id = lifecycle.actions.latest_request_id(server_id) or new_request_id()
        lifecycle.act(row, request_id, TRANSITIONS["shelve_offload"])

    def shelved_since(self, row: Instance) -> datetime:
        """When the server was shelved (its ``shelved_at``; else its last change)."""
        shelved_at = self.system_metadata.get(row.uuid).get("shelved_at")
        return datetime.fromisoformat(shelved_at) if shelved_at \
            else row.updated_at or row.created_at
