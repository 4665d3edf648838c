"""Nova's volume attachments (``os-volume_attachments``): attach, detach, update, swap.

An attach, as Nova's API, conductor and compute manager do it with Cinder 3.44+:
the API checks the server's state (lock, vm_state, task_state), the volume (it exists, it
is not mapped already, multiattach rules), names the device and writes the mapping,
creates the Cinder attachment (the volume ``reserved``) and records ``attach_volume``;
then, in the background, the backend plugs the disk in, the attachment is updated with the
host's connector and completed (the volume ``in-use``). A detach marks the volume
``detaching`` at once; then the backend unplugs the disk, the attachment is deleted (the
volume ``available``) and the mapping goes. A shelved-offloaded server has no host: its
attachment is completed (or deleted) at once, with no device name (Nova's local attach).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, delete, select

from backends.base import BackendError, ComputeBackend, DeviceNotFound, VolumeSpec
from emulator.compute.backend_errors import failure_message
from emulator.compute.instance_actions import InstanceActions, start_action
from emulator.compute.instances import Instances
from emulator.compute.models import Instance
from emulator.compute.plans import ActionHooks
from emulator.compute.policy import authorize
from emulator.compute.records import check_lock, invalid_state, now, visible_instance
from emulator.compute.specs import instance_spec
from emulator.compute.states import VmState
from emulator.compute.volumes.mappings import BdmRecord, has_mappings, next_device, volume_rows
from emulator.compute.volumes.models import BlockDeviceMapping
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, InvalidInput, NotFound
from emulator.ids import new_uuid
from emulator.volume.records import VolumeRecord
from emulator.volume.service import VolumeService

log = logging.getLogger("nova_emulator.volumes")

V = VmState
_RULE = "os_compute_api:os-volumes-attachments:"
#: Nova's ``check_instance_state`` of ``attach_volume`` and ``detach_volume`` (task None).
ATTACH_STATES = frozenset({V.ACTIVE, V.PAUSED, V.STOPPED, V.RESIZED, V.SOFT_DELETED,
                           V.SHELVED, V.SHELVED_OFFLOADED})
#: ... and of ``swap_volume``.
SWAP_STATES = frozenset({V.ACTIVE, V.PAUSED, V.RESIZED})
SHELVED = frozenset({V.SHELVED, V.SHELVED_OFFLOADED})
ATTACH_EVENT = "compute_attach_volume"
#: ``run(server_id, work)``: run ``work`` in the background for the server.
Runner = Callable[[str, Coroutine[Any, Any, None]], None]
DETACH_EVENT = "compute_detach_volume"


@dataclass(frozen=True)
class AttachRequest:
    volume_id: str
    device: str | None = None
    tag: str | None = None
    delete_on_termination: bool = False
    #: 2.60+: the caller may attach a multiattach volume.
    multiattach: bool = False
    #: Below 2.20 a shelved server refuses attach and detach.
    shelved_allowed: bool = True
    #: 2.101: the API answers before the volume is reserved (Nova's conductor reserves
    #: it; a refusal there is only logged).
    asynchronous: bool = False


def not_attached(server_id: str, volume_id: str) -> NotFound:
    return NotFound(f"Instance {server_id} is not attached to volume {volume_id}")


def connector(row: Instance, device: str | None) -> dict[str, Any]:
    """The host's connector as os-brick describes it to Cinder."""
    return {"host": row.host or "", "initiator": f"iqn.2004-10.org.nova-emulator:{row.host}",
            "ip": "127.0.0.1", "platform": "x86_64", "os_type": "linux", "multipath": False,
            "mountpoint": device or "", "instance": row.uuid}


def cinder_refusal(exc: InvalidInput) -> InvalidInput:
    """Nova's ``translate_cinder_exception``: Cinder's 400 as Nova's ``InvalidInput``."""
    return InvalidInput(f"Invalid input received: {exc.message} (HTTP 400)")


def volume_spec(volumes: VolumeService, record: BdmRecord,
                size_gb: int | None = None) -> VolumeSpec:
    """The mapped volume as a backend attaches it."""
    return VolumeSpec(volume_id=record.volume_id, device=record.device_name or "",
                      size_gb=size_gb if size_gb is not None else record.volume_size or 0,
                      path=volumes.store_path(record.volume_id))


