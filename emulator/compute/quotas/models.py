"""Quota tables: the limits an admin set per project, per user of a project, and per quota
class (Nova's ``quotas``, ``project_user_quotas`` and ``quota_classes``). A resource
without a row takes the next level's limit: user -> project -> ``default`` class ->
``[quota]`` configuration."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class QuotaLimit(SQLModel, table=True):
    """One resource's limit for a project (``user_id`` "") or for a user of a project."""

    project_id: str = Field(primary_key=True, max_length=255)
    user_id: str = Field(default="", primary_key=True, max_length=255)
    resource: str = Field(primary_key=True, max_length=255)
    hard_limit: int


class QuotaClassLimit(SQLModel, table=True):
    """One resource's limit in a quota class (only ``default`` is ever read, as Nova)."""

    class_name: str = Field(primary_key=True, max_length=255)
    resource: str = Field(primary_key=True, max_length=255)
    hard_limit: int
