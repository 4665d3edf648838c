"""Quotas as Nova's database driver keeps them: limits per project, per user of a project
and per quota class, over the ``[quota]`` defaults; usage counted from the database; the
checks every consuming path makes (``check_instances`` then ``recheck_instances`` for a
create, ``check_upsize`` for a resize, ``over`` for server groups, members and key pairs,
``metadata_limit``); and the ``os-quota-sets``, ``os-quota-class-sets`` and ``/limits``
operations. With ``noop`` (Nova's ``NoopQuotaDriver``) every limit is -1 and nothing is
refused.

Every check counts in the caller's transaction. NOTE on concurrency: within one process
a check and the insert it guards run without yielding the event loop (``emulator.db``),
so they are atomic; the recheck after the records are written is what keeps several
processes (PostgreSQL workers) from going over, as Nova's ``recheck_quota``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, select

from emulator.compute.policy import authorize
from emulator.compute.quotas import instances as arithmetic
from emulator.compute.quotas.instances import Scope
from emulator.compute.quotas.models import QuotaClassLimit, QuotaLimit
from emulator.compute.quotas.resources import (
    INJECTED,
    INSTANCE_RESOURCES,
    RESOURCES,
    UNLIMITED,
    count_instances,
    count_server_groups,
    defaults_from,
)
from emulator.context import RequestContext
from emulator.db import Database, table_of
from emulator.errors import InvalidInput, OverQuota
from emulator.reads import KeyedRead, Reader

#: The class whose limits are every project's defaults.
DEFAULT_CLASS = "default"
#: Resources Nova keeps per project even when a user is named (``PER_PROJECT_QUOTAS``).
PER_PROJECT = frozenset({"fixed_ips", "floating_ips"})
#: The largest limit the database holds (Nova's ``MAX_INT``).
MAX_LIMIT = 0x7FFFFFFF

RULE = "os_compute_api:os-quota-sets:{}"
CLASS_RULE = "os_compute_api:os-quota-class-sets:{}"


@dataclass(frozen=True)
class Detail:
    """One resource as ``/detail`` and ``/limits`` show it."""

    in_use: int
    limit: int
    reserved: int = 0


#: The reads every check makes: a class's rows; a project's rows and one user's.
_CLASS, _LIMIT = table_of(QuotaClassLimit), table_of(QuotaLimit)
_CLASS_ROWS = KeyedRead(lambda match: sa_select(_CLASS.c.resource, _CLASS.c.hard_limit)
                        .where(match(_CLASS.c.class_name)))
_LIMIT_ROWS = KeyedRead(lambda match: sa_select(
    _LIMIT.c.user_id, _LIMIT.c.resource, _LIMIT.c.hard_limit).where(
    match(_LIMIT.c.project_id),
    or_(_LIMIT.c.user_id == "", _LIMIT.c.user_id == bindparam("user"))))


#: A project's limits (its rows over the ``default`` class) and one user's own rows.
Levels = tuple[dict[str, int], dict[str, int]]


def _merged(levels: Levels, resource: str) -> int:
    """The smaller of the project's and the user's limit of ``resource``."""
    project, own = levels
    return min(project[resource], own.get(resource, project[resource]))


def _unlimited(value: int) -> bool:
    return value <= UNLIMITED


class QuotaService:
    def __init__(self, db: Database, options: Mapping[str, int] | None = None, *,
                 noop: bool = False,
                 project_exists: Callable[[str], bool] | None = None) -> None:
        """``options``: ``[quota]`` options over Nova's defaults."""
        self.db = db
        #: Each resource's ``[quota]`` default (before the ``default`` class's rows).
        self.configured = defaults_from(options or {})
        #: Nova's ``NoopQuotaDriver``: every limit -1, nothing refused.
        self.noop = noop
        self.project_exists = project_exists

    # -- limits ----------------------------------------------------------------------------

    def class_limits(self, s: Reader, name: str) -> dict[str, int]:
        """A quota class: its rows over the configured defaults."""
        if self.noop:
            return dict.fromkeys(RESOURCES, UNLIMITED)
        rows = _CLASS_ROWS(s, [name])
        return {**self.configured, **{r: v for r, v in rows if r in self.configured}}

    def _levels(self, s: Reader, project_id: str, user_id: str | None = None) -> Levels:
        """The project's limits (its rows over the ``default`` class) and the user's own
        rows ({} without a user): two queries."""
        defaults = self.class_limits(s, DEFAULT_CLASS)
        if self.noop:
            return defaults, {}
        project: dict[str, int] = {}
        own: dict[str, int] = {}
        for user, resource, limit in _LIMIT_ROWS(s, [project_id], user=user_id or ""):
            (own if user else project)[resource] = limit
        return {**defaults, **project}, own

    def levels(self, project_id: str, user_id: str) -> Levels:
        """``_levels`` read once for the checks of one request (a create makes three)."""
        with self.db.reading() as connection:
            return self._levels(connection, project_id, user_id)

    def project_limits(self, s: Session, project_id: str) -> dict[str, int]:
        """The project's rows over the ``default`` class."""
        return self._levels(s, project_id)[0]

    def user_limits(self, s: Session, project_id: str, user_id: str) -> dict[str, int]:
        """The user's rows over the project's limits."""
        project, own = self._levels(s, project_id, user_id)
        return {**project, **own}

    def merged_limit(self, s: Reader, resource: str, project_id: str, user_id: str,
                     levels: Levels | None = None) -> int:
        """The limit of a resource counted per user only (key pairs, group members,
        metadata items): the smaller of the project's and the user's.

        NOTE: as Nova's ``limit_check_project_and_user`` takes ``min`` of the two, an
        unlimited (-1) one of them makes the resource unlimited.
        """
        return _merged(levels if levels is not None else self._levels(s, project_id, user_id),
                       resource)

    # -- usage -----------------------------------------------------------------------------

    @staticmethod
    def usage(s: Session, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """What the views show in use: servers, vCPUs, RAM and server groups of the project
        (of the user); per-user resources and limits that are not counted show 0."""
        counted = count_instances(s, project_id, user_id).as_dict()
        counted["server_groups"] = count_server_groups(s, project_id, user_id)
        return {name: counted.get(name, 0) for name in RESOURCES}

    def _details(self, s: Session, project_id: str,
                 user_id: str | None = None) -> dict[str, Detail]:
        if self.noop:
            return dict.fromkeys(RESOURCES, Detail(UNLIMITED, UNLIMITED, UNLIMITED))
        limits = (self.user_limits(s, project_id, user_id) if user_id
                  else self.project_limits(s, project_id))
        used = self.usage(s, project_id, user_id)
        return {name: Detail(used[name], limits[name]) for name in RESOURCES}

    # -- checks of the consuming paths -------------------------------------------------------

    def _scopes(self, s: Session, project_id: str, user_id: str,
                always_user: bool = False,
                levels: Levels | None = None) -> tuple[Scope, Scope | None]:
        """The project's instance scope, and the user's when it has an instance limit of
        its own (Nova counts per user only then; a resize always does). ``levels``: the
        limits as the request read them (None: read them)."""
        limits, own = levels if levels is not None else self._levels(s, project_id, user_id)
        user_limits = {**limits, **own}
        if all(limits[name] < 0 and user_limits[name] < 0 for name in INSTANCE_RESOURCES):
            # Nothing limited: no count is compared, so none is made (a count is a pass
            # over the project's servers, which a cloud of 100,000 pays on every create).
            unlimited = Scope(limits, dict.fromkeys(INSTANCE_RESOURCES, 0))
            return unlimited, Scope(user_limits, unlimited.usage) if always_user else None
        project = Scope(limits, count_instances(s, project_id).as_dict())
        if not always_user and not any(name in own for name in INSTANCE_RESOURCES):
            return project, None
        user = Scope(user_limits, count_instances(s, project_id, user_id).as_dict())
        return project, user

    def check_instances(self, s: Session, project_id: str, user_id: str, vcpus: int,
                        memory_mb: int, min_count: int, max_count: int,
                        levels: Levels | None = None) -> int:
        """How many of ``min_count``..``max_count`` new servers the quotas let in (the
        most that fit); Nova's 403 if ``min_count`` does not fit."""
        if self.noop:
            return max_count
        project, user = self._scopes(s, project_id, user_id, levels=levels)
        return arithmetic.instances_allowed(vcpus, memory_mb, min_count, max_count,
                                            project, user)

    def recheck_instances(self, s: Session, project_id: str, user_id: str, vcpus: int,
                          memory_mb: int, requested: int,
                          levels: Levels | None = None) -> None:
        """After the servers are recorded: a 403 if the project (or user) is now over
        (the usage counted again; the limits as the request read them, if given)."""
        if self.noop:
            return
        project, user = self._scopes(s, project_id, user_id, levels=levels)
        arithmetic.recheck_instances(vcpus, memory_mb, requested, project, user)

    def check_upsize(self, s: Session, project_id: str, user_id: str, cores: int,
                     ram: int) -> None:
        """A resize (or a revert) adding ``cores`` and ``ram`` must fit; Nova's 403."""
        if self.noop or (cores <= 0 and ram <= 0):
            return
        project, user = self._scopes(s, project_id, user_id, always_user=True)
        assert user is not None
        arithmetic.check_upsize(max(cores, 0), max(ram, 0), project, user)

    def over(self, s: Session, resource: str, project_id: str, user_id: str, delta: int,
             *, user_count: int, project_count: int | None = None) -> bool:
        """Whether ``delta`` more of ``resource`` goes over: against the project's and the
        user's limits when counted per project too (server groups), else the merged limit
        (key pairs, group members)."""
        if self.noop:
            return False
        if project_count is None:
            limit = self.merged_limit(s, resource, project_id, user_id)
            return 0 <= limit < user_count + delta
        limits, own = self._levels(s, project_id, user_id)
        project_limit, user_limit = limits[resource], own.get(resource, limits[resource])
        return (0 <= project_limit < project_count + delta
                or 0 <= user_limit < user_count + delta)

    def check_resize(self, ctx: RequestContext, project_id: str, user_id: str, cores: int,
                     ram: int) -> None:
        """``check_upsize`` for the owner of a server ``ctx`` resizes (Nova's
        ``ids_from_instance``: an admin's request counts the owner's user, others their
        own)."""
        with self.db.session() as s:
            self.check_upsize(s, project_id, user_id if ctx.is_admin else ctx.user_id,
                              cores, ram)

    def check_restore(self, ctx: RequestContext, project_id: str, user_id: str, vcpus: int,
                      memory_mb: int) -> None:
        """A soft-deleted server counts again once restored: it must fit (Nova's
        ``restore``)."""
        with self.db.session() as s:
            self.check_instances(s, project_id, user_id if ctx.is_admin else ctx.user_id,
                                 vcpus, memory_mb, 1, 1)

    def over_server_groups(self, s: Session, project_id: str, user_id: str,
                           delta: int) -> bool:
        """Whether ``delta`` more groups of the user go over (project's and user's)."""
        return self.over(s, "server_groups", project_id, user_id, delta,
                         project_count=count_server_groups(s, project_id),
                         user_count=count_server_groups(s, project_id, user_id))

    def metadata_limit(self, project_id: str, user_id: str,
                       levels: Levels | None = None) -> int:
        """How many metadata items a server (or an image it makes) may hold (-1: any)."""
        if self.noop:
            return UNLIMITED
        return _merged(levels if levels is not None else self.levels(project_id, user_id),
                       "metadata_items")

    def check_injected_files(self, project_id: str, user_id: str,
                             files: Sequence[tuple[str, str]]) -> None:
        """Nova's ``_check_injected_file_quota`` of a create's personality files (path,
        base64 contents): how many, then the longest path and the longest contents."""
        if self.noop or not files:
            return
        with self.db.session() as s:
            limit = {name: self.merged_limit(s, name, project_id, user_id) for name in INJECTED}
        if 0 <= limit["injected_files"] < len(files):
            raise OverQuota("Personality file limit exceeded")
        path = limit["injected_file_path_bytes"]
        if 0 <= path < max(len(name) for name, _ in files):
            raise OverQuota(f"Personality file path exceeds maximum {path}")
        content = limit["injected_file_content_bytes"]
        if 0 <= content < max(len(data) for _, data in files):
            raise OverQuota(f"Personality file content exceeds maximum {content}")

    # -- os-quota-sets -----------------------------------------------------------------------

    def _verify(self, project_id: str) -> None:
        """Nova's ``verify_project_id``: a project Keystone does not know is a 400."""
        if self.project_exists is not None and not self.project_exists(project_id):
            raise InvalidInput(f"Project ID {project_id} is not a valid project.")

    def show(self, ctx: RequestContext, project_id: str,
             user_id: str | None = None) -> dict[str, int]:
        authorize(ctx, RULE.format("show"), project_id)
        self._verify(project_id)
        with self.db.session() as s:
            if user_id:
                return self.user_limits(s, project_id, user_id)
            return self.project_limits(s, project_id)

    def detail(self, ctx: RequestContext, project_id: str,
               user_id: str | None = None) -> dict[str, Detail]:
        authorize(ctx, RULE.format("detail"), project_id)
        self._verify(project_id)
        with self.db.session() as s:
            return self._details(s, project_id, user_id)

    def defaults(self, ctx: RequestContext, project_id: str) -> dict[str, int]:
        authorize(ctx, RULE.format("defaults"), project_id)
        self._verify(project_id)
        with self.db.session() as s:
            return self.class_limits(s, DEFAULT_CLASS)

    def _settable(self, s: Session, project_id: str,
                  user_id: str | None) -> dict[str, tuple[int, int]]:
        """Nova's ``get_settable_quotas``: (minimum, maximum) of each new limit (-1: none).

        A project's limit may not go below its usage nor below what its users' limits
        add up to; a user's not below the user's usage nor above what the project has
        left for it."""
        if self.noop:
            return dict.fromkeys(RESOURCES, (0, UNLIMITED))
        limits = self.project_limits(s, project_id)
        given: dict[str, int] = dict.fromkeys(RESOURCES, 0)
        for row in s.exec(select(QuotaLimit).where(QuotaLimit.project_id == project_id,
                                                   QuotaLimit.user_id != "")).all():
            if row.resource in given:
                given[row.resource] += row.hard_limit
        remains = {name: limits[name] - given[name] for name in RESOURCES}
        if user_id:
            own = self._levels(s, project_id, user_id)[1]
            used = self.usage(s, project_id, user_id)
            return {name: (used[name], UNLIMITED
                           if _unlimited(remains[name]) or _unlimited(own.get(name, 0))
                           else remains[name] + own.get(name, 0)) for name in RESOURCES}
        used = self.usage(s, project_id)
        return {name: (max(UNLIMITED if _unlimited(limits[name]) or _unlimited(remains[name])
                           else limits[name] - remains[name], used[name]), UNLIMITED)
                for name in RESOURCES}

    def update(self, ctx: RequestContext, project_id: str, user_id: str | None,
               values: Mapping[str, int], force: bool = False) -> dict[str, int]:
        """Set limits (validated all first, then written); the limits now in force.

        Without ``force`` a limit below what is in use (or, for a user, above what the
        project leaves) is Nova's 400."""
        authorize(ctx, RULE.format("update"), project_id)
        self._verify(project_id)
        with self.db.session() as s:
            if not force:
                settable = self._settable(s, project_id, user_id)
                for name, value in values.items():
                    _check_range(name, value, *settable[name])
            for name, value in values.items():
                owner = "" if not user_id or name in PER_PROJECT else user_id
                row = s.get(QuotaLimit, (project_id, owner, name))
                if row is None:
                    row = QuotaLimit(project_id=project_id, user_id=owner, resource=name,
                                     hard_limit=value)
                row.hard_limit = value
                s.add(row)
            s.flush()
            if user_id:
                return self.user_limits(s, project_id, user_id)
            return self.project_limits(s, project_id)

    def delete(self, ctx: RequestContext, project_id: str, user_id: str | None) -> None:
        """Back to the defaults: the user's limits, or the project's and all its users'."""
        authorize(ctx, RULE.format("delete"), project_id)
        stmt = delete(QuotaLimit).where(col(QuotaLimit.project_id) == project_id)
        if user_id:
            stmt = stmt.where(col(QuotaLimit.user_id) == user_id)
        with self.db.session() as s:
            s.exec(stmt)

    # -- os-quota-class-sets -----------------------------------------------------------------

    def show_class(self, ctx: RequestContext, name: str) -> dict[str, int]:
        authorize(ctx, CLASS_RULE.format("show"))
        with self.db.session() as s:
            return self.class_limits(s, name)

    def update_class(self, ctx: RequestContext, name: str,
                     values: Mapping[str, int]) -> dict[str, int]:
        """Set a class's limits (the ``default`` class's are every project's defaults)."""
        authorize(ctx, CLASS_RULE.format("update"))
        if not 1 <= len(name) <= 255:
            raise InvalidInput("quota_class_name has a length that is not between 1 and "
                               "255 characters.")
        with self.db.session() as s:
            for resource, value in values.items():
                row = s.get(QuotaClassLimit, (name, resource))
                if row is None:
                    row = QuotaClassLimit(class_name=name, resource=resource,
                                          hard_limit=value)
                row.hard_limit = value
                s.add(row)
            s.flush()
            return self.class_limits(s, name)

    # -- /limits -----------------------------------------------------------------------------

    def absolute(self, ctx: RequestContext, tenant_id: str | None = None) -> dict[str, Detail]:
        """The caller's project's limits and usage; an admin may name another project."""
        authorize(ctx, "os_compute_api:limits")
        project_id = ctx.project_id or ""
        if tenant_id is not None:
            authorize(ctx, "os_compute_api:limits:other_project")
            project_id = tenant_id
        with self.db.session() as s:
            return self._details(s, project_id)


def _check_range(name: str, value: int, minimum: int, maximum: int) -> None:
    """Nova's ``_validate_quota_limit`` (-1 is infinity on each side)."""
    def inf(v: int) -> float:
        return float("inf") if v == UNLIMITED else v

    if inf(value) < inf(minimum):
        raise InvalidInput(f"Quota limit {value} for {name} must be greater than or equal to "
                           f"already used and reserved {minimum}.")
    if inf(value) > inf(maximum):
        raise InvalidInput(f"Quota limit {value} for {name} must be less than or equal to "
                           f"{maximum}.")
