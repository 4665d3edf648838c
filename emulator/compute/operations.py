"""Server operations: one entry per operation the compute API offers (create, delete and
the actions of ``POST /servers/{id}/action`` that change a server's power, lock or state).

Each entry takes the caller's context, the server id and plain values the API parsed; it
commits the acknowledged step in one transaction (the transition table's guards and
interim state, Nova's checks in Nova's order) and hands the rest to the lifecycle. The
disk, image and console operations are in ``disk_operations`` and ``console_operations``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from backends.base import HostInfo
from emulator.compute.actions import TRANSITIONS
from emulator.compute.checks import ImageLookup
from emulator.compute.create import Created, NewServer, ServerCreator
from emulator.compute.instances import Instances
from emulator.compute.lifecycle import Lifecycle
from emulator.compute.models import Instance
from emulator.compute.naming import generate_password
from emulator.compute.plans import ActionHooks, BuildPlan
from emulator.compute.policy import authorize
from emulator.compute.records import now
from emulator.compute.servers import Changes, Servers
from emulator.compute.shelving import ShelvedImages
from emulator.compute.states import VmState
from emulator.compute.zones import HostZones
from emulator.context import RequestContext
from emulator.errors import Conflict, Forbidden, InvalidInput
from emulator.image.service import PropertyLimitExceeded

#: ``plan_for(ctx, new_server)``: the control plane's fault rules' say in a build.
PlanFor = Callable[[RequestContext, NewServer], BuildPlan | None]

T = TypeVar("T")

#: The vm_states in which a server has the image its shelve made.
SHELVED_STATES = frozenset({VmState.SHELVED, VmState.SHELVED_OFFLOADED})


@dataclass(frozen=True)
class Unshelve:
    """What an unshelve asks for: a zone (2.77; None unpins) and a host (2.91, admins)."""

    zone_given: bool = False
    zone: str | None = None
    host: str | None = None


class ServerOperations:
    def __init__(self, servers: Servers, creator: ServerCreator, lifecycle: Lifecycle,
                 instances: Instances, images: ImageLookup, shelved: ShelvedImages,
                 hosts: Callable[[], list[HostInfo]], zones: HostZones, guest_agent: bool,
                 plan_for: PlanFor | None = None) -> None:
        self.servers = servers
        self.creator = creator
        self.lifecycle = lifecycle
        self.instances = instances
        self.images = images
        self.shelved = shelved
        self.hosts = hosts
        self.zones = zones
        #: Whether the backend's guests run an agent that can set their password.
        self.guest_agent = guest_agent
        self.plan_for = plan_for
        #: Adds to an unshelve's hooks the plugging of volumes attached while it was
        #: offloaded; set by whoever wires the domain together.
        self.volumes_unshelved: Callable[[RequestContext, str, ActionHooks], ActionHooks] \
            | None = None

    def perform(self, ctx: RequestContext, server_id: str, key: str,
                changes: Changes | None = None, hooks: ActionHooks | None = None,
                **arguments: Any) -> Instance:
        """Accept the action ``key`` of the transition table (its guards and interim state,
        then ``changes``), then run its verb in the background; the accepted row."""
        transition = TRANSITIONS[key]
        row = self.servers.accept(ctx, server_id, transition, changes)
        self.lifecycle.act(row, ctx.request_id, transition, hooks, **arguments)
        return row

    def with_image(self, ctx: RequestContext, row: Instance, make: Callable[[], T]) -> T:
        """``make`` the image an accepted snapshot, backup or shelve of ``row`` fills. As in
        Nova, where the image comes before the task state and the action, a server whose
        image could not be made is left as it was."""
        try:
            return make()
        except Exception as exc:
            self.instances.set_state(row.uuid, task_state=None)
            self.lifecycle.actions.discard(row.uuid, ctx.request_id)
            if isinstance(exc, PropertyLimitExceeded):
                # NOTE: Nova lets Glance's 413 through untranslated (glanceclient's
                # HTTPOverLimit): an unexpected 500. We answer the quota's 403 with
                # Glance's words instead: the request, not the cloud, is at fault.
                raise Forbidden(exc.message) from None
            raise

    # -- create and delete ---------------------------------------------------------------

    async def create(self, ctx: RequestContext, new: NewServer) -> Created:
        """Record the servers (BUILD), then schedule and build them in the background."""
        created = await self.creator.create(ctx, new)
        plan = self.plan_for(ctx, new) if self.plan_for is not None else None
        self.lifecycle.build(created.server_ids, ctx.request_id, plan,
                             image_properties=created.image_properties)
        return created

    def delete(self, ctx: RequestContext, server_id: str) -> None:
        """``DELETE /servers/{id}``: a soft delete, as Nova's API does, when
        ``reclaim_instance_interval`` > 0 and the server has launched; else a delete."""
        if self.lifecycle.reclaim_instance_interval > 0:
            found = self.instances.get(server_id)
            if found is not None and not found.deleted and found.launched_at is not None:
                row = self.perform(ctx, server_id, "soft_delete",
                                   changes=lambda _row: {"deleted_at": now()})
                self._forget_shelved(ctx, row)
                self.lifecycle.reclaim_later(row.uuid)
                return
        self._delete(ctx, server_id, "os_compute_api:servers:delete")

    def force_delete(self, ctx: RequestContext, server_id: str) -> None:
        self._delete(ctx, server_id, "os_compute_api:os-deferred-delete:force")

    def _delete(self, ctx: RequestContext, server_id: str, rule: str) -> None:
        row = self.servers.begin_delete(ctx, server_id, rule)
        self._forget_shelved(ctx, row)
        self.lifecycle.delete(row.uuid, ctx.request_id)

    def _forget_shelved(self, ctx: RequestContext, row: Instance) -> None:
        """Nova's API deletes the image of a server deleted while shelved (with the
        caller's context: an image the caller may not delete stays)."""
        if row.vm_state in SHELVED_STATES:
            self.shelved.forget(ctx, row.uuid)

    def restore(self, ctx: RequestContext, server_id: str) -> None:
        """Undo a soft delete: the server counts against the quotas again, so it must fit
        (Nova's ``restore``, a 403)."""
        quotas = self.creator.quotas

        def restored(row: Instance) -> dict[str, Any]:
            quotas.check_restore(ctx, row.project_id, row.user_id, row.vcpus, row.memory_mb)
            return {"deleted_at": None}

        row = self.perform(ctx, server_id, "restore", changes=restored)
        self.lifecycle.cancel_later("reclaim", row.uuid)

    # -- power, lock and state -------------------------------------------------------------

    def stop(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "stop")

    def start(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "start")

    def reboot(self, ctx: RequestContext, server_id: str, hard: bool) -> None:
        self.perform(ctx, server_id, "reboot_hard" if hard else "reboot_soft")

    def pause(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "pause")

    def unpause(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "unpause")

    def suspend(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "suspend")

    def resume(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "resume")

    def trigger_crash_dump(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "trigger_crash_dump")

    def lock(self, ctx: RequestContext, server_id: str, reason: str | None = None) -> None:
        def locked(row: Instance) -> dict[str, Any]:
            owner = "owner" if row.project_id == ctx.project_id else "admin"
            return {"locked": True, "locked_by": owner, "locked_reason": reason}

        self.perform(ctx, server_id, "lock", changes=locked)

    def unlock(self, ctx: RequestContext, server_id: str) -> None:
        def unlocked(row: Instance) -> dict[str, Any]:
            if row.locked_by == "admin" and row.project_id == ctx.project_id:
                authorize(ctx, "os_compute_api:os-lock-server:unlock:unlock_override",
                          row.project_id)
            return {"locked": False, "locked_by": None, "locked_reason": None}

        self.perform(ctx, server_id, "unlock", changes=unlocked)

    def reset_state(self, ctx: RequestContext, server_id: str, state: str) -> None:
        """``os-resetState``: ``active`` or ``error`` (the API's schema allows no other)."""
        self.perform(ctx, server_id, "reset_state",
                     changes=lambda _row: {"vm_state": state, "task_state": None})

    def change_password(self, ctx: RequestContext, server_id: str, password: str) -> None:
        def agent(_row: Instance) -> dict[str, Any]:
            # NOTE: Nova sets the password through an RPC call, not a cast: a hypervisor
            # that cannot (libvirt: an image with no hw_qemu_guest_agent) is a 409 at once.
            if not self.guest_agent:
                raise Conflict("QEMU guest agent is not enabled")
            return {}

        self.perform(ctx, server_id, "change_password", changes=agent, password=password)

    # -- rescue and shelve ---------------------------------------------------------------

    def rescue(self, ctx: RequestContext, server_id: str, password: str | None,
               image_ref: str | None, volume_backed: bool) -> str:
        """Rescue the server (``volume_backed``: 2.87 lets a volume-backed server be
        rescued); the rescue password (``password``, else a generated one)."""
        password = password or generate_password()

        def checked(row: Instance) -> dict[str, Any]:
            image = self.images(ctx, image_ref) if image_ref is not None else None
            if image_ref is not None and image is None:
                raise InvalidInput(f"Requested rescue image '{image_ref}' is not supported")
            # NOTE: Nova's API takes any rescue image and its compute fails the rescue later;
            # one no guest here would boot is refused at once, as a create refuses it.
            if image is not None and image.unbootable is not None:  # ImageUnacceptable
                raise InvalidInput(f"Image {image.id} is unacceptable: {image.unbootable}")
            if not row.image_ref and not volume_backed:
                raise InvalidInput(f"Instance {row.uuid} cannot be rescued: Cannot rescue a "
                                   "volume-backed instance")
            return {}

        self.perform(ctx, server_id, "rescue", changes=checked, password=password,
                     rescue_image_id=image_ref)
        return password

    def unrescue(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "unrescue")

    def shelve(self, ctx: RequestContext, server_id: str) -> None:
        """Shelve: the guest's disk goes into a new image (``<name>-shelved``), then the
        server is offloaded (``shelved_offload_time``). A volume-backed server gets no
        image and, as in Nova, is offloaded at once whatever the setting."""
        transition = TRANSITIONS["shelve"]
        row = self.servers.accept(ctx, server_id, transition)
        if not row.image_ref:
            self.lifecycle.act(row, ctx.request_id, TRANSITIONS["shelve_offload"])
            return
        image_id = self.with_image(ctx, row, lambda: self.shelved.create(ctx, row))
        self.lifecycle.act(row, ctx.request_id, transition,
                           self.shelved.shelve_hooks(ctx, row, image_id))

    def shelve_offload(self, ctx: RequestContext, server_id: str) -> None:
        self.perform(ctx, server_id, "shelve_offload")

    def unshelve(self, ctx: RequestContext, server_id: str, request: Unshelve) -> None:
        def checked(row: Instance) -> dict[str, Any]:
            """Nova's ``unshelve`` after the state check: only an offloaded server may
            change zone or host; the zone must exist; a host is admin-only, must exist and
            be in the zone the server will be in."""
            zone, host = request.zone, request.host
            if (request.zone_given or host) and row.vm_state != VmState.SHELVED_OFFLOADED:
                raise Conflict(
                    "Specifying an availability zone or a host when unshelving server "
                    f'"{row.uuid}" with status "{row.vm_state}" is not supported. The server '
                    "status must be SHELVED_OFFLOADED.")
            if request.zone_given and zone and zone not in self.zones.zones():
                raise InvalidInput("The requested availability zone is not available")
            expected = zone if request.zone_given else row.requested_availability_zone
            if host:
                authorize(ctx, "os_compute_api:os-shelve:unshelve_to_host", row.project_id)
                if host not in {h.name for h in self.hosts()}:
                    raise InvalidInput(f"Compute host {host} could not be found.")
                if expected is not None and self.zones.host_zone(host) != expected:
                    raise Conflict(f'Host "{host}" is not in the availability zone '
                                   f'"{expected}".')
            if request.zone_given:
                return {"requested_availability_zone": zone, "pinned_availability_zone": zone}
            return {}

        transition = TRANSITIONS["unshelve"]
        row = self.servers.accept(ctx, server_id, transition, checked)
        hooks = self.shelved.unshelve_hooks(ctx, row)
        if self.volumes_unshelved is not None:
            hooks = self.volumes_unshelved(ctx, row.uuid, hooks)
        self.lifecycle.act(row, ctx.request_id, transition, hooks, destination=request.host)
