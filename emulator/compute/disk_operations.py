"""The server operations that change a server's disk or flavor, or copy its disk:
``rebuild``, ``resize``/``confirmResize``/``revertResize``, ``createImage`` and
``createBackup``.

Their guards and states are rows of the transition table; the checks here are the ones
Nova makes after its state checks (image, flavor, key pair, metadata), run inside the
acknowledged transaction so that the order of refusals is Nova's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from emulator.compute.actions import TRANSITIONS
from emulator.compute.checks import (
    ImageLookup,
    check_flavor_fits,
    check_image_active,
    check_image_metadata_count,
    check_metadata_count,
    key_data,
)
from emulator.compute.claims import Claims
from emulator.compute.flavors import FlavorService
from emulator.compute.instance_actions import InstanceActions
from emulator.compute.instances import Instances
from emulator.compute.keypairs import KeyPairService
from emulator.compute.lifecycle import NO_VALID_HOST
from emulator.compute.migrations import RESIZE, Migrations
from emulator.compute.models import Instance
from emulator.compute.naming import generate_password
from emulator.compute.operations import ServerOperations
from emulator.compute.plans import ActionHooks
from emulator.compute.policy import authorize
from emulator.compute.quotas.resources import UNLIMITED
from emulator.compute.records import ServerRecord
from emulator.compute.recovery import periodic_context
from emulator.compute.resizes import (
    CONFIRMED,
    failed_resize_columns,
    resize_columns,
    reverted_columns,
)
from emulator.compute.servers import Servers
from emulator.compute.snapshots import Snapshots
from emulator.compute.specs import previous_spec
from emulator.compute.states import VmState
from emulator.compute.volumes.snapshots import VolumeBackedSnapshots
from emulator.compute.zones import HostZones
from emulator.context import RequestContext
from emulator.errors import Conflict, InvalidInput, NotFound

#: What a rebuild may set besides its image, key pair and certificates (the API gives
#: only what the request's microversion allows).
REBUILD_COLUMNS = frozenset({"display_name", "display_description", "user_data", "hostname",
                             "access_ip_v4", "access_ip_v6", "disk_config"})


@dataclass(frozen=True)
class Rebuild:
    """A validated ``rebuild`` request. ``*_given``: the request named it (a None value
    then clears it); otherwise the server keeps what it has."""

    image_ref: str
    password: str | None = None
    metadata: Mapping[str, str] | None = None
    key_name: str | None = None
    key_name_given: bool = False
    trusted_certs: tuple[str, ...] | None = None
    trusted_certs_given: bool = False
    columns: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Snapshot:
    """A validated ``createImage`` (no ``backup_type``) or ``createBackup`` request.

    ``check_quota``: Nova's image metadata quota check (up to 2.38, a 403)."""

    name: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    backup_type: str | None = None
    rotation: int = 0
    check_quota: bool = True


