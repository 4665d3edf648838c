"""Flavors: the seeded set, visibility rules, admin management, access lists, extra specs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from emulator.compute.extra_specs import InvalidExtraSpec, validate_extra_spec
from emulator.compute.models import Flavor, FlavorAccess, FlavorExtraSpec
from emulator.compute.policy import authorize
from emulator.context import RequestContext
from emulator.db import Database, table_of
from emulator.errors import Conflict, InvalidInput, NotFound
from emulator.ids import new_uuid
from emulator.reads import KeyedRead, KeyedRow, Reader

#: Flavors every emulator starts with: (flavorid, name, ram MiB, vCPUs, root disk GiB).
#: The m1.* set of a classic Nova install, DevStack's nano/micro and ds* flavors.
SEED_FLAVORS: tuple[tuple[str, str, int, int, int], ...] = (
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("4", "m1.large", 8192, 4, 80),
    ("5", "m1.xlarge", 16384, 8, 160),
    ("42", "m1.nano", 128, 1, 1),
    ("84", "m1.micro", 192, 1, 1),
    ("c1", "cirros256", 256, 1, 1),
    ("d1", "ds512M", 512, 1, 5),
    ("d2", "ds1G", 1024, 1, 10),
    ("d3", "ds2G", 2048, 2, 10),
    ("d4", "ds4G", 4096, 4, 20),
)

#: Nova's flavor sort keys (``VALID_SORT_KEYS``) -> our column names.
SORT_COLUMNS: dict[str, str] = {
    "created_at": "created_at", "description": "description", "disabled": "disabled",
    "ephemeral_gb": "ephemeral_gb", "flavorid": "flavorid", "id": "id",
    "is_public": "is_public", "memory_mb": "memory_mb", "name": "name",
    "root_gb": "root_gb", "rxtx_factor": "rxtx_factor", "swap": "swap",
    "updated_at": "created_at", "vcpu_weight": "id", "vcpus": "vcpus",
}


@dataclass(frozen=True)
class FlavorRecord:
    """A flavor as the API shows it, detached from the database."""

    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    rxtx_factor: float
    is_public: bool
    disabled: bool
    description: str | None
    extra_specs: dict[str, str] = field(default_factory=dict)
    projects: tuple[str, ...] = ()


@dataclass(frozen=True)
class FlavorQuery:
    """Filters, order and page of a flavor list (already parsed and validated)."""

    is_public: bool | None = True
    min_memory_mb: int | None = None
    min_root_gb: int | None = None
    name: str | None = None
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int = 1000
    marker: str | None = None


@dataclass(frozen=True)
class NewFlavor:
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    flavorid: str | None = None
    description: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _not_found(flavorid: str) -> NotFound:
    return NotFound(f"Flavor {flavorid} could not be found.")


_FLAVOR, _SPEC, _ACCESS = table_of(Flavor), table_of(FlavorExtraSpec), table_of(FlavorAccess)
_FLAVOR_BY_ID = KeyedRead(lambda match: sa_select(_FLAVOR).where(match(_FLAVOR.c.flavorid)))
_SPECS_OF = KeyedRead(lambda match: sa_select(_SPEC.c.key, _SPEC.c.value)
                      .where(match(_SPEC.c.flavor_id)))
_ACCESS_OF = KeyedRead(lambda match: sa_select(_ACCESS.c.project_id)
                       .where(match(_ACCESS.c.flavor_id)))


class FlavorService:
    def __init__(self, db: Database, project_exists: Callable[[str], bool]) -> None:
        self.db = db
        self.project_exists = project_exists

    def seed(self, flavors: Sequence[tuple[str, str, int, int, int]] = SEED_FLAVORS) -> None:
        """Create the seeded flavors that do not exist yet (by id); idempotent."""
        with self.db.session() as s:
            for flavorid, name, ram, vcpus, disk in flavors:
                taken = s.exec(select(Flavor).where(
                    (col(Flavor.flavorid) == flavorid) | (col(Flavor.name) == name))).first()
                if taken is None:
                    s.add(Flavor(flavorid=flavorid, name=name, memory_mb=ram, vcpus=vcpus,
                                 root_gb=disk, created_at=_now()))

    # -- reading -------------------------------------------------------------------------

    @staticmethod
    def _visible(ctx: RequestContext) -> Any:
        """The SQL condition for flavors ``ctx`` may see: admins all, others public+shared."""
        if ctx.is_admin:
            return True
        shared = select(FlavorAccess.flavor_id).where(FlavorAccess.project_id == ctx.project_id)
        return (col(Flavor.is_public) == True) | col(Flavor.id).in_(shared)  # noqa: E712

    def _record(self, s: Reader, row: Flavor | KeyedRow) -> FlavorRecord:
        specs = _SPECS_OF(s, [row.id])
        access = _ACCESS_OF(s, [row.id])
        return FlavorRecord(
            flavorid=row.flavorid, name=row.name, memory_mb=row.memory_mb, vcpus=row.vcpus,
            root_gb=row.root_gb, ephemeral_gb=row.ephemeral_gb, swap=row.swap,
            rxtx_factor=row.rxtx_factor, is_public=row.is_public, disabled=row.disabled,
            description=row.description,
            extra_specs=dict(sorted((e.key, e.value) for e in specs)),
            projects=tuple(sorted(a.project_id for a in access)),
        )

    def _row(self, s: Session, ctx: RequestContext, flavorid: str) -> Flavor:
        stmt = select(Flavor).where(Flavor.flavorid == flavorid).where(self._visible(ctx))
        row = s.exec(stmt).first()
        if row is None:
            raise _not_found(flavorid)
        return row

    def get(self, ctx: RequestContext, flavorid: str) -> FlavorRecord:
        """The flavor ``ctx`` may see (``_visible``'s rule, read as rows: every server
        create asks for its flavor)."""
        with self.db.reading() as s:
            found = _FLAVOR_BY_ID(s, [flavorid])
            record = self._record(s, found[0]) if found else None
        if record is None or not (ctx.is_admin or record.is_public
                                  or ctx.project_id in record.projects):
            raise _not_found(flavorid)
        return record

    def list_flavors(self, ctx: RequestContext, query: FlavorQuery) -> list[FlavorRecord]:
        """Flavors ``ctx`` may see, filtered, sorted, and paged after ``query.marker``.

        NOTE: as in Nova, ``is_public=True`` means public *or shared with the caller's
        project*; non-admins always get that and never see disabled flavors.
        """
        with self.db.session() as s:
            stmt = select(Flavor).where(self._visible(ctx))
            if not ctx.is_admin:
                stmt = stmt.where(Flavor.disabled == False)  # noqa: E712
            if query.is_public is True and ctx.project_id is not None:
                shared = select(FlavorAccess.flavor_id).where(
                    FlavorAccess.project_id == ctx.project_id)
                stmt = stmt.where((col(Flavor.is_public) == True)  # noqa: E712
                                  | col(Flavor.id).in_(shared))
            elif query.is_public is not None:
                stmt = stmt.where(Flavor.is_public == query.is_public)
            if query.min_memory_mb is not None:
                stmt = stmt.where(Flavor.memory_mb >= query.min_memory_mb)
            if query.min_root_gb is not None:
                stmt = stmt.where(Flavor.root_gb >= query.min_root_gb)
            if query.name is not None:
                stmt = stmt.where(Flavor.name == query.name)
            rows = list(s.exec(stmt).all())
            column = SORT_COLUMNS[query.sort_key]

            def key(row: Flavor) -> tuple[bool, Any, int]:
                value = getattr(row, column)
                return (value is None, value if value is not None else 0, row.id or 0)

            rows.sort(key=key, reverse=query.sort_dir == "desc")
            if query.marker is not None:
                ids = [r.flavorid for r in rows]
                if query.marker not in ids:
                    # Nova looks the marker up among all flavors the caller can see.
                    if s.exec(select(Flavor).where(Flavor.flavorid == query.marker)
                              .where(self._visible(ctx))).first() is None:
                        raise InvalidInput(f"marker [{query.marker}] not found")
                    rows = []
                else:
                    rows = rows[ids.index(query.marker) + 1:]
            return [self._record(s, r) for r in rows[: query.limit]]

    # -- management (admin) --------------------------------------------------------------

    def create(self, ctx: RequestContext, new: NewFlavor) -> FlavorRecord:
        authorize(ctx, "os_compute_api:os-flavor-manage:create")
        flavorid = new.flavorid or new_uuid()
        name = new.name.strip()
        with self.db.session() as s:
            if s.exec(select(Flavor).where(Flavor.flavorid == flavorid)).first():
                raise Conflict(f"Flavor with ID {flavorid} already exists.")
            if s.exec(select(Flavor).where(Flavor.name == name)).first():
                raise Conflict(f"Flavor with name {name} already exists.")
            row = Flavor(
                flavorid=flavorid, name=name, memory_mb=new.memory_mb, vcpus=new.vcpus,
                root_gb=new.root_gb, ephemeral_gb=new.ephemeral_gb, swap=new.swap,
                rxtx_factor=new.rxtx_factor, is_public=new.is_public,
                description=new.description, created_at=_now(),
            )
            s.add(row)
            s.flush()
            return self._record(s, row)

    def delete(self, ctx: RequestContext, flavorid: str) -> None:
        authorize(ctx, "os_compute_api:os-flavor-manage:delete")
        with self.db.session() as s:
            row = s.exec(select(Flavor).where(Flavor.flavorid == flavorid)).first()
            if row is None:
                raise _not_found(flavorid)
            for model in (FlavorExtraSpec, FlavorAccess):
                for child in s.exec(select(model).where(model.flavor_id == row.id)).all():
                    s.delete(child)
            s.flush()
            s.delete(row)

    def set_description(
        self, ctx: RequestContext, flavorid: str, description: str | None
    ) -> FlavorRecord:
        authorize(ctx, "os_compute_api:os-flavor-manage:update")
        with self.db.session() as s:
            row = self._row(s, ctx, flavorid)
            row.description = description
            s.add(row)
            s.flush()
            return self._record(s, row)

    # -- access lists --------------------------------------------------------------------

    def access_list(self, ctx: RequestContext, flavorid: str) -> tuple[str, ...]:
        authorize(ctx, "os_compute_api:os-flavor-access")
        record = self.get(ctx, flavorid)
        if record.is_public:
            raise NotFound("Access list not available for public flavors.")
        return record.projects

    def add_access(
        self, ctx: RequestContext, flavorid: str, project_id: str, refuse_public: bool
    ) -> tuple[str, ...]:
        """Share a private flavor; ``refuse_public`` is Nova's 2.7 rule (409 when public)."""
        authorize(ctx, "os_compute_api:os-flavor-access:add_tenant_access")
        if not self.project_exists(project_id):
            raise InvalidInput(f"Project ID {project_id} is not a valid project.")
        with self.db.session() as s:
            row = self._row(s, ctx, flavorid)
            if refuse_public and row.is_public:
                raise Conflict("Can not add access to a public flavor.")
            assert row.id is not None
            if s.get(FlavorAccess, (row.id, project_id)) is not None:
                raise Conflict(
                    f"Flavor access already exists for flavor {flavorid} and project "
                    f"{project_id} combination."
                )
            s.add(FlavorAccess(flavor_id=row.id, project_id=project_id))
            s.flush()
            return self._record(s, row).projects

    def remove_access(self, ctx: RequestContext, flavorid: str, project_id: str) -> tuple[str, ...]:
        authorize(ctx, "os_compute_api:os-flavor-access:remove_tenant_access")
        with self.db.session() as s:
            row = self._row(s, ctx, flavorid)
            assert row.id is not None
            access = s.get(FlavorAccess, (row.id, project_id))
            if access is None:
                raise NotFound(
                    f"Flavor access not found for {flavorid} / {project_id} combination."
                )
            s.delete(access)
            s.flush()
            return self._record(s, row).projects

    # -- extra specs ---------------------------------------------------------------------

    def extra_specs(self, ctx: RequestContext, flavorid: str) -> dict[str, str]:
        authorize(ctx, "os_compute_api:os-flavor-extra-specs:index")
        return self.get(ctx, flavorid).extra_specs

    def extra_spec(self, ctx: RequestContext, flavorid: str, key: str) -> str:
        authorize(ctx, "os_compute_api:os-flavor-extra-specs:show")
        specs = self.get(ctx, flavorid).extra_specs
        if key not in specs:
            raise NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")
        return specs[key]

    def set_extra_specs(self, ctx: RequestContext, flavorid: str, specs: dict[str, Any],
                        rule: str, validate: bool = False) -> None:
        """Set extra specs, Nova's order: the policy, the values, the flavor. Numbers are
        taken and stored as strings (at most 255 characters); with ``validate`` (2.86)
        every spec in a namespace Nova knows must be a known spec with a valid value."""
        authorize(ctx, f"os_compute_api:os-flavor-extra-specs:{rule}")
        values: dict[str, str] = {}
        for key, value in specs.items():
            text = value if isinstance(value, str) else str(value)
            if len(text) > 255:
                raise InvalidInput("extra_specs value has a maximum of 255 characters.")
            if validate:
                try:
                    validate_extra_spec(key, text)
                except InvalidExtraSpec as exc:
                    raise InvalidInput(str(exc)) from None
            values[key] = text
        with self.db.session() as s:
            row = self._row(s, ctx, flavorid)
            assert row.id is not None
            for key, value in values.items():
                existing = s.get(FlavorExtraSpec, (row.id, key))
                if existing is None:
                    s.add(FlavorExtraSpec(flavor_id=row.id, key=key, value=value))
                else:
                    existing.value = value
                    s.add(existing)

    def delete_extra_spec(self, ctx: RequestContext, flavorid: str, key: str) -> None:
        authorize(ctx, "os_compute_api:os-flavor-extra-specs:delete")
        with self.db.session() as s:
            row = self._row(s, ctx, flavorid)
            assert row.id is not None
            existing = s.get(FlavorExtraSpec, (row.id, key))
            if existing is None:
                raise NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")
            s.delete(existing)
