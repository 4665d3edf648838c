"""Server group tables (Nova's ``instance_groups`` and ``instance_group_member``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, UniqueConstraint
from sqlmodel import Field, SQLModel


class InstanceGroup(SQLModel, table=True):
    """A server group: one policy (Nova stores it in a table of its own; there was only
    ever one per group) and, for ``anti-affinity``, its rules."""

    #: Internal integer id: creation order (the order of every list).
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(index=True, unique=True, max_length=36)
    name: str = Field(max_length=255)
    project_id: str = Field(index=True, max_length=255)
    user_id: str = Field(max_length=255)
    #: ``affinity``, ``anti-affinity``, ``soft-affinity`` or ``soft-anti-affinity``.
    policy: str = Field(max_length=255)
    #: 2.64 rules: ``{"max_server_per_host": n}`` or empty.
    rules: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime


class InstanceGroupMember(SQLModel, table=True):
    """A server in a group, from its create until its delete ends."""

    __table_args__ = (UniqueConstraint("group_id", "instance_uuid"),)

    #: Insertion order: the order ``members`` lists them in.
    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="instancegroup.id", index=True)
    instance_uuid: str = Field(index=True, max_length=36)
