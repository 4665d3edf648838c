"""Moves and their migrations: the ``migrate``, ``os-migrateLive`` and ``evacuate``
actions, ``/os-migrations`` and ``/servers/{id}/migrations``.

| version | change |
|---|---|
| 2.14 | evacuate: no ``onSharedStorage``, no ``adminPass`` in the answer |
| 2.22 | ``POST servers/{id}/migrations/{id}/action`` ``force_complete`` |
| 2.23 | ``GET servers/{id}/migrations[/{id}]``; ``migration_type`` and links in os-migrations |
| 2.24 | ``DELETE servers/{id}/migrations/{id}``: abort a live migration |
| 2.25 | os-migrateLive: no ``disk_over_commit``; ``block_migration: auto`` |
| 2.29, 2.30 | evacuate / os-migrateLive ``force`` (until 2.67) |
| 2.56 | migrate ``host`` |
| 2.59 | os-migrations paging (``limit``, ``marker``, ``changes-since``), ``uuid`` |
| 2.65 | abort a live migration still ``queued`` or ``preparing`` |
| 2.66 | os-migrations ``changes-before`` |
| 2.80 | ``user_id``/``project_id``: shown and os-migrations filters |
| 2.95 | an evacuated server ends stopped |
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import ActionTable, V
from emulator.api.compute.flavors import schema_bool
from emulator.api.compute.server_views import naive
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.migrations import LIVE, LIVE_IN_PROGRESS, MigrationQuery, MigrationRecord
from emulator.compute.moves import Evacuation, LiveMigration, Moves
from emulator.compute.policy import allowed

_HOSTS = ("dest_compute", "dest_host", "dest_node", "source_compute", "source_node")
_PROGRESS = ("disk_processed", "disk_remaining", "disk_total", "memory_processed",
             "memory_remaining", "memory_total")


def _time(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def server_migration_view(call: Call, migration: MigrationRecord,
                          include_host: bool = True) -> dict[str, Any]:
    """One live migration under way (``servers/{id}/migrations``)."""
    shown: dict[str, Any] = {
        "created_at": naive(migration.created_at), "id": migration.id,
        "server_uuid": migration.instance_uuid, "status": migration.status,
        "updated_at": naive(migration.updated_at or migration.created_at),
    }
    for name in _HOSTS:
        shown[name] = getattr(migration, name) if include_host else None
    for name in _PROGRESS:
        # NOTE: Nova's response schema wants these at least 1 or null: nothing copied
        # (no disk in a live migration on shared storage) is null here.
        shown[f"{name}_bytes"] = getattr(migration, name) or None
    if call.version >= V(2, 59):
        shown["uuid"] = migration.uuid
    if call.version >= V(2, 80):
        shown.update(user_id=migration.user_id, project_id=migration.project_id)
    return shown


class MigrationsController:
    def __init__(self, moves: Moves) -> None:
        self.moves = moves

    # -- the actions -------------------------------------------------------------------

    def actions(self) -> ActionTable:
        base = V(2, 1)
        return {"migrate": (base, self.migrate), "os-migrateLive": (base, self.live_migrate),
                "evacuate": (base, self.evacuate)}

    async def migrate(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "migrate")
        host = payload.get("host") if isinstance(payload, dict) \
            and call.version >= V(2, 56) else None
        self.moves.migrate(common.context(call), call.params["server_id"], host)
        return empty_response(202)

    async def live_migrate(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "migrate_live")
        host = payload["host"]
        raw = payload["block_migration"]
        block = None if call.version >= V(2, 25) and raw == "auto" else schema_bool(raw)
        force = False
        if V(2, 30) <= call.version < V(2, 68):
            force = schema_bool(payload.get("force", False))
            if force and not host:
                raise Fault(400, "Can't force to a non-provided destination")
        self.moves.live_migrate(common.context(call), call.params["server_id"],
                                LiveMigration(host=host or None, block_migration=block,
                                              force=force))
        return empty_response(202)

    async def evacuate(self, call: Call, payload: Any) -> Response:
        common.check_body(call, "evacuate")
        host = payload.get("host")
        password: str | None = payload.get("adminPass")
        shared = False
        if call.version < V(2, 14):
            shared = schema_bool(payload["onSharedStorage"])
            if password is not None and shared:
                raise Fault(400, "admin password can't be changed on existing disk")
        force = False
        if V(2, 29) <= call.version < V(2, 68):
            force = schema_bool(payload.get("force", False))
            if force and not host:
                raise Fault(400, "Can't force to a non-provided destination")
        password = self.moves.evacuate(
            common.context(call), call.params["server_id"],
            Evacuation(host=host, force=force, password=password,
                       stopped=call.version >= V(2, 95)))
        if call.version >= V(2, 14):
            return empty_response(200)
        # NOTE: on shared storage with no password given, Nova answers a null one.
        given = payload.get("adminPass")
        return json_response({"adminPass": given if shared else password})

    # -- servers/{id}/migrations ---------------------------------------------------------

    async def server_index(self, call: Call) -> Response:
        common.check_query(call, "server_migrations_query")
        ctx = common.context(call)
        found = self.moves.in_progress(ctx, call.params["server_id"])
        include_host = allowed(ctx, "os_compute_api:servers:migrations:index:host")
        return json_response({"migrations": [server_migration_view(call, m, include_host)
                                             for m in found]})

    async def server_show(self, call: Call) -> Response:
        common.check_query(call, "server_migrations_query")
        found = self.moves.in_progress_one(common.context(call), call.params["server_id"],
                                           call.params["migration_id"])
        return json_response({"migration": server_migration_view(call, found)})

    async def server_action(self, call: Call) -> Response:
        common.check_body(call, "force_complete")
        self.moves.force_complete(common.context(call), call.params["server_id"],
                                  call.params["migration_id"])
        return empty_response(202)

    async def server_delete(self, call: Call) -> Response:
        self.moves.abort(common.context(call), call.params["server_id"],
                         call.params["migration_id"], in_queue=call.version >= V(2, 65))
        return empty_response(202)

    # -- os-migrations -----------------------------------------------------------------

    def _query(self, call: Call) -> MigrationQuery:
        last = common.last_value
        paged = call.version >= V(2, 59)
        limit, marker = common.limit_and_marker(call) if paged else (None, None)
        since = _time(last(call, "changes-since")) if paged else None
        before = _time(last(call, "changes-before")) if call.version >= V(2, 66) else None
        if since is not None and before is not None and before < since:
            raise Fault(400, "The value of changes-since must be less than or equal to "
                             "changes-before.")
        owners = call.version >= V(2, 80)
        return MigrationQuery(
            host=last(call, "host"), source_compute=last(call, "source_compute"),
            status=last(call, "status"), instance_uuid=last(call, "instance_uuid"),
            migration_type=last(call, "migration_type"),
            user_id=last(call, "user_id") if owners else None,
            project_id=last(call, "project_id") if owners else None,
            changes_since=since, changes_before=before,
            limit=limit if paged else None, marker=marker)

    def _view(self, call: Call, migration: MigrationRecord,
              include_host: bool) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "created_at": naive(migration.created_at), "id": migration.id,
            "instance_uuid": migration.instance_uuid,
            "new_instance_type_id": migration.new_instance_type_id,
            "old_instance_type_id": migration.old_instance_type_id,
            "status": migration.status, "updated_at": naive(migration.updated_at),
        }
        for name in _HOSTS:
            shown[name] = getattr(migration, name) if include_host else None
        if call.version >= V(2, 23):
            shown["migration_type"] = migration.migration_type
            if migration.migration_type == LIVE and migration.status in LIVE_IN_PROGRESS:
                shown["links"] = common.links(
                    call, f"servers/{migration.instance_uuid}/migrations", str(migration.id))
        if call.version >= V(2, 59):
            shown["uuid"] = migration.uuid
        if call.version >= V(2, 80):
            shown.update(user_id=migration.user_id, project_id=migration.project_id)
        return shown

    async def index(self, call: Call) -> Response:
        common.check_query(call, "migrations_query")
        ctx = common.context(call)
        query = self._query(call)
        include_host = self.moves.authorize_list(ctx, query.project_id)
        found = self.moves.migrations.search(query)
        items = [self._view(call, m, include_host) for m in found]
        if call.version < V(2, 59):
            return json_response({"migrations": items})
        return json_response(common.page_body(call, "migrations", "os-migrations", items,
                                              found[-1].uuid if found else None))
