"""The image domain's vocabulary and the values that cross its boundary: the records it
returns (detached from the database) and the requests it takes (already parsed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Literal

STATUSES = ("queued", "saving", "active", "killed", "deleted", "deactivated")
VISIBILITIES = ("public", "private", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")

#: Glance's ``image_format`` defaults.
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")

#: Attributes of an image (Glance's domain ``Image``); every other key is a property.
ATTRIBUTES = ("name", "status", "visibility", "protected", "os_hidden", "owner",
              "disk_format", "container_format", "size", "virtual_size", "checksum",
              "os_hash_algo", "os_hash_value", "min_disk", "min_ram", "created_at",
              "updated_at", "tags", "locations")

#: Glance's sort keys (``_available_sort_keys``).
SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")

HASH_ALGO = "sha512"

# -- what the domain returns -----------------------------------------------------------------


@dataclass(frozen=True)
class ImageRecord:
    """An image as the APIs show it, detached from the database."""

    id: str
    name: str | None
    status: str
    visibility: str
    protected: bool
    os_hidden: bool
    owner: str | None
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    min_disk: int
    min_ram: int
    created_at: datetime
    updated_at: datetime
    properties: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class MemberRecord:
    image_id: str
    member_id: str
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ImagePage:
    images: list[ImageRecord]
    #: The id to pass as ``marker`` for the next page (None on the last page).
    next_marker: str | None


@dataclass(frozen=True)
class ImageData:
    """An image's data opened for reading."""

    record: ImageRecord
    file: BinaryIO
    size: int


# -- what the domain takes -------------------------------------------------------------------


@dataclass(frozen=True)
class NewImage:
    """A create request, already validated against the image schema."""

    owner: str | None
    id: str | None = None
    name: str | None = None
    visibility: str = "shared"
    protected: bool = False
    os_hidden: bool = False
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    properties: Mapping[str, str] = field(default_factory=dict)
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class Change:
    """One JSON-patch operation on an image, with its path already decoded."""

    op: Literal["add", "replace", "remove"]
    path: tuple[str, ...]
    value: Any = None
    #: 10 for ``openstack-images-v2.1-json-patch``, 4 for the v2.0 dialect.
    draft: int = 10


@dataclass(frozen=True)
class ImageQuery:
    """A list request, already parsed: filters are the remaining raw query values."""

    filters: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    visibility: str | None = None
    member_status: str = "accepted"
    os_hidden: bool = False
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)
    limit: int = 25
    marker: str | None = None