class DiskOperations:
    def __init__(self, operations: ServerOperations, servers: Servers, instances: Instances,
                 actions: InstanceActions, claims: Claims, flavors: FlavorService,
                 keypairs: KeyPairService, images: ImageLookup, snapshots: Snapshots,
                 zones: HostZones, migrations: Migrations,
                 allow_resize_to_same_host: bool = False,
                 volume_backed: VolumeBackedSnapshots | None = None) -> None:
        self.operations = operations
        self.servers = servers
        self.instances = instances
        self.actions = actions
        self.claims = claims
        self.flavors = flavors
        self.keypairs = keypairs
        self.images = images
        self.snapshots = snapshots
        self.zones = zones
        self.migrations = migrations
        #: Nova's ``allow_resize_to_same_host``: False schedules a resize elsewhere.
        self.allow_resize_to_same_host = allow_resize_to_same_host
        #: The quotas creates count against: resizes and rebuilds check them too.
        self.quotas = operations.creator.quotas
        #: ``createImage`` of a volume-backed server: volume snapshots and a size-0 image.
        self.volume_backed = volume_backed

    # -- rebuild -------------------------------------------------------------------------

    def _rebuild_columns(self, ctx: RequestContext, request: Rebuild,
                         row: Instance) -> dict[str, Any]:
        """Nova's ``compute_api.rebuild`` checks, in its order, and the columns it sets."""
        columns: dict[str, Any] = {"image_ref": request.image_ref, "progress": 0}
        if request.trusted_certs_given:
            authorize(ctx, "os_compute_api:servers:rebuild:trusted_certs", row.project_id)
            columns["trusted_certs"] = list(request.trusted_certs or ()) or None
        if request.key_name_given:
            columns.update(key_name=request.key_name,
                           key_data=key_data(self.keypairs, ctx, request.key_name))
        if "hostname" in request.columns:
            columns["hostname"] = request.columns["hostname"]
        image = self.images(ctx, request.image_ref)
        if image is None:
            raise InvalidInput("Cannot find image for rebuild")
        if request.metadata:
            check_metadata_count(len(request.metadata), self.quotas.metadata_limit(
                row.project_id, ctx.user_id))
        check_image_active(image)
        check_flavor_fits(image.min_ram, image.min_disk, row.memory_mb, row.root_gb,
                          check_disk=bool(row.root_gb))
        columns.update(request.columns)
        return columns

    def rebuild(self, ctx: RequestContext, server_id: str,
                request: Rebuild) -> tuple[ServerRecord, str]:
        """Rebuild the server from ``request.image_ref``; the server as accepted and its
        new admin password."""
        unknown = set(request.columns) - REBUILD_COLUMNS
        if unknown:
            raise InvalidInput(f"Cannot rebuild with {', '.join(sorted(unknown))}")
        password = request.password if request.password is not None else generate_password()
        transition = TRANSITIONS["rebuild"]
        row = self.servers.accept(ctx, server_id, transition,
                                  lambda r: self._rebuild_columns(ctx, request, r))
        if request.metadata is not None:
            self.instances.replace_metadata(row.uuid, dict(request.metadata))
        # A stopped server is rebuilt and stays stopped (the table's ``returns_to``).
        self.operations.lifecycle.act(row, ctx.request_id, transition,
                                      power_on=row.old_vm_state != VmState.STOPPED)
        return self.servers.get(ctx, row.uuid), password

    # -- resize --------------------------------------------------------------------------

    def resize(self, ctx: RequestContext, server_id: str, flavor_ref: str,
               disk_config: str | None = None) -> None:
        """Resize to ``flavor_ref``: the scheduler's claim (another host unless
        ``allow_resize_to_same_host``) holds the new flavor on the destination and the old
        one on the source until confirm or revert; a failed resize goes back."""

        def columns(row: Instance) -> dict[str, Any]:
            changes = resize_columns(self.flavors, self.images, ctx, row, flavor_ref)
            self.quotas.check_resize(ctx, row.project_id, row.user_id,
                                     changes["vcpus"] - row.vcpus,
                                     changes["memory_mb"] - row.memory_mb)
            if disk_config is not None:
                changes["disk_config"] = disk_config
            return changes

        self.move_resized(ctx, server_id, "resize", columns, RESIZE)

    def move_resized(self, ctx: RequestContext, server_id: str, key: str,
                     columns: Callable[[Instance], dict[str, Any]], migration_type: str,
                     destination: str | None = None) -> None:
        """A resize or cold migration (transition ``key``): accepted with ``columns`` (the
        new flavor in place, the old one kept), its migration recorded (``pre-migrating``,
        ``migrating`` once a host is claimed, ``finished`` in VERIFY_RESIZE, ``error``
        when it fails), then the scheduler's claim and the backend's move."""
        transition = TRANSITIONS[key]
        row = self.servers.accept(ctx, server_id, transition, columns)
        migrations, claims = self.migrations, self.claims
        migration_id = migrations.start(row, migration_type, "pre-migrating",
                                        old_flavor=row.old_flavor_id, new_flavor=row.flavor_id)
        # NOTE: as Nova's libvirt driver, a cold migration never stays on its host.
        same_host = self.allow_resize_to_same_host and migration_type == RESIZE

        def claim() -> str | None:
            host = claims.claim_resize(row.uuid, same_host, destination)
            if host is None:
                return NO_VALID_HOST
            migrations.update(migration_id, status="migrating", dest_compute=host,
                              dest_node=host, dest_host=claims.host_ip(host))
            return None

        async def finished(_result: Any) -> dict[str, Any]:
            migrations.update(migration_id, status="finished")
            return {}

        def failed() -> None:
            claims.revert(row.uuid)
            migrations.update(migration_id, status="error")

        hooks = ActionHooks(before=claim, before_event="conductor_migrate_server",
                            after=finished, undo=failed_resize_columns(row), cleanup=failed)
        self.operations.lifecycle.act(row, ctx.request_id, transition, hooks,
                                      previous=previous_spec(row))

    def _finished_migration(self, server_id: str, status: str) -> int | None:
        """The resize's migration waiting for confirm or revert, now in ``status``."""
        found = self.migrations.current(server_id, statuses=("finished",))
        if found is None:  # a resize recorded before migrations were
            return None
        self.migrations.update(found.id, status=status)
        return found.id

    def confirm_resize(self, ctx: RequestContext, server_id: str) -> None:
        """End a resize on its new flavor; the source host's claim is released."""

        transition = TRANSITIONS["confirm_resize"]
        row = self.servers.accept(ctx, server_id, transition, _resized)
        migration_id = self._finished_migration(row.uuid, "confirming")
        claims, migrations = self.claims, self.migrations

        async def confirmed(_result: Any) -> dict[str, Any]:
            claims.confirm(row.uuid)
            if migration_id is not None:
                migrations.update(migration_id, status="confirmed")
            return dict(CONFIRMED)

        self.operations.lifecycle.act(row, ctx.request_id, transition,
                                      ActionHooks(after=confirmed))

    def revert_resize(self, ctx: RequestContext, server_id: str) -> None:
        """Go back to the old flavor on the source host (the destination released)."""
        def revertible(row: Instance) -> dict[str, Any]:
            _resized(row)
            # NOTE: as Nova, the revert of a downsize is an upsize the quotas must allow.
            self.quotas.check_resize(ctx, row.project_id, row.user_id,
                                     row.old_vcpus - row.vcpus,
                                     row.old_memory_mb - row.memory_mb)
            return {}

        row = self.servers.accept(ctx, server_id, TRANSITIONS["revert_resize"], revertible)
        columns = reverted_columns(row, self.zones.host_zone)
        claims, migrations = self.claims, self.migrations
        migration_id = self._finished_migration(row.uuid, "reverting")

        async def after(_result: Any) -> dict[str, Any]:
            claims.revert(row.uuid)
            if migration_id is not None:
                migrations.update(migration_id, status="reverted")
            return columns

        self.operations.lifecycle.act(row, ctx.request_id, TRANSITIONS["revert_resize"],
                                      ActionHooks(after=after), previous=previous_spec(row))

    def confirm_due(self, server_id: str) -> None:
        """Nova's ``_poll_unconfirmed_resizes`` for one server: confirm with an admin
        context, unless the server no longer waits for it (deleted, ERROR, busy)."""
        with contextlib.suppress(Conflict, NotFound, InvalidInput):
            self.confirm_resize(periodic_context(), server_id)

    # -- images --------------------------------------------------------------------------

    def snapshot(self, ctx: RequestContext, server_id: str, request: Snapshot) -> str:
        """``createImage`` or ``createBackup``: accept the action, create its image
        (queued), start the capture; the image id."""
        backup_type = request.backup_type
        key = "create_image" if backup_type is None else "create_backup"
        limit = self.quotas.metadata_limit(ctx.project_id or "", ctx.user_id) \
            if request.check_quota and request.metadata else UNLIMITED
        if 0 <= limit < len(request.metadata):
            # NOTE: Nova checks the quota (up to 2.38) after the lookup (404) and the
            # policy (403), before the state checks (409).
            self.servers.get(ctx, server_id, TRANSITIONS[key].rule)
            check_image_metadata_count(len(request.metadata), limit)

        if backup_type is None and self.volume_backed is not None:
            image_id = self.volume_backed.snapshot(ctx, server_id, request.name,
                                                   request.metadata)
            if image_id is not None:
                # NOTE: Nova activates the image in its call; here just after it.
                self.operations.lifecycle.aside(
                    server_id, self.volume_backed.activate(ctx, image_id))
                return image_id

        def check(row: Instance) -> dict[str, Any]:
            if backup_type is not None and not row.image_ref:
                raise InvalidInput("Backup is not supported for volume-backed instances.")
            if not row.image_ref:
                authorize(ctx, "os_compute_api:servers:create_image:allow_volume_backed",
                          row.project_id)
            return {}

        row = self.servers.accept(ctx, server_id, TRANSITIONS[key], check)
        snapshots = self.snapshots
        image = self.operations.with_image(ctx, row, lambda: snapshots.begin(
            ctx, row, request.name, request.metadata,
            "snapshot" if backup_type is None else "backup", backup_type))

        async def upload(data: Any) -> dict[str, Any]:
            await snapshots.finish(ctx, image.id, bytes(data))
            if backup_type is not None:
                snapshots.rotate(ctx, row.uuid, backup_type, request.rotation)
            return {}

        hooks = ActionHooks(after=upload, cleanup=lambda: snapshots.discard(ctx, image.id))
        self.operations.lifecycle.act(row, ctx.request_id, TRANSITIONS[key], hooks)
        return image.id


def _resized(row: Instance) -> dict[str, Any]:
    """Nova's ``MigrationNotFound``: a resized server with no resize to finish."""
    if row.old_flavor_id is None:
        raise InvalidInput("Instance has not been resized.")
    return {}
