"""Image tables (Glance's ``images``, ``image_properties``, ``image_tags``, ``image_members``).

Timestamps are aware UTC. A deleted image is removed with its rows and its data: Glance
keeps soft-deleted rows, but no API shows them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class Image(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=36)
    name: str | None = Field(default=None, index=True, max_length=255)
    #: queued, saving, active, killed, deleted, deactivated (Glance's image states).
    status: str = Field(default="queued", index=True, max_length=30)
    #: public, private, shared, community.
    visibility: str = Field(default="shared", index=True, max_length=9)
    protected: bool = False
    os_hidden: bool = False
    #: The owning project's id.
    owner: str | None = Field(default=None, index=True, max_length=255)
    disk_format: str | None = Field(default=None, max_length=20)
    container_format: str | None = Field(default=None, max_length=20)
    #: Bytes: BIGINT (an image of 2 GiB or more is out of PostgreSQL's INTEGER).
    size: int | None = Field(default=None, sa_column=Column(BigInteger))
    virtual_size: int | None = Field(default=None, sa_column=Column(BigInteger))
    #: MD5 hex digest of the data.
    checksum: str | None = Field(default=None, max_length=32)
    os_hash_algo: str | None = Field(default=None, max_length=64)
    os_hash_value: str | None = Field(default=None, max_length=128)
    min_disk: int = 0
    min_ram: int = 0
    created_at: datetime
    updated_at: datetime


class ImageProperty(SQLModel, table=True):
    """A custom property (any key that is not an image attribute); values are strings."""

    image_id: str = Field(foreign_key="image.id", primary_key=True, max_length=36)
    name: str = Field(primary_key=True, max_length=255)
    value: str


class ImageTag(SQLModel, table=True):
    image_id: str = Field(foreign_key="image.id", primary_key=True, max_length=36)
    value: str = Field(primary_key=True, max_length=255)


class ImageMember(SQLModel, table=True):
    """A project a ``shared`` image is offered to; it sees the image once it accepts."""

    image_id: str = Field(foreign_key="image.id", primary_key=True, max_length=36)
    member: str = Field(primary_key=True, max_length=255)
    #: pending, accepted or rejected.
    status: str = Field(default="pending", max_length=20)
    created_at: datetime
    updated_at: datetime
