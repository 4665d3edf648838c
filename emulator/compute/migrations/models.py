"""The migrations table (Nova's cell database ``migrations``): one row per move of a
server between hosts, kept after the move ends (``os-migrations`` lists them all)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel


class Migration(SQLModel, table=True):
    __tablename__ = "migrations"
    __table_args__ = (Index("ix_migrations_created_id", "created_at", "id"),
                      {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(index=True, unique=True, max_length=36)
    instance_uuid: str = Field(index=True, max_length=36)
    user_id: str = Field(max_length=255)
    project_id: str = Field(max_length=255)
    #: ``migration``, ``resize``, ``live-migration`` or ``evacuation``.
    migration_type: str = Field(max_length=16)
    status: str = Field(max_length=255)
    source_compute: str | None = Field(default=None, max_length=255)
    source_node: str | None = Field(default=None, max_length=255)
    dest_compute: str | None = Field(default=None, max_length=255)
    dest_node: str | None = Field(default=None, max_length=255)
    #: The destination's address (Nova's ``dest_host``: its compute service's ``my_ip``).
    dest_host: str | None = Field(default=None, max_length=255)
    #: The flavors' internal integer ids (Nova's ``instance_type_id``).
    old_instance_type_id: int | None = None
    new_instance_type_id: int | None = None
    memory_total: int | None = None
    memory_processed: int | None = None
    memory_remaining: int | None = None
    disk_total: int | None = None
    disk_processed: int | None = None
    disk_remaining: int | None = None
    created_at: datetime
    updated_at: datetime | None = None
