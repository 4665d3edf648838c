"""The migration records: written by the moves (``emulator.compute.moves`` and the
resizes) as they go, read by ``os-migrations`` and ``servers/{id}/migrations``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, or_, tuple_, update
from sqlmodel import col, select

from backends.base import MigrationProgress
from emulator.compute.migrations.models import Migration
from emulator.compute.migrations.records import (
    EVACUATION,
    KNOWN_STATUSES,
    LIVE,
    LIVE_IN_PROGRESS,
    MigrationQuery,
    MigrationRecord,
)
from emulator.compute.models import Flavor, Instance
from emulator.compute.records import now, utc
from emulator.db import Database
from emulator.errors import InvalidInput
from emulator.ids import new_uuid

#: The columns a progress report sets.
_PROGRESS = ("memory_total", "memory_processed", "memory_remaining", "disk_total",
             "disk_processed", "disk_remaining")


def record(row: Migration) -> MigrationRecord:
    assert row.id is not None
    return MigrationRecord(
        id=row.id, uuid=row.uuid, instance_uuid=row.instance_uuid, user_id=row.user_id,
        project_id=row.project_id, migration_type=row.migration_type, status=row.status,
        source_compute=row.source_compute, source_node=row.source_node,
        dest_compute=row.dest_compute, dest_node=row.dest_node, dest_host=row.dest_host,
        old_instance_type_id=row.old_instance_type_id,
        new_instance_type_id=row.new_instance_type_id,
        memory_total=row.memory_total, memory_processed=row.memory_processed,
        memory_remaining=row.memory_remaining, disk_total=row.disk_total,
        disk_processed=row.disk_processed, disk_remaining=row.disk_remaining,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at) if row.updated_at else None)


class Migrations:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- written by the moves --------------------------------------------------------------

    def start(self, instance: Instance, migration_type: str, status: str, *,
              dest: str | None = None, dest_ip: str | None = None,
              old_flavor: str | None = None, new_flavor: str | None = None) -> int:
        """A new migration of ``instance`` from its host; its id."""
        with self.db.session() as s:
            ids = dict(s.exec(select(Flavor.flavorid, Flavor.id).where(
                col(Flavor.flavorid).in_([f for f in (old_flavor, new_flavor) if f]))).all())
            row = Migration(
                uuid=new_uuid(), instance_uuid=instance.uuid, user_id=instance.user_id,
                project_id=instance.project_id, migration_type=migration_type, status=status,
                source_compute=instance.host, source_node=instance.node, dest_compute=dest,
                dest_node=dest, dest_host=dest_ip,
                old_instance_type_id=ids.get(old_flavor or ""),
                new_instance_type_id=ids.get(new_flavor or ""), created_at=now())
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

    def update(self, migration_id: int, **columns: Any) -> None:
        """Set ``columns`` (a status of ``STATUSES``, the destination...) of one
        migration."""
        if columns.get("status", "accepted") not in KNOWN_STATUSES:
            raise ValueError(f"no migration status {columns['status']!r}")
        with self.db.session() as s:
            s.execute(update(Migration).where(col(Migration.id) == migration_id)
                      .values(**columns, updated_at=now()))

    def in_progress_on(self, host: str) -> bool:
        """Whether a move from or to ``host`` is under way (Nova's
        ``get_in_progress_by_host_and_node``: any status but the accepted and the ended
        ones)."""
        ended = ("accepted", "confirmed", "reverted", "error", "failed", "completed",
                 "cancelled", "done")
        with self.db.session() as s:
            return s.exec(select(Migration.id).where(
                or_(col(Migration.source_compute) == host, col(Migration.dest_compute) == host),
                col(Migration.status).not_in(ended)).limit(1)).first() is not None

    def evacuated_from(self, host: str) -> bool:
        """Whether evacuations from ``host`` are ``done`` (its compute service has not
        come back to clean up after them)."""
        with self.db.session() as s:
            return s.exec(select(Migration.id).where(
                Migration.source_compute == host, Migration.status == "done",
                Migration.migration_type == EVACUATION).limit(1)).first() is not None

    def complete_evacuations(self, host: str) -> None:
        """A compute service back on ``host``: its ``done`` evacuations are ``completed``
        (Nova's ``_destroy_evacuated_instances`` at the service's start)."""
        with self.db.session() as s:
            s.execute(update(Migration).where(
                col(Migration.source_compute) == host, col(Migration.status) == "done",
                col(Migration.migration_type) == EVACUATION)
                .values(status="completed", updated_at=now()))

    def interrupted(self) -> int:
        """At start-up, what a stop cut short: a confirm or revert waits for its turn
        again (``finished``), any other move under way ends in ``error`` (Nova's compute
        manager errors out the migrations of its ``init_host``). How many changed."""
        waiting = {"confirming": "finished", "reverting": "finished"}
        under_way = KNOWN_STATUSES - {"finished", "done", "confirmed", "reverted",
                                      "completed", "cancelled", "failed", "error"}
        with self.db.session() as s:
            changed = 0
            for status in sorted(under_way):
                result = s.execute(update(Migration).where(col(Migration.status) == status)
                                   .values(status=waiting.get(status, "error"),
                                           updated_at=now()))
                changed += int(getattr(result, "rowcount", 0) or 0)
        return changed

    def purge(self) -> None:
        """Forget every migration (the control plane's reset forgets every server)."""
        with self.db.session() as s:
            s.execute(delete(Migration))

    def progress(self, migration_id: int, progress: MigrationProgress) -> None:
        self.update(migration_id, **{name: getattr(progress, name) for name in _PROGRESS})

    def current(self, instance_uuid: str, migration_type: str | None = None,
                statuses: Sequence[str] | None = None) -> MigrationRecord | None:
        """The newest migration of the server (of that type, in one of ``statuses``)."""
        query = select(Migration).where(Migration.instance_uuid == instance_uuid)
        if migration_type is not None:
            query = query.where(Migration.migration_type == migration_type)
        if statuses is not None:
            query = query.where(col(Migration.status).in_(list(statuses)))
        with self.db.session() as s:
            row = s.exec(query.order_by(col(Migration.id).desc()).limit(1)).first()
        return record(row) if row is not None else None

    # -- read by the API ------------------------------------------------------------------

    def get(self, migration_id: int, instance_uuid: str) -> MigrationRecord | None:
        with self.db.session() as s:
            row = s.exec(select(Migration).where(Migration.id == migration_id,
                                                 Migration.instance_uuid == instance_uuid)
                         ).first()
        return record(row) if row is not None else None

    def live_in_progress(self, instance_uuid: str) -> list[MigrationRecord]:
        """Nova's ``get_in_progress_by_instance(..., 'live-migration')``."""
        with self.db.session() as s:
            rows = s.exec(select(Migration).where(
                Migration.instance_uuid == instance_uuid, Migration.migration_type == LIVE,
                col(Migration.status).in_(sorted(LIVE_IN_PROGRESS)))
                .order_by(col(Migration.id))).all()
        return [record(r) for r in rows]

    def search(self, query: MigrationQuery) -> list[MigrationRecord]:
        """Nova's ``migration_get_all_by_filters``: every filter given; paged newest first
        by (created_at, id) with a limit or marker, else in id order. The marker is a
        migration's uuid (an unknown one is a 400)."""
        if query.limit == 0:
            return []
        m = Migration
        statement = select(m)
        changed = func.coalesce(m.updated_at, m.created_at)
        if query.changes_since is not None:
            statement = statement.where(changed >= query.changes_since.replace(tzinfo=None))
        if query.changes_before is not None:
            statement = statement.where(changed <= query.changes_before.replace(tzinfo=None))
        if query.status is not None:
            statement = statement.where(m.status == query.status)
        if query.host is not None:
            statement = statement.where(or_(col(m.source_compute) == query.host,
                                            col(m.dest_compute) == query.host))
        elif query.source_compute is not None:
            statement = statement.where(m.source_compute == query.source_compute)
        for name in ("migration_type", "instance_uuid", "user_id", "project_id"):
            value = getattr(query, name)
            if value is not None:
                statement = statement.where(getattr(m, name) == value)
        with self.db.session() as s:
            if query.marker is not None:
                marker = s.exec(select(m).where(m.uuid == query.marker)).first()
                if marker is None:
                    raise InvalidInput(f"Marker {query.marker} could not be found.")
                statement = statement.where(tuple_(m.created_at, m.id)
                                            < tuple_(marker.created_at, marker.id))
            if query.limit is not None or query.marker is not None:
                statement = statement.order_by(col(m.created_at).desc(), col(m.id).desc())
                if query.limit is not None:
                    statement = statement.limit(query.limit)
            else:
                statement = statement.order_by(col(m.id))
            rows = s.exec(statement).all()
        return [record(r) for r in rows]
