"""Host aggregate tables (Nova's API database ``aggregates``, ``aggregate_hosts``,
``aggregate_metadata``), and the hosts seeded into the aggregates of their zones.

NOTE: Nova's aggregates are deleted for good (their views still show ``deleted: false``
and ``deleted_at: null``), and ids are never reused: ``sqlite_autoincrement`` keeps a
deleted aggregate's id from coming back, as MySQL's and PostgreSQL's sequences do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class Aggregate(SQLModel, table=True):
    __table_args__ = {"sqlite_autoincrement": True}

    #: What the API calls the aggregate's id (an integer, as Nova's).
    id: int | None = Field(default=None, primary_key=True)
    #: Shown from 2.41; placement's aggregate of the same hosts.
    uuid: str = Field(index=True, unique=True, max_length=36)
    name: str = Field(unique=True, max_length=255)
    created_at: datetime
    #: Set when the aggregate's own row changes (a rename), as Nova's timestamp mixin.
    updated_at: datetime | None = None


class AggregateHost(SQLModel, table=True):
    """A host in an aggregate; ``id`` keeps the order hosts were added (Nova lists them
    so)."""

    __table_args__ = (UniqueConstraint("aggregate_id", "host"),
                      {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    aggregate_id: int = Field(foreign_key="aggregate.id", index=True)
    host: str = Field(index=True, max_length=255)


class AggregateMetadata(SQLModel, table=True):
    """One metadata item; ``id`` keeps the order keys were first set."""

    __table_args__ = (UniqueConstraint("aggregate_id", "key"),
                      {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    aggregate_id: int = Field(foreign_key="aggregate.id", index=True)
    key: str = Field(max_length=255)
    value: str = Field(max_length=255)


class SeededHost(SQLModel, table=True):
    """A host the backend reported, with the zone it reported when the state first saw it
    (and put it in that zone's aggregate). A host is seeded once: afterwards the
    aggregates API alone decides its zone, across restarts."""

    host: str = Field(primary_key=True, max_length=255)
    zone: str = Field(max_length=255)
