"""Images as Glance keeps them: visibility, the status machine, properties, tags, members.

The Glance API and Nova's image proxy both call this module; it never speaks HTTP. Data
goes through the ``ImageStore``: an upload is streamed into a part file, hashed on the way
and renamed into place only when complete, so an image is ``active`` only with all of its
data, and an interrupted upload leaves it ``queued``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Literal

from sqlalchemy import true
from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, EmulatorError, Forbidden, InvalidInput, NotFound
from emulator.image import formats
from emulator.image.models import Image, ImageMember, ImageProperty, ImageTag
from emulator.image.policy import Target, authorize
from emulator.image.store import ImageStore, PartialWrite

# -- errors Glance has and Nova's vocabulary lacks (the image API maps them) -------------


class LimitExceeded(EmulatorError):
    """A count or size limit (properties, tags, members, image size): Glance's 413."""


class InvalidImageData(EmulatorError):
    """The uploaded data is not in the image's disk format: Glance's 415."""


class Gone(EmulatorError):
    """The image was deleted while its data was being uploaded: Glance's 410."""


class TagNotFound(NotFound):
    """The image exists but does not carry the tag."""


# -- vocabulary ----------------------------------------------------------------------------

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

#: Glance's ``image_property_quota``, ``image_tag_quota``, ``image_member_quota``.
PROPERTY_QUOTA = 128
TAG_QUOTA = 128
MEMBER_QUOTA = 128
#: Glance's ``image_size_cap`` (1 TiB).
SIZE_CAP = 1 << 40

HASH_ALGO = "sha512"

#: Images every emulator starts with: (id, name, disk format, virtual size, properties).
#: Their data is an empty qcow2 of that virtual size (the sizes of the real images).
SEED_IMAGES: tuple[tuple[str, str, str, int, dict[str, str]], ...] = (
    ("be844b13-3d9f-4d4f-8805-b348e2a4ef07", "cirros-0.6.2-x86_64-disk", "qcow2",
     112 * 1024**2, {"os_distro": "cirros", "os_version": "0.6.2"}),
    ("a8a712ea-9ba1-4e33-8731-37b55cfb46f8", "debian-12-genericcloud-amd64", "qcow2",
     2 * 1024**3, {"os_distro": "debian", "os_version": "12"}),
)

_COLUMN_FILTERS_WITH_OPS = ("name", "id", "status", "container_format", "disk_format")
_TIME_FILTERS = ("created_at", "updated_at")
_INT_COLUMNS = ("size", "virtual_size", "min_disk", "min_ram")
_EQUALITY_COLUMNS = ("owner", "checksum", "os_hash_algo", "os_hash_value", "protected",
                     *_INT_COLUMNS)
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda a, b: a == b, "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
}
_ISO_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$")


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found(image_id: str) -> NotFound:
    return NotFound(f"No image found with ID {image_id}")


# -- records -------------------------------------------------------------------------------


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


# -- filters --------------------------------------------------------------------------------


def split_filter_op(expression: str) -> tuple[str, str]:
    """``"gte:2020-01-01"`` -> ``("gte", "2020-01-01")``; no operator means ``eq``.

    An ISO 8601 time alone (it has colons) is an equality, as in Glance.
    """
    left, sep, right = expression.partition(":")
    if not sep or _ISO_TIME.match(expression):
        return "eq", expression
    return left, right


def split_in_values(value: str) -> list[str]:
    """The values of an ``in:`` filter: comma separated, double quotes protect commas."""
    values: list[str] = []
    current: list[str] = []
    quoted = False
    for i, char in enumerate(value):
        if char == '"' and (i == 0 or value[i - 1] != "\\"):
            if not quoted and current:
                raise InvalidInput(f"Invalid filter value {value}. There is no comma before "
                                   "opening quotation mark.")
            if quoted and i + 1 < len(value) and value[i + 1] != ",":
                raise InvalidInput(f"Invalid filter value {value}. There is no comma after "
                                   "closing quotation mark.")
            quoted = not quoted
        elif char == "," and not quoted:
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise InvalidInput(f"Invalid filter value {value}. The quote is not closed.")
    values.append("".join(current))
    return values


