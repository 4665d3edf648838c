"""Compute tables."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Flavor(SQLModel, table=True):
    #: Internal integer id (Nova's ``flavors.id``); the API shows ``flavorid``.
    id: int | None = Field(default=None, primary_key=True)
    flavorid: str = Field(index=True, unique=True, max_length=255)
    name: str = Field(index=True, unique=True, max_length=255)
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    disabled: bool = False
    description: str | None = None
    created_at: datetime


class FlavorExtraSpec(SQLModel, table=True):
    flavor_id: int = Field(foreign_key="flavor.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=255)
    value: str = Field(max_length=255)


class FlavorAccess(SQLModel, table=True):
    flavor_id: int = Field(foreign_key="flavor.id", primary_key=True)
    project_id: str = Field(primary_key=True, max_length=255)
