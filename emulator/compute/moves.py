"""Moving servers between hosts: cold migration (``migrate``), live migration
(``os-migrateLive`` and its force-complete and abort) and evacuation.

Each move is a row of the transition table and a migration record (``Migrations``) whose
status follows the move as Nova's conductor and compute manager set it. While a move runs
the server's flavor is claimed on the destination and the source's allocation is held by
the migration's consumer (``Claims``); the end of the move releases one or the other.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from backends.base import (
    BackendError,
    ComputeBackend,
    InstanceSpec,
    MigrationProgress,
    NoLiveMigration,
)
from emulator.compute.actions import TRANSITIONS
from emulator.compute.backend_errors import failure_message
from emulator.compute.claims import Claims
from emulator.compute.disk_operations import DiskOperations
from emulator.compute.instance_actions import InstanceActions
from emulator.compute.lifecycle import NO_VALID_HOST, Lifecycle
from emulator.compute.migrations import COLD, EVACUATION, LIVE, Migrations
from emulator.compute.migrations.records import LIVE_IN_PROGRESS, MigrationRecord
from emulator.compute.models import Instance
from emulator.compute.naming import generate_password
from emulator.compute.plans import ActionHooks
from emulator.compute.policy import allowed, authorize
from emulator.compute.resizes import kept_flavor_columns
from emulator.compute.servers import Servers
from emulator.compute.services import Services
from emulator.compute.specs import instance_spec
from emulator.compute.states import VmState
from emulator.context import RequestContext
from emulator.errors import InvalidInput, NotFound

#: The statuses a live migration may be aborted in: ``running``, and from 2.65 the ones
#: before it.
ABORTABLE = frozenset({"running"})
ABORTABLE_V265 = frozenset({"running", "queued", "preparing"})
#: Seconds a force or an abort waits for the backend to begin the live migration.
WAIT_FOR_BEGIN = 60.0


def _number(migration_id: str) -> int:
    """A migration id from the path (-1, found nowhere, for one that is not a number)."""
    return int(migration_id) if migration_id.isdigit() else -1


@dataclass
class _Move:
    """A live migration or evacuation under way: its migration record, and once it is
    scheduled, its claim and destination."""

    claims: Claims
    migrations: Migrations
    migration_id: int
    server_id: str
    claimed: bool = False
    dest: str = ""

    def claim(self, host: str | None, force: bool, status: str) -> str | None:
        """Schedule the move (the migration ``status`` once it has a destination); the
        refusal when nothing fits (migration ``error``)."""
        dest = self.claims.claim_move(self.server_id, host, force)
        if dest is None:
            self.migrations.update(self.migration_id, status="error")
            return NO_VALID_HOST
        self.claimed, self.dest = True, dest
        self.migrations.update(self.migration_id, status=status, dest_compute=dest,
                               dest_node=dest, dest_host=self.claims.host_ip(dest))
        return None

    def specs(self, current: Instance) -> tuple[InstanceSpec, InstanceSpec]:
        """The instance on its destination, and as it is on its source."""
        source = instance_spec(current)
        return dataclasses.replace(source, host=self.dest), source

    def arrived(self, status: str) -> None:
        """The server is on its destination: the source's allocation goes."""
        self.claims.moved(self.server_id, self.dest)
        self.claims.confirm(self.server_id)
        self.migrations.update(self.migration_id, status=status)

    def failed(self, status: str) -> None:
        """The server stays on its source: the destination's claim goes."""
        if self.claimed:
            self.claims.revert(self.server_id)
            self.migrations.update(self.migration_id, status=status)


@dataclass(frozen=True)
class LiveMigration:
    """A validated ``os-migrateLive``: a host (None: the scheduler's pick), whether to
    copy the disks (None: ``auto``), and ``force`` (2.30-2.67: skip the scheduler)."""

    host: str | None = None
    block_migration: bool | None = None
    force: bool = False


@dataclass(frozen=True)
class Evacuation:
    """A validated ``evacuate``: host, ``force`` (2.29-2.67), admin password, and whether
    the server ends stopped (2.95)."""

    host: str | None = None
    force: bool = False
    password: str | None = None
    stopped: bool = False


