"""Service tables (Nova's cell database ``services`` and ``compute_nodes``).

One row per running service: ``nova-scheduler`` and ``nova-conductor`` on the controller,
``nova-compute`` on each compute host; and one compute node per compute service (what
``os-hypervisors`` lists). NOTE: Nova soft-deletes both; a deleted row here is gone, and
``sqlite_autoincrement`` keeps its id from coming back, as MySQL's sequences do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Service(SQLModel, table=True):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"), {"sqlite_autoincrement": True})

    #: What the API calls the service's id before 2.53.
    id: int | None = Field(default=None, primary_key=True)
    #: The id from 2.53.
    uuid: str = Field(index=True, unique=True, max_length=36)
    host: str = Field(index=True, max_length=255)
    binary: str = Field(max_length=255)
    disabled: bool = False
    disabled_reason: str | None = Field(default=None, max_length=255)
    #: 2.11: the operator says the service is down, whatever its heartbeat says.
    forced_down: bool = False
    created_at: datetime
    #: The last change made through the API (its heartbeats are not stored).
    updated_at: datetime | None = None


class ComputeNode(SQLModel, table=True):
    """The hypervisor of a compute service: its id is the hypervisor's id before 2.53
    (from 2.53 the id is its resource provider's uuid)."""

    __tablename__ = "compute_nodes"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="services.id", index=True)
    host: str = Field(index=True, unique=True, max_length=255)
    hypervisor_hostname: str = Field(max_length=255)
    created_at: datetime
