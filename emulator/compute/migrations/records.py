"""Migrations as the domain hands them to the API, and the statuses a move goes through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Nova's ``migration_type`` values.
COLD, RESIZE, LIVE, EVACUATION = "migration", "resize", "live-migration", "evacuation"

#: The statuses each kind of move passes through, in order, and how it can end (Nova's
#: conductor and compute manager set them; ``error``/``failed`` end a move that failed).
STATUSES: dict[str, tuple[str, ...]] = {
    COLD: ("pre-migrating", "migrating", "post-migrating", "finished",
           "confirming", "confirmed", "reverting", "reverted", "error"),
    RESIZE: ("pre-migrating", "migrating", "post-migrating", "finished",
             "confirming", "confirmed", "reverting", "reverted", "error"),
    LIVE: ("accepted", "queued", "preparing", "running", "post-migrating", "completed",
           "cancelled", "failed", "error"),
    # ``done`` until the source's compute service comes back, then ``completed``.
    EVACUATION: ("accepted", "pre-migrating", "done", "completed", "failed", "error"),
}

#: A live migration in one of these is in progress (``servers/{id}/migrations`` shows it;
#: Nova's list in ``server_migrations.show`` and ``migrations._output``).
LIVE_IN_PROGRESS = frozenset({"queued", "preparing", "running", "post-migrating"})

#: Every status a migration may be in.
KNOWN_STATUSES = frozenset(status for flow in STATUSES.values() for status in flow)


@dataclass(frozen=True)
class MigrationRecord:
    id: int
    uuid: str
    instance_uuid: str
    user_id: str
    project_id: str
    migration_type: str
    status: str
    source_compute: str | None
    source_node: str | None
    dest_compute: str | None
    dest_node: str | None
    dest_host: str | None
    old_instance_type_id: int | None
    new_instance_type_id: int | None
    memory_total: int | None
    memory_processed: int | None
    memory_remaining: int | None
    disk_total: int | None
    disk_processed: int | None
    disk_remaining: int | None
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class MigrationQuery:
    """Filters and page of ``os-migrations`` (parsed and validated by the API)."""

    host: str | None = None
    source_compute: str | None = None
    status: str | None = None
    instance_uuid: str | None = None
    migration_type: str | None = None
    user_id: str | None = None
    project_id: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    #: 2.59: newest first by (created_at, id), paged; None: every one, oldest first.
    limit: int | None = None
    marker: str | None = None