class Moves:
    def __init__(self, servers: Servers, lifecycle: Lifecycle, actions: InstanceActions,
                 claims: Claims, migrations: Migrations, services: Services,
                 disk: DiskOperations, backend: ComputeBackend) -> None:
        self.servers = servers
        self.lifecycle = lifecycle
        self.actions = actions
        self.claims = claims
        self.migrations = migrations
        self.services = services
        self.disk = disk
        self.backend = backend
        #: Live migrations an abort was asked for: they end ``cancelled``, not ``failed``.
        self._aborted: set[int] = set()

    def _known_host(self, host: str) -> None:
        if self.services.host(host) is None:
            raise InvalidInput(f"Compute host {host} could not be found.")

    # -- cold migration --------------------------------------------------------------------

    def migrate(self, ctx: RequestContext, server_id: str, host: str | None = None) -> None:
        """Nova's ``resize`` without a flavor: the server moves to another host (``host``,
        2.56) and waits in VERIFY_RESIZE for confirm or revert."""
        rule = "os_compute_api:os-migrate-server:migrate" + (":host" if host else "")
        found = self.servers.get(ctx, server_id, rule)

        def columns(row: Instance) -> dict[str, Any]:
            if host is not None:
                if host == row.host:
                    raise InvalidInput("Cannot migrate to the host where the server exists.")
                self._known_host(host)
            return kept_flavor_columns(row)

        self.disk.move_resized(ctx, found.uuid, "migrate", columns, COLD, destination=host)

    # -- live migration --------------------------------------------------------------------

    def live_migrate(self, ctx: RequestContext, server_id: str, request: LiveMigration) -> None:
        """Accept the live migration (task ``migrating``, migration ``accepted``), then
        schedule it (``error`` when nothing fits), copy the guest while it runs
        (``running``, with the backend's progress), and switch it over (``completed``; the
        source's allocation released). A failure leaves it on its source (``failed``); an
        abort too (``cancelled``)."""
        rule = "os_compute_api:os-migrate-server:migrate_live" + (
            ":host" if request.host else "")
        found = self.servers.get(ctx, server_id, rule)
        if request.host is not None:
            self._known_host(request.host)
        transition = TRANSITIONS["live_migrate"]
        row = self.servers.accept(ctx, found.uuid, transition)
        migrations = self.migrations
        migration_id = migrations.start(row, LIVE, "accepted", dest=request.host,
                                        old_flavor=row.flavor_id, new_flavor=row.flavor_id)
        move = _Move(self.claims, migrations, migration_id, row.uuid)

        def claim() -> str | None:
            if request.host is not None and request.host == row.host:
                migrations.update(migration_id, status="error")
                return (f"Unable to migrate instance ({row.uuid}) to current host "
                        f"({row.host}).")
            return move.claim(request.host, request.force, "running")

        def call(current: Instance) -> tuple[InstanceSpec, dict[str, Any]]:
            destination, source = move.specs(current)

            def progress(done: MigrationProgress) -> None:
                migrations.progress(migration_id, done)

            return destination, {"previous": source, "progress": progress,
                                 "block_migration": bool(request.block_migration)}

        async def switched(_result: Any) -> dict[str, Any]:
            migrations.update(migration_id, status="post-migrating")
            move.arrived("completed")
            return {}

        def failed() -> None:
            aborted = migration_id in self._aborted
            self._aborted.discard(migration_id)
            move.failed("cancelled" if aborted else "failed")

        hooks = ActionHooks(before=claim, before_event="conductor_live_migrate_instance",
                            after=switched, cleanup=failed, call=call)
        self.lifecycle.act(row, ctx.request_id, transition, hooks)

    def _running(self, row: Instance, migration_id: str, allowed: frozenset[str],
                 method: str) -> MigrationRecord:
        """The server's migration ``migration_id`` if its status is in ``allowed``."""
        found = self.migrations.get(_number(migration_id), row.uuid)
        if found is None:
            raise NotFound(f"Migration {migration_id} not found for instance {row.uuid}")
        if found.status not in allowed:
            raise InvalidInput(f"Migration {migration_id} state of instance {row.uuid} is "
                               f"{found.status}. Cannot {method} while the migration is "
                               "in this state.")
        return found

    def force_complete(self, ctx: RequestContext, server_id: str, migration_id: str) -> None:
        """``force_complete``: the running live migration finishes now (the backend
        switches to post-copy or pauses the guest to converge)."""
        chosen: list[MigrationRecord] = []

        def running(row: Instance) -> dict[str, Any]:
            try:
                chosen.append(self._running(row, migration_id, frozenset({"running"}),
                                            "force complete"))
            except NotFound as exc:  # NOTE: Nova answers 400 for it here
                raise InvalidInput(exc.message) from None
            return {}

        row = self.servers.accept(ctx, server_id, TRANSITIONS["live_migration_force_complete"],
                                  running)
        self._beside(row, ctx.request_id, "compute_live_migration_force_complete",
                     self._once_begun(chosen[0].id,
                                      self.backend.live_migration_force_complete))

    def abort(self, ctx: RequestContext, server_id: str, migration_id: str,
              in_queue: bool) -> None:
        """``DELETE .../migrations/{id}``: cancel the live migration; the server stays on
        its source (migration ``cancelled``)."""
        allowed = ABORTABLE_V265 if in_queue else ABORTABLE
        chosen: list[MigrationRecord] = []

        def abortable(row: Instance) -> dict[str, Any]:
            chosen.append(self._running(row, migration_id, allowed, "abort live migration"))
            return {}

        row = self.servers.accept(ctx, server_id, TRANSITIONS["live_migration_abort"],
                                  abortable)
        self._aborted.add(chosen[0].id)
        self._beside(row, ctx.request_id, "compute_live_migration_abort",
                     self._once_begun(chosen[0].id, self.backend.live_migration_abort))

    def _once_begun(self, migration_id: int, verb: Callable[[InstanceSpec], Awaitable[None]]
                    ) -> Callable[[InstanceSpec], Awaitable[None]]:
        """``verb`` on the live migration ``migration_id``, retried while the backend has
        not begun it yet (``NoLiveMigration`` while the migration is still in progress)."""
        migrations = self.migrations

        async def when_begun(spec: InstanceSpec) -> None:
            # NOTE: a migration is "running" once its host is claimed, a moment before the
            # backend's copy begins: a force or an abort in between waits for the copy
            # rather than missing it.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT_FOR_BEGIN
            while True:
                try:
                    await verb(spec)
                    return
                except NoLiveMigration:
                    found = migrations.get(migration_id, spec.uuid)
                    if (found is None or found.status not in LIVE_IN_PROGRESS
                            or loop.time() > deadline):
                        raise
                await asyncio.sleep(0.05)

        return when_begun

    def _beside(self, row: Instance, request_id: str, event: str,
                verb: Callable[[InstanceSpec], Any]) -> None:
        """Run ``verb`` on the server's live migration, beside the migration's own task,
        recording its event."""
        actions = self.actions

        async def work() -> None:
            actions.start_event(row.uuid, request_id, event, row.host)
            try:
                await verb(instance_spec(row))
            except BackendError as exc:
                actions.finish_event(row.uuid, request_id, event, "Error",
                                     failure_message(exc))
                return
            actions.finish_event(row.uuid, request_id, event, "Success")

        self.lifecycle.aside(row.uuid, work())

    def in_progress(self, ctx: RequestContext, server_id: str) -> list[MigrationRecord]:
        """The server's live migrations under way (``GET servers/{id}/migrations``)."""
        found = self.servers.get(ctx, server_id, "os_compute_api:servers:migrations:index")
        return self.migrations.live_in_progress(found.uuid)

    def in_progress_one(self, ctx: RequestContext, server_id: str,
                        migration_id: str) -> MigrationRecord:
        """One live migration under way of the server (Nova's 404 texts otherwise)."""
        found = self.servers.get(ctx, server_id, "os_compute_api:servers:migrations:show")
        migration = self.migrations.get(_number(migration_id), found.uuid)
        if migration is None:
            raise NotFound(f"In-progress live migration {migration_id} is not found for "
                           f"server {found.uuid}.")
        if migration.migration_type != LIVE:
            raise NotFound(f"Migration {migration_id} for server {found.uuid} is not "
                           "live-migration.")
        if migration.status not in LIVE_IN_PROGRESS:
            raise NotFound(f"Live migration {migration_id} for server {found.uuid} is not "
                           "in progress.")
        return migration

    # -- evacuation ------------------------------------------------------------------------

    def evacuate(self, ctx: RequestContext, server_id: str, request: Evacuation) -> str:
        """Rebuild the server on another host because its own is down (Nova refuses while
        its compute service is up); the admin password. Migration ``accepted``, then
        ``pre-migrating`` once a host is claimed, ``done`` when it runs there."""
        found = self.servers.get(ctx, server_id, "os_compute_api:os-evacuate")
        if request.host is not None and self.services.host(request.host) is None:
            raise NotFound(f"Compute host {request.host} not found.")
        if request.host is not None and request.host == found.instance.host:
            raise InvalidInput("The target host can't be the same one.")
        password = request.password if request.password is not None \
            else generate_password()

        def source_down(row: Instance) -> dict[str, Any]:
            service = self.services.compute_services([row.host or ""]).get(row.host or "")
            if service is not None and service.up:
                raise InvalidInput(f"Compute service of {row.host} is still in use.")
            return {}

        key = "evacuate_stopped" if request.stopped else "evacuate"
        transition = TRANSITIONS[key]
        row = self.servers.accept(ctx, found.uuid, transition, source_down)
        migration_id = self.migrations.start(row, EVACUATION, "accepted", dest=request.host)
        move = _Move(self.claims, self.migrations, migration_id, row.uuid)

        def claim() -> str | None:
            return move.claim(request.host, request.force, "pre-migrating")

        def call(current: Instance) -> tuple[InstanceSpec, dict[str, Any]]:
            destination, source = move.specs(current)
            power_on = not request.stopped and row.old_vm_state != VmState.STOPPED
            return destination, {"previous": source, "power_on": power_on}

        async def rebuilt(_result: Any) -> dict[str, Any]:
            # NOTE: Nova keeps the source's allocation until its compute service comes
            # back and cleans up; here it goes at once.
            move.arrived("done")
            return {}

        def failed() -> None:
            move.failed("failed")

        hooks = ActionHooks(before=claim, before_event="conductor_rebuild_server",
                            after=rebuilt, cleanup=failed, call=call)
        self.lifecycle.act(row, ctx.request_id, transition, hooks)
        return password

    # -- the list of every migration ---------------------------------------------------------

    def authorize_list(self, ctx: RequestContext, project_id: str | None) -> bool:
        """``os-migrations``' policy: the list (403), every project's unless the caller's
        own is asked for (403); whether the hosts are shown (no error)."""
        authorize(ctx, "os_compute_api:os-migrations:index")
        if not project_id or project_id != ctx.project_id:
            authorize(ctx, "os_compute_api:os-migrations:index:all_projects")
        return allowed(ctx, "os_compute_api:os-migrations:index:host")