def parse_time(text: str, name: str) -> datetime:
    """An ISO 8601 time in UTC, or Glance's 400."""
    match = _ISO_TIME.match(text.strip())
    if match is None:
        raise InvalidInput(f'Bad "{name}" query filter format. Use ISO 8601 DateTime notation.')
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                         int(second or 0), int((fraction or "0").ljust(6, "0")), tzinfo=UTC)
    except ValueError:
        raise InvalidInput(
            f'Bad "{name}" query filter format. Use ISO 8601 DateTime notation.') from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


#: The database's integer range (BIGINT); min_ram and min_disk are 32-bit (INTEGER).
MAX_BIGINT = 2**63 - 1
MAX_INT = 2**31 - 1


def _int_filter(key: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"Unable to filter on {key} with a non-numeric value.") from None
    if abs(value) > MAX_BIGINT:
        raise InvalidInput(f"Unable to filter on {key} with a value out of range.")
    return value


# -- the service -----------------------------------------------------------------------------


class ImageService:
    def __init__(
        self,
        db: Database,
        store: ImageStore,
        require_format_match: bool = True,
        size_cap: int = SIZE_CAP,
    ) -> None:
        self.db = db
        self.store = store
        self.require_format_match = require_format_match
        self.size_cap = size_cap

    # -- start-up ---------------------------------------------------------------------------

    def recover(self) -> None:
        """Undo uploads a crash interrupted: ``saving`` goes back to ``queued``, no data."""
        self.store.discard_partials()
        with self.db.session() as s:
            unfinished = select(Image).where(col(Image.status).in_(("queued", "saving")))
            for row in list(s.exec(unfinished).all()):
                self.store.delete(row.id)
                if row.status == "saving":
                    row.status = "queued"
                    s.add(row)

    def seed(self, owner: str | None) -> None:
        """Create the seeded public images that do not exist (by id); idempotent."""
        for image_id, name, disk_format, virtual_size, properties in SEED_IMAGES:
            with self.db.session() as s:
                row = s.get(Image, image_id)
                if row is not None and (row.status != "active" or self.store.exists(image_id)):
                    continue
                written = self.store.put(image_id, formats.qcow2_image(virtual_size))
                now = _now()
                if row is None:
                    row = Image(id=image_id, name=name, visibility="public", owner=owner,
                                disk_format=disk_format, container_format="bare",
                                created_at=now, updated_at=now)
                    s.add(row)
                    s.flush()
                    for key, value in properties.items():
                        s.add(ImageProperty(image_id=image_id, name=key, value=value))
                self._record_data(row, written, virtual_size)
                s.add(row)

    def register_file(self, image_id: str, name: str, disk_format: str, source: Path,
                      owner: str | None) -> None:
        """Make ``source``'s bytes the data of a public ``bare`` image ``image_id`` (created
        if missing); idempotent: nothing is written when the stored data is the same."""
        md5 = hashlib.md5(usedforsecurity=False)
        with source.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                md5.update(chunk)
        with self.db.session() as s:
            row = s.get(Image, image_id)
            if (row is not None and row.status == "active" and row.checksum == md5.hexdigest()
                    and self.store.exists(image_id)):
                return
            write = self.store.begin(image_id)
            try:
                with source.open("rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        write.write(chunk)
                virtual_size = formats.check(disk_format, formats.inspect(write.head),
                                             write.size)
                write.commit()
            except BaseException:
                write.abort()
                raise
            now = _now()
            if row is None:
                row = Image(id=image_id, name=name, visibility="public", owner=owner,
                            disk_format=disk_format, container_format="bare",
                            created_at=now, updated_at=now)
                s.add(row)
                s.flush()
            self._record_data(row, write, virtual_size)
            s.add(row)

    # -- reading -----------------------------------------------------------------------------

    @staticmethod
    def _is_member(s: Session, image_id: str, project_id: str | None,
                   status: str | None = None) -> bool:
        if project_id is None:
            return False
        stmt = select(ImageMember).where(ImageMember.image_id == image_id,
                                         ImageMember.member == project_id)
        if status is not None:
            stmt = stmt.where(ImageMember.status == status)
        return s.exec(stmt).first() is not None

    def _visible(self, s: Session, ctx: RequestContext, row: Image) -> bool:
        """Glance's ``is_image_visible``: admin, ownerless, public, community, own, member."""
        if ctx.is_admin or row.owner is None or row.visibility in ("public", "community"):
            return True
        if ctx.project_id is None:
            return False
        if row.owner == ctx.project_id:
            return True
        return row.visibility == "shared" and self._is_member(s, row.id, ctx.project_id)

    def _row(self, s: Session, ctx: RequestContext, image_id: str) -> Image:
        row = s.get(Image, image_id)
        if row is None or row.status == "deleted" or not self._visible(s, ctx, row):
            raise _not_found(image_id)
        return row

    def _target(self, s: Session, ctx: RequestContext, row: Image,
                member_id: str | None = None) -> Target:
        return Target(owner=row.owner, visibility=row.visibility,
                      is_member=self._is_member(s, row.id, ctx.project_id),
                      member_id=member_id)

    def _record(self, s: Session, row: Image) -> ImageRecord:
        props = s.exec(select(ImageProperty).where(ImageProperty.image_id == row.id)).all()
        tags = s.exec(select(ImageTag).where(ImageTag.image_id == row.id)).all()
        return ImageRecord(
            id=row.id, name=row.name, status=row.status, visibility=row.visibility,
            protected=row.protected, os_hidden=row.os_hidden, owner=row.owner,
            disk_format=row.disk_format, container_format=row.container_format,
            size=row.size, virtual_size=row.virtual_size, checksum=row.checksum,
            os_hash_algo=row.os_hash_algo, os_hash_value=row.os_hash_value,
            min_disk=row.min_disk, min_ram=row.min_ram, created_at=row.created_at,
            updated_at=row.updated_at,
            properties={p.name: p.value for p in sorted(props, key=lambda p: p.name)},
            tags=tuple(sorted(t.value for t in tags)),
        )

    def get(self, ctx: RequestContext, image_id: str) -> ImageRecord:
        with self.db.session() as s:
            return self._record(s, self._row(s, ctx, image_id))

    def _listable(self, ctx: RequestContext, query: ImageQuery) -> Any:
        """Glance's ``_select_images_query`` plus its community rule, as one condition."""
        shared = select(ImageMember.image_id).where(ImageMember.member == ctx.project_id)
        if query.member_status != "all":
            shared = shared.where(ImageMember.status == query.member_status)
        condition: Any = true()
        if not ctx.is_admin:
            condition = (col(Image.visibility).in_(("public", "community"))
                         | ((col(Image.visibility) == "shared") & col(Image.id).in_(shared)))
            if ctx.project_id is not None:
                condition = condition | (col(Image.owner) == ctx.project_id)
        if query.visibility is not None:
            if query.visibility != "all":
                condition = condition & (col(Image.visibility) == query.visibility)
        elif ctx.project_id is None:
            condition = condition & (col(Image.visibility) != "community")
        else:
            condition = condition & ((col(Image.owner) == ctx.project_id)
                                     | (col(Image.visibility) != "community"))
        return condition

    @staticmethod
    def _filter_condition(key: str, raw: str) -> Any:
        """One query filter as a SQL condition (Glance's ``_make_conditions_from_filters``)."""
        if key.endswith(("_min", "_max")) and key[:-4] in _INT_COLUMNS:
            column = getattr(Image, key[:-4])
            bound = _int_filter(key, raw)
            return col(column) >= bound if key.endswith("_min") else col(column) <= bound
        if key in _TIME_FILTERS:
            op, text = split_filter_op(raw)
            if op not in _COMPARISONS:
                raise InvalidInput("Unable to filter on a unknown operator.")
            return _COMPARISONS[op](col(getattr(Image, key)), parse_time(text, key))
        if key in _COLUMN_FILTERS_WITH_OPS:
            column = col(getattr(Image, key))
            op, value = split_filter_op(raw)
            if op == "in":
                return column.in_(split_in_values(value))
            if op == "eq":
                return column == value
            raise InvalidInput(f"Unable to filter by unknown operator '{op}'.")
        if key in _EQUALITY_COLUMNS:
            column = col(getattr(Image, key))
            if key == "protected":
                return column == (raw.lower() == "true")
            if key in _INT_COLUMNS:
                return column == _int_filter(key, raw)
            return column == raw
        has_property = select(ImageProperty.image_id).where(ImageProperty.name == key,
                                                            ImageProperty.value == raw)
        return col(Image.id).in_(has_property)

    @staticmethod
    def _sort_value(row: Image, key: str) -> Any:
        value = getattr(row, key)
        if value is None:
            return 0 if key == "size" else ""
        return value

    def _after(self, row: Image, marker: Image, sort: Sequence[tuple[str, str]]) -> bool:
        """Whether ``row`` comes after ``marker`` in the order ``sort`` gives."""
        for key, direction in sort:
            a, b = self._sort_value(row, key), self._sort_value(marker, key)
            if a == b:
                continue
            return bool(a > b) if direction == "asc" else bool(a < b)
        return False

    def list_images(self, ctx: RequestContext, query: ImageQuery) -> ImagePage:
        """Images ``ctx`` may list, filtered, sorted and paged after ``query.marker``."""
        with self.db.session() as s:
            stmt = select(Image).where(self._listable(ctx, query)).where(
                col(Image.status).not_in(("killed", "deleted")),
                col(Image.os_hidden) == query.os_hidden)
            for key, raw in query.filters.items():
                stmt = stmt.where(self._filter_condition(key, raw))
            for tag in query.tags:
                tagged = select(ImageTag.image_id).where(ImageTag.value == tag)
                stmt = stmt.where(col(Image.id).in_(tagged))
            rows = list(s.exec(stmt).all())
            # Glance breaks ties by created_at, then id: in the direction given when there
            # is only one, else descending.
            sort = list(query.sort)
            directions = {d for _, d in sort}
            tie = directions.pop() if len(directions) == 1 else "desc"
            for key in ("created_at", "id"):
                if key not in (k for k, _ in sort):
                    sort.append((key, tie))
            for key, direction in reversed(sort):
                rows.sort(key=partial(self._sort_value, key=key), reverse=direction == "desc")
            if query.marker is not None:
                marker = s.get(Image, query.marker)
                if marker is None or not self._visible(s, ctx, marker):
                    raise InvalidInput(f"No image found with ID {query.marker}")
                rows = [r for r in rows if self._after(r, marker, sort)]
            page = rows[:query.limit]
            next_marker = page[-1].id if page and len(page) == query.limit else None
            return ImagePage([self._record(s, r) for r in page], next_marker)

    # -- creating and changing ----------------------------------------------------------------

    @staticmethod
    def _check_visibility_change(ctx: RequestContext, visibility: str, target: Target) -> None:
        if visibility == "public":
            authorize(ctx, "publicize_image", target)
        elif visibility == "community":
            authorize(ctx, "communitize_image", target)

    @staticmethod
    def _check_non_negative(name: str, value: int) -> None:
        if value < 0:
            raise InvalidInput(
                f"Invalid value '{value}' for parameter '{name}': Cannot be a negative value")
        if value > MAX_INT:
            raise InvalidInput(f"Invalid value '{value}' for parameter '{name}': Cannot be "
                               f"greater than {MAX_INT}")

    @staticmethod
    def _check_quota(kind: str, count: int, maximum: int) -> None:
        if count > maximum:
            raise LimitExceeded(
                f"The limit has been exceeded on the number of allowed image {kind}. "
                f"Attempted: {count}, Maximum: {maximum}")

    def create(self, ctx: RequestContext, new: NewImage) -> ImageRecord:
        target = Target(owner=new.owner, visibility=new.visibility)
        if not ctx.is_admin and new.owner != ctx.project_id:
            raise Forbidden(f"You are not permitted to create images owned by '{new.owner}'")
        authorize(ctx, "add_image", target)
        self._check_visibility_change(ctx, new.visibility, target)
        self._check_non_negative("min_disk", new.min_disk)
        self._check_non_negative("min_ram", new.min_ram)
        tags = sorted(set(new.tags))
        self._check_quota("properties", len(new.properties), PROPERTY_QUOTA)
        self._check_quota("tags", len(tags), TAG_QUOTA)
        image_id = new.id or str(uuid.uuid4())
        now = _now()
        with self.db.session() as s:
            if s.get(Image, image_id) is not None:
                raise Conflict(f"Image ID {image_id} already exists!")
            row = Image(
                id=image_id, name=new.name, visibility=new.visibility, protected=new.protected,
                os_hidden=new.os_hidden, owner=new.owner, disk_format=new.disk_format,
                container_format=new.container_format, min_disk=new.min_disk,
                min_ram=new.min_ram, created_at=now, updated_at=now,
            )
            s.add(row)
            s.flush()
            for key, value in new.properties.items():
                s.add(ImageProperty(image_id=image_id, name=key, value=value))
            for tag in tags:
                s.add(ImageTag(image_id=image_id, value=tag))
            s.flush()
            return self._record(s, row)

    def update(self, ctx: RequestContext, image_id: str,
               changes: Sequence[Change]) -> ImageRecord:
        """Apply JSON-patch ``changes`` in order, all or nothing (Glance's ``update``)."""
        with self.db.session() as s:
            row = self._row(s, ctx, image_id)
            if not changes:
                return self._record(s, row)
            target = self._target(s, ctx, row)
            properties = {p.name: p for p in s.exec(
                select(ImageProperty).where(ImageProperty.image_id == image_id)).all()}
            values = {name: p.value for name, p in properties.items()}
            tags = {t.value for t in s.exec(
                select(ImageTag).where(ImageTag.image_id == image_id)).all()}
            for change in changes:
                name = change.path[0]
                if name == "visibility" and change.op != "remove":
                    self._check_visibility_change(ctx, change.value, target)
                authorize(ctx, "modify_image", target)
                if name == "locations":
                    raise Forbidden("It's not allowed to update locations if locations are "
                                    "invisible.")
                if change.op == "remove":
                    if name in ATTRIBUTES:
                        raise Forbidden(f"Property {name} may not be removed.")
                    if name not in values:
                        raise Conflict(f"Property {name} does not exist.")
                    del values[name]
                    continue
                if change.op == "add" and change.draft == 4 and (
                        name in ATTRIBUTES or name in values):
                    raise Conflict(f"Property {name} already present.")
                if change.op == "replace" and name not in ATTRIBUTES and name not in values:
                    raise Conflict(f"Property {name} does not exist.")
                if name == "tags":
                    tags = set(change.value)
                elif name in ATTRIBUTES:
                    self._set_attribute(ctx, row, name, change.value)
                else:
                    values[name] = change.value
            self._check_quota("properties", len(values), PROPERTY_QUOTA)
            self._check_quota("tags", len(tags), TAG_QUOTA)
            self._save_properties(s, image_id, properties, values)
            self._save_tags(s, image_id, tags)
            row.updated_at = _now()
            s.add(row)
            s.flush()
            return self._record(s, row)

    def _set_attribute(self, ctx: RequestContext, row: Image, name: str, value: Any) -> None:
        if name in ("disk_format", "container_format") and row.status != "queued":
            raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
        if name in ("min_disk", "min_ram"):
            self._check_non_negative(name, value)
        if name == "owner" and not ctx.is_admin:
            raise Forbidden("Owner can't be updated by non admin.")
        if name not in ("name", "visibility", "protected", "os_hidden", "owner", "disk_format",
                        "container_format", "min_disk", "min_ram"):
            raise Forbidden(f"Attribute '{name}' is read-only.")
        setattr(row, name, value)

    @staticmethod
    def _save_properties(s: Session, image_id: str, rows: dict[str, ImageProperty],
                         values: dict[str, str]) -> None:
        for name, prop in rows.items():
            if name not in values:
                s.delete(prop)
            elif prop.value != values[name]:
                prop.value = values[name]
                s.add(prop)
        for name, value in values.items():
            if name not in rows:
                s.add(ImageProperty(image_id=image_id, name=name, value=value))

    @staticmethod
    def _save_tags(s: Session, image_id: str, tags: set[str]) -> None:
        existing = {t.value: t for t in s.exec(
            select(ImageTag).where(ImageTag.image_id == image_id)).all()}
        for value, row in existing.items():
            if value not in tags:
                s.delete(row)
        for value in tags - set(existing):
            s.add(ImageTag(image_id=image_id, value=value))

    def delete(self, ctx: RequestContext, image_id: str) -> None:
        with self.db.session() as s:
            row = self._row(s, ctx, image_id)
            authorize(ctx, "delete_image", self._target(s, ctx, row))
            if row.protected:
                raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
            for model in (ImageProperty, ImageTag, ImageMember):
                for child in s.exec(select(model).where(model.image_id == image_id)).all():
                    s.delete(child)
            s.flush()
            s.delete(row)
        self.store.delete(image_id)

    # -- tags -------------------------------------------------------------------------------

    def add_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        with self.db.session() as s:
            row = self._row(s, ctx, image_id)
            authorize(ctx, "modify_image", self._target(s, ctx, row))
            if s.get(ImageTag, (image_id, tag)) is not None:
                return
            count = len(s.exec(select(ImageTag).where(ImageTag.image_id == image_id)).all())
            self._check_quota("tags", count + 1, TAG_QUOTA)
            s.add(ImageTag(image_id=image_id, value=tag))
            row.updated_at = _now()
            s.add(row)

    def remove_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        with self.db.session() as s:
            row = self._row(s, ctx, image_id)
            authorize(ctx, "modify_image", self._target(s, ctx, row))
            existing = s.get(ImageTag, (image_id, tag))
            if existing is None:
                raise TagNotFound(f"Tag {tag} not found.")
            s.delete(existing)
            row.updated_at = _now()
            s.add(row)

    # -- activation ---------------------------------------------------------------------------

    def set_active(self, ctx: RequestContext, image_id: str, active: bool) -> None:
        """Deactivate (``active=False``) or reactivate an image; a no-op when already so."""
        rule, have, want = (("reactivate", "deactivated", "active") if active
                            else ("deactivate", "active", "deactivated"))
        with self.db.session() as s:
            row = self._row(s, ctx, image_id)
            authorize(ctx, rule, self._target(s, ctx, row))
            if row.status == want:
                return
            if row.status != have:
                raise Forbidden(f"Not allowed to {rule} image in status '{row.status}'")
            row.status = want
            row.updated_at = _now()
            s.add(row)

    # -- data ---------------------------------------------------------------------------------

    def _begin_upload(self, ctx: RequestContext, image_id: str) -> Image:
        with self.db.session() as s:
            row = self._row(s, ctx, image_id)
            authorize(ctx, "upload_image", self._target(s, ctx, row))
            if row.status != "queued":
                raise Conflict(
                    f"Image status transition from {row.status} to saving is not allowed")
            missing = [k for k in ("disk_format", "container_format") if not getattr(row, k)]
            if missing:
                noun = "Property" if len(missing) == 1 else "Properties"
                raise InvalidInput(f"{noun} {', '.join(missing)} must be set prior to "
                                   "saving data.")
            row.status = "saving"
            row.updated_at = _now()
            s.add(row)
            return row

    def _restore_queued(self, image_id: str) -> None:
        with self.db.session() as s:
            row = s.get(Image, image_id)
            if row is not None and row.status == "saving":
                row.status = "queued"
                row.updated_at = _now()
                s.add(row)

    def _virtual_size(self, row: Image, write: PartialWrite) -> int | None:
        """Glance's in-flight inspection, for ``bare`` images only."""
        if row.container_format != "bare":
            return None
        found = formats.inspect(write.head)
        try:
            return formats.check(row.disk_format, found, write.size)
        except formats.FormatMismatch as exc:
            if self.require_format_match:
                raise InvalidImageData(str(exc)) from None
            return None

    @staticmethod
    def _record_data(row: Image, write: PartialWrite, virtual_size: int | None) -> None:
        row.size = write.size
        row.virtual_size = virtual_size
        row.checksum = write.md5.hexdigest()
        row.os_hash_algo = HASH_ALGO
        row.os_hash_value = write.sha512.hexdigest()
        row.status = "active"
        row.updated_at = _now()

    async def upload(self, ctx: RequestContext, image_id: str,
                     chunks: AsyncIterable[bytes]) -> ImageRecord:
        """Stream ``chunks`` in as the image's data; ``active`` only once all of it is in.

        Any failure (a refused format, a size over the cap, the client going away) drops
        the part file and puts the image back to ``queued``, as Glance's ``_restore``.
        """
        row = self._begin_upload(ctx, image_id)
        write = self.store.begin(image_id)
        try:
            async for chunk in chunks:
                if write.size + len(chunk) > self.size_cap:
                    raise LimitExceeded("The incoming image is too large: The provided image "
                                        "is too large.")
                write.write(chunk)
            virtual_size = self._virtual_size(row, write)
            write.commit()
        except BaseException:
            write.abort()
            self._restore_queued(image_id)
            raise
        with self.db.session() as s:
            current = s.get(Image, image_id)
            if current is None or current.status != "saving":
                self.store.delete(image_id)
                raise Gone(f"Image {image_id} could not be found after upload. The image may "
                           "have been deleted during the upload, cleaning up the chunks "
                           "uploaded.")
            self._record_data(current, write, virtual_size)
            s.add(current)
            s.flush()
            return self._record(s, current)

    def open_data(self, ctx: RequestContext, image_id: str) -> ImageData | None:
        """The image's data for download, or None when it has none (Glance's 204)."""
        with self.db.session() as s:
            row = self._row(s, ctx, image_id)
            if row.status == "deactivated" and not ctx.is_admin:
                raise Forbidden("The requested image has been deactivated. Image data "
                                "download is forbidden.")
            authorize(ctx, "download_image", self._target(s, ctx, row))
            record = self._record(s, row)
        if record.status not in ("active", "deactivated"):
            return None
        handle = self.store.open(image_id)
        if handle is None:
            return None
        return ImageData(record, handle, record.size or 0)

    # -- members ------------------------------------------------------------------------------

    def _shared_row(self, s: Session, ctx: RequestContext, image_id: str) -> Image:
        row = self._row(s, ctx, image_id)
        if row.visibility != "shared":
            raise Forbidden("Only shared images have members.")
        return row

    @staticmethod
    def _member_record(m: ImageMember) -> MemberRecord:
        return MemberRecord(m.image_id, m.member, m.status, m.created_at, m.updated_at)

    def list_members(self, ctx: RequestContext, image_id: str) -> list[MemberRecord]:
        with self.db.session() as s:
            row = self._shared_row(s, ctx, image_id)
            authorize(ctx, "get_members", self._target(s, ctx, row, ctx.project_id))
            stmt = select(ImageMember).where(ImageMember.image_id == image_id)
            if not ctx.is_admin and row.owner != ctx.project_id:
                stmt = stmt.where(ImageMember.member == ctx.project_id)
            members = s.exec(stmt.order_by(col(ImageMember.created_at))).all()
            return [self._member_record(m) for m in members]

    def add_member(self, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
        with self.db.session() as s:
            row = self._shared_row(s, ctx, image_id)
            authorize(ctx, "add_member", self._target(s, ctx, row, member_id))
            if s.get(ImageMember, (image_id, member_id)) is not None:
                raise Conflict(f"Member {member_id} is duplicated for image {image_id}")
            count = len(s.exec(
                select(ImageMember).where(ImageMember.image_id == image_id)).all())
            self._check_quota("members", count + 1, MEMBER_QUOTA)
            now = _now()
            member = ImageMember(image_id=image_id, member=member_id, created_at=now,
                                 updated_at=now)
            s.add(member)
            return self._member_record(member)

    def _member(self, s: Session, image_id: str, member_id: str) -> ImageMember:
        member = s.get(ImageMember, (image_id, member_id))
        if member is None:
            raise NotFound(f"{member_id} not found in the member list of the image "
                           f"{image_id}.")
        return member

    def get_member(self, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
        with self.db.session() as s:
            row = self._shared_row(s, ctx, image_id)
            authorize(ctx, "get_member", self._target(s, ctx, row, member_id))
            return self._member_record(self._member(s, image_id, member_id))

    def update_member(self, ctx: RequestContext, image_id: str, member_id: str,
                      status: str) -> MemberRecord:
        with self.db.session() as s:
            row = self._shared_row(s, ctx, image_id)
            authorize(ctx, "modify_member", self._target(s, ctx, row, member_id))
            member = self._member(s, image_id, member_id)
            if status not in MEMBER_STATUSES:
                raise InvalidInput('Incorrect request: Status must be "pending", "accepted" '
                                   'or "rejected".')
            member.status = status
            member.updated_at = _now()
            s.add(member)
            return self._member_record(member)

    def remove_member(self, ctx: RequestContext, image_id: str, member_id: str) -> None:
        with self.db.session() as s:
            row = self._shared_row(s, ctx, image_id)
            authorize(ctx, "delete_member", self._target(s, ctx, row, member_id))
            s.delete(self._member(s, image_id, member_id))


def property_changes(current: Mapping[str, str], wanted: Mapping[str, str],
                     purge: bool) -> list[Change]:
    """The patch that turns ``current`` properties into ``wanted`` (plus, unless ``purge``,
    the ones ``wanted`` does not name): how Nova's proxy writes image metadata."""
    changes = [Change("replace" if key in current else "add", (key,), value)
               for key, value in wanted.items() if current.get(key) != value]
    if purge:
        changes += [Change("remove", (key,)) for key in current if key not in wanted]
    return changes