class ServerVolumes:
    def __init__(self, db: Database, volumes: VolumeService, backend: ComputeBackend,
                 instances: Instances, actions: InstanceActions, run: Runner) -> None:
        self.db = db
        self.volumes = volumes
        self.backend = backend
        self.instances = instances
        self.actions = actions
        #: Runs a plug or unplug in the background (the lifecycle's ``aside``: settled
        #: and cancelled with the server's other work).
        self._run = run

    # -- reading -------------------------------------------------------------------------

    def list(self, ctx: RequestContext, server_id: str) -> list[BdmRecord]:
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, _RULE + "index", row.project_id)
            return [BdmRecord.of(b) for b in volume_rows(s, row.uuid)]

    def show(self, ctx: RequestContext, server_id: str, volume_id: str) -> BdmRecord:
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, _RULE + "show", row.project_id)
            return BdmRecord.of(self._mapping(s, row, volume_id))

    @staticmethod
    def _mapping(s: Session, row: Instance, volume_id: str) -> BlockDeviceMapping:
        found = s.exec(select(BlockDeviceMapping)
                       .where(BlockDeviceMapping.instance_uuid == row.uuid)
                       .where(BlockDeviceMapping.volume_id == volume_id)).first()
        if found is None:
            raise not_attached(row.uuid, volume_id)
        return found

    def server_of_attachment(self, server_id: str, volume_id: str) -> str | None:
        """Cinder's question to Nova: the attachment it holds for (server, volume)."""
        with self.db.session() as s:
            found = s.exec(select(BlockDeviceMapping)
                           .where(BlockDeviceMapping.instance_uuid == server_id)
                           .where(BlockDeviceMapping.volume_id == volume_id)).first()
            return found.attachment_id if found is not None else None

    # -- attach --------------------------------------------------------------------------

    @staticmethod
    def _check_shelved(row: Instance, action: str, shelved_allowed: bool) -> None:
        """Below 2.20 a shelved server refuses the action (the API's own 409)."""
        if row.vm_state in SHELVED and not shelved_allowed:
            raise invalid_state(action, row.uuid, "vm_state", row.vm_state)

    @staticmethod
    def _guard(ctx: RequestContext, row: Instance, action: str,
               states: frozenset[VmState]) -> None:
        """Nova's ``check_instance_lock`` then ``check_instance_state`` (task None)."""
        check_lock(ctx, row)
        if row.vm_state not in states:
            raise invalid_state(action, row.uuid, "vm_state", row.vm_state)
        if row.task_state is not None:
            raise invalid_state(action, row.uuid, "task_state", row.task_state)

    def attach(self, ctx: RequestContext, server_id: str,
               request: AttachRequest) -> BdmRecord | None:
        """The new mapping; None when an asynchronous attach was refused after the API's
        checks (nothing recorded)."""
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, _RULE + "create", row.project_id)
            self._check_shelved(row, "attach_volume", request.shelved_allowed)
            self._guard(ctx, row, "attach_volume", ATTACH_STATES)
        volume = self.volumes.get_volume(ctx, request.volume_id)
        with self.db.session() as s:
            self._check_not_attached(s, row, volume)
            offloaded = row.vm_state == V.SHELVED_OFFLOADED
            if offloaded and request.tag:
                raise InvalidInput("Tagged volume attachment is not supported for "
                                   "shelved-offloaded instances.")
            if volume.multiattach and offloaded:
                raise InvalidInput("Attaching multiattach volumes is not supported for "
                                   "shelved-offloaded instances.")
            if volume.multiattach and not request.multiattach:
                raise InvalidInput("Multiattach volumes are only supported starting with "
                                   "compute API version 2.60.")
            device = None if offloaded else \
                next_device(row, (b.device_name for b in volume_rows(s, row.uuid)))
        try:
            attachment = self.volumes.create_attachment(ctx, volume.id, row.uuid, None)
        except InvalidInput as exc:
            if request.asynchronous:
                log.info("%s: volume %s not attached to %s: %s", ctx.request_id, volume.id,
                         row.uuid, exc.message)
                return None
            raise cinder_refusal(exc) from None
        with self.db.session() as s:
            mapping = BlockDeviceMapping(
                uuid=new_uuid(), instance_uuid=row.uuid, source_type="volume",
                destination_type="volume", volume_id=volume.id, device_name=device,
                delete_on_termination=request.delete_on_termination, tag=request.tag,
                volume_size=volume.size, attachment_id=attachment.id, created_at=now())
            s.add(mapping)
            start_action(s, ctx, row.uuid, "attach_volume", now())
            s.flush()
            record = BdmRecord.of(mapping)
        if offloaded:
            self.volumes.complete_attachment(ctx, attachment.id)
            self.actions.event_done(row.uuid, ctx.request_id, "api_attach_volume", None)
        else:
            self._run(row.uuid, self._plug(ctx, row.uuid, record, volume.size))
        return record

    def _check_not_attached(self, s: Session, row: Instance, volume: VolumeRecord) -> None:
        """Nova's ``_check_volume_already_attached``."""
        mapped = s.exec(select(BlockDeviceMapping)
                        .where(BlockDeviceMapping.volume_id == volume.id)).all()
        if not mapped:
            return
        if not volume.multiattach:
            servers = " ".join(b.instance_uuid for b in mapped)
            raise InvalidInput(f"Invalid volume: volume {volume.id} is already attached to "
                               f"instances: {servers}")
        if any(b.instance_uuid == row.uuid for b in mapped):
            raise InvalidInput(f"Invalid volume: volume {volume.id} already attached")

    async def _plug(self, ctx: RequestContext, server_id: str, record: BdmRecord,
                    size_gb: int) -> None:
        row = self.instances.get(server_id)
        assert row is not None and record.attachment_id is not None
        self.actions.start_event(server_id, ctx.request_id, ATTACH_EVENT, row.host)
        try:
            await self.backend.attach_volume(instance_spec(row),
                                             volume_spec(self.volumes, record, size_gb))
            self.volumes.update_attachment(ctx, record.attachment_id,
                                           connector(row, record.device_name))
            self.volumes.complete_attachment(ctx, record.attachment_id)
        except (BackendError, NotFound, InvalidInput, Conflict) as exc:
            # NOTE: as Nova's compute manager: the attachment and the mapping go, the
            # volume is available again, the server keeps its state.
            message = failure_message(exc)
            log.info("%s: attach of %s to %s failed: %s", ctx.request_id, record.volume_id,
                     server_id, message)
            self._forget(ctx, record)
            self.actions.finish_event(server_id, ctx.request_id, ATTACH_EVENT, "Error",
                                      message)
            return
        self.actions.finish_event(server_id, ctx.request_id, ATTACH_EVENT, "Success")

    def _forget(self, ctx: RequestContext, record: BdmRecord) -> None:
        """Delete the mapping and its Cinder attachment (the volume available again)."""
        if record.attachment_id is not None:
            with contextlib.suppress(NotFound):
                self.volumes.delete_attachment(ctx, record.attachment_id, service=True)
        with self.db.session() as s:
            s.execute(delete(BlockDeviceMapping)
                      .where(BlockDeviceMapping.uuid == record.uuid))  # type: ignore[arg-type]

    # -- unshelve ------------------------------------------------------------------------

    def unshelve_hooks(self, ctx: RequestContext, server_id: str,
                       hooks: ActionHooks) -> ActionHooks:
        """``hooks`` of an unshelve, then (once the guest is back on a host) the volumes
        attached while it was offloaded get their device names and are plugged in and
        connected (Nova's compute manager at unshelve)."""
        earlier = hooks.after

        async def after(result: Any) -> dict[str, Any]:
            changes = await earlier(result) if earlier is not None else {}
            await self._plug_unnamed(ctx, server_id)
            return changes

        return dataclasses.replace(hooks, after=after)

    async def _plug_unnamed(self, ctx: RequestContext, server_id: str) -> None:
        row = self.instances.get(server_id)
        assert row is not None
        with self.db.session() as s:
            rows = volume_rows(s, server_id)
            taken: list[str | None] = [r.device_name for r in rows]
            unnamed = []
            for mapping in rows:
                if mapping.device_name is None:
                    mapping.device_name = next_device(row, taken)
                    taken.append(mapping.device_name)
                    s.add(mapping)
                    unnamed.append(BdmRecord.of(mapping))
        for record in unnamed:
            await self.backend.attach_volume(instance_spec(row),
                                             volume_spec(self.volumes, record))
            if record.attachment_id is not None:
                self.volumes.update_attachment(ctx, record.attachment_id,
                                               connector(row, record.device_name))
                self.volumes.complete_attachment(ctx, record.attachment_id)

    # -- detach --------------------------------------------------------------------------

    def detach(self, ctx: RequestContext, server_id: str, volume_id: str,
               shelved_allowed: bool = True) -> None:
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, _RULE + "delete", row.project_id)
            self._check_shelved(row, "detach_volume", shelved_allowed)
        volume = self.volumes.get_volume(ctx, volume_id)
        with self.db.session() as s:
            record = BdmRecord.of(self._mapping(s, row, volume.id))
        if record.is_root:
            raise InvalidInput("Cannot detach a root device volume")
        self._guard(ctx, row, "detach_volume", ATTACH_STATES)
        offloaded = row.vm_state == V.SHELVED_OFFLOADED
        if not offloaded:
            try:
                self.volumes.legacy_action(ctx, "begin_detaching", volume.id)
            except InvalidInput as exc:
                # NOTE: Nova wraps Cinder's refusal twice (InvalidInput, InvalidVolume).
                raise InvalidInput(f"Invalid volume: {cinder_refusal(exc).message}") \
                    from None
        with self.db.session() as s:
            start_action(s, ctx, row.uuid, "detach_volume", now())
        if offloaded:
            self._forget(ctx, record)
            self.actions.event_done(row.uuid, ctx.request_id, "api_detach_volume", None)
            return
        self._run(row.uuid, self._unplug(ctx, row.uuid, record, volume.size))

    async def _unplug(self, ctx: RequestContext, server_id: str, record: BdmRecord,
                      size_gb: int) -> None:
        row = self.instances.get(server_id)
        assert row is not None
        self.actions.start_event(server_id, ctx.request_id, DETACH_EVENT, row.host)
        try:
            await self.backend.detach_volume(instance_spec(row),
                                             volume_spec(self.volumes, record, size_gb))
        except BackendError as exc:
            # A disk the guest does not have is detached already.
            if not isinstance(exc, DeviceNotFound):
                message = failure_message(exc)
                self.volumes.legacy_action(ctx, "roll_detaching", record.volume_id)
                self.actions.finish_event(server_id, ctx.request_id, DETACH_EVENT, "Error",
                                          message)
                return
        self._forget(ctx, record)
        self.actions.finish_event(server_id, ctx.request_id, DETACH_EVENT, "Success")

    # -- update and swap -----------------------------------------------------------------

    def update(self, ctx: RequestContext, server_id: str, volume_id: str,
               fields: dict[str, Any]) -> None:
        """2.85: only ``delete_on_termination`` may change; the other fields must say what
        the mapping has (Nova's ``_update_volume_regular``)."""
        with self.db.session() as s:
            row = visible_instance(s, ctx, server_id)
            authorize(ctx, _RULE + "update", row.project_id)
            mapping = self._mapping(s, row, volume_id)
            immutable = (("id", volume_id), ("serverId", row.uuid),
                         ("device", mapping.device_name), ("tag", mapping.tag))
            for name, value in immutable:
                if name in fields and fields[name] != value:
                    raise InvalidInput(f"The {name} property is not mutable")
            if "delete_on_termination" in fields:
                mapping.delete_on_termination = bool(fields["delete_on_termination"])
                s.add(mapping)

    @staticmethod
    def authorize_swap(ctx: RequestContext) -> None:
        """Swap is a service's (Cinder's) or an admin's (Nova checks it first)."""
        authorize(ctx, _RULE + "swap")

    def swap(self, ctx: RequestContext, server_id: str, old_volume_id: str,
             new_volume_id: str) -> None:
        """Swap is Cinder's call while it migrates a volume: a volume that is not migrating
        is refused (409) before anything changes."""
        with self.db.session() as s:
            visible_instance(s, ctx, server_id)
        self.authorize_swap(ctx)
        old = self.volumes.get_volume(ctx, old_volume_id)
        if not old.migration_status:
            raise Conflict(f"volume {old_volume_id} is not migrating; this API should only "
                           "be called by Cinder")
        try:
            self.volumes.get_volume(ctx, new_volume_id)
        except NotFound as exc:
            raise InvalidInput(exc.message) from None
        # NOTE: the Cinder slice migrates no volume, so a swap never gets further.
        raise Conflict(f"volume {old_volume_id} is not migrating; this API should only "
                       "be called by Cinder")

    # -- a server's delete ---------------------------------------------------------------

    def release(self, server_id: str) -> None:
        """At a server's delete: detach every volume (the backend destroyed the guest),
        then delete those marked ``delete_on_termination`` (Nova's
        ``_cleanup_volumes``). A server with no mapping costs a read."""
        with self.db.reading() as connection:
            if not has_mappings(connection, server_id):
                return
        with self.db.session() as s:
            rows = volume_rows(s, server_id, pending=True)
            records = [BdmRecord.of(b) for b in rows if b.volume_id is not None]
            for unmade in (b for b in rows if b.volume_id is None):
                s.delete(unmade)  # a volume its build never made
        service = RequestContext(user_id="nova", project_id=None,
                                 roles=frozenset({"admin", "service"}),
                                 request_id="req-delete")
        for record in records:
            self._forget(service, record)
            if record.delete_on_termination:
                try:
                    self.volumes.delete_volume(service, record.volume_id)
                except (NotFound, InvalidInput, Conflict) as exc:
                    log.info("volume %s of deleted server %s kept: %s", record.volume_id,
                             server_id, exc)
