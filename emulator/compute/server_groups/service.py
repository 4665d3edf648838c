"""Server groups (``os-server-groups``): create, list, show, delete, and the checks a
server create makes of its ``group`` hint (Nova's ``_get_requested_instance_group`` and
its member quota).

A group belongs to a project: a non-admin caller sees only its own project's groups (any
other is "not found", as Nova's lookup filters by project for non-admins); an admin sees
every group. Nova checks, in this order: the policy, the quota, the rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from emulator.compute.policy import authorize
from emulator.compute.server_groups import membership
from emulator.compute.server_groups.membership import GroupRef
from emulator.compute.server_groups.models import InstanceGroup
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import InvalidInput, NotFound, OverQuota
from emulator.ids import new_uuid
from emulator.placement import GroupSpec

if TYPE_CHECKING:
    # NOTE: the quotas count server groups (their tables are below this package).
    from emulator.compute.quotas import QuotaService

#: Nova's policies, in its create schema's order (the soft ones from 2.15).
AFFINITY, ANTI_AFFINITY = "affinity", "anti-affinity"
SOFT_AFFINITY, SOFT_ANTI_AFFINITY = "soft-affinity", "soft-anti-affinity"
POLICIES = (ANTI_AFFINITY, AFFINITY, SOFT_ANTI_AFFINITY, SOFT_AFFINITY)
#: The one rule (2.64), allowed with ``anti-affinity`` only.
MAX_SERVER_PER_HOST = "max_server_per_host"

RULE = "os_compute_api:os-server-groups:{}"
#: The largest OFFSET the list sends to the database (SQLite and PostgreSQL take 64 bits).
MAX_OFFSET = 2**63 - 1


@dataclass(frozen=True)
class ServerGroupRecord:
    """A group as the API shows it, detached from the database."""

    uuid: str
    name: str
    project_id: str
    user_id: str
    policy: str
    rules: Mapping[str, int]
    #: Live servers in the group, in the order they joined.
    members: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class NewServerGroup:
    """A validated create request (the API layer applied its schema for the version)."""

    name: str
    policy: str
    rules: Mapping[str, int] = field(default_factory=dict)


def not_found(group_id: object) -> str:
    """Nova's ``InstanceGroupNotFound`` text."""
    return f"Instance group {group_id} could not be found."


def _now() -> datetime:
    return datetime.now(UTC)


def _record(row: InstanceGroup, members: Sequence[str]) -> ServerGroupRecord:
    return ServerGroupRecord(
        uuid=row.uuid, name=row.name, project_id=row.project_id, user_id=row.user_id,
        policy=row.policy, rules={k: int(v) for k, v in (row.rules or {}).items()},
        members=tuple(members), created_at=row.created_at)


class ServerGroupService:
    def __init__(self, db: Database, quotas: QuotaService) -> None:
        self.db = db
        #: Nova's ``server_groups`` (per project and user) and ``server_group_members``
        #: (per user, in one group) quotas.
        self.quotas = quotas

    # -- lookups -------------------------------------------------------------------------

    @staticmethod
    def _visible(s: Session, ctx: RequestContext, group_id: str) -> InstanceGroup:
        """The group ``ctx`` may see (an admin: any); another project's is not found."""
        stmt = select(InstanceGroup).where(InstanceGroup.uuid == group_id)
        if not ctx.is_admin:
            stmt = stmt.where(InstanceGroup.project_id == ctx.project_id)
        row = s.exec(stmt).first()
        if row is None:
            raise NotFound(not_found(group_id))
        return row

    def _records(self, s: Session, rows: Sequence[InstanceGroup]) -> list[ServerGroupRecord]:
        members = membership.members_of(s, [r.id for r in rows if r.id is not None])
        return [_record(r, members[r.id] if r.id is not None else []) for r in rows]

    # -- the API -------------------------------------------------------------------------

    def list_groups(self, ctx: RequestContext, all_projects: bool = False,
                    offset: int = 0, limit: int | None = None) -> list[ServerGroupRecord]:
        """The caller's project's groups (every project's with ``all_projects``, which only
        an admin's request honours), in creation order, from ``offset``, ``limit`` many.

        NOTE: as Nova, a non-admin's ``all_projects`` is ignored, not refused.
        """
        authorize(ctx, RULE.format("index"), ctx.project_id)
        stmt = select(InstanceGroup)
        if all_projects and ctx.is_admin:
            authorize(ctx, RULE.format("index:all_projects"), ctx.project_id)
        else:
            stmt = stmt.where(InstanceGroup.project_id == ctx.project_id)
        # An offset past every row is an empty page (Nova slices a list), however large:
        # what SQL takes is at most a signed 64-bit integer.
        stmt = stmt.order_by(col(InstanceGroup.id)).offset(min(offset, MAX_OFFSET))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.db.session() as s:
            return self._records(s, s.exec(stmt).all())

    def get(self, ctx: RequestContext, group_id: str) -> ServerGroupRecord:
        with self.db.session() as s:
            row = self._visible(s, ctx, group_id)
            authorize(ctx, RULE.format("show"), row.project_id)
            return self._records(s, [row])[0]

    def _over_quota(self, s: Session, project_id: str, user_id: str, delta: int) -> bool:
        return self.quotas.over_server_groups(s, project_id, user_id, delta)

    def create(self, ctx: RequestContext, new: NewServerGroup) -> ServerGroupRecord:
        project_id = ctx.project_id or ""
        authorize(ctx, RULE.format("create"), ctx.project_id)
        over = OverQuota("Quota exceeded, too many server groups.")
        with self.db.session() as s:
            if self._over_quota(s, project_id, ctx.user_id, 1):
                raise over
        if new.rules and new.policy != ANTI_AFFINITY:
            raise InvalidInput("Only anti-affinity policy supports rules.")
        with self.db.session() as s:
            row = InstanceGroup(uuid=new_uuid(), name=new.name, project_id=project_id,
                                user_id=ctx.user_id, policy=new.policy, rules=dict(new.rules),
                                created_at=_now())
            s.add(row)
            s.flush()
            # Nova rechecks the quota after the insert, against concurrent creates.
            if self._over_quota(s, project_id, ctx.user_id, 0):
                raise over
            return _record(row, [])

    def delete(self, ctx: RequestContext, group_id: str) -> None:
        """Delete the group; its servers stay, in no group."""
        with self.db.session() as s:
            row = self._visible(s, ctx, group_id)
            authorize(ctx, RULE.format("delete"), row.project_id)
            membership.remove_all_of(s, membership.ref(row))
            s.delete(row)

    # -- a server create's group hint ----------------------------------------------------

    def requested(self, ctx: RequestContext, hints: Mapping[str, Any]) -> GroupRef | None:
        """The group a create's ``group`` hint names, as Nova looks it up (the caller's
        project's, or any for an admin); an unknown one is Nova's 400.

        NOTE: the hint may be a list (Nova's schema allows it): Nova looks the list up as
        it is, which matches a list of one uuid on MySQL and fails on a longer one; here a
        list of one names its group and a longer one is not found.
        """
        hint = hints.get("group")
        if not hint:
            return None
        if isinstance(hint, list) and len(hint) == 1:
            hint = hint[0]
        if not isinstance(hint, str):
            raise InvalidInput(not_found(hint))
        with self.db.session() as s:
            try:
                return membership.ref(self._visible(s, ctx, hint))
            except NotFound as gone:
                raise InvalidInput(gone.message) from None

    def check_members(self, s: Session, ctx: RequestContext, group: GroupRef,
                      adding: int) -> None:
        """Before a create adds ``adding`` servers of ``ctx``'s user to ``group`` (in the
        create's transaction): the group must still exist, and Nova's member quota hold."""
        if not membership.still_there(s, group):
            raise InvalidInput(not_found(group.uuid))
        members = membership.count_members_of_user(s, group, ctx.user_id)
        if self.quotas.over(s, "server_group_members", ctx.project_id or "", ctx.user_id,
                            adding, user_count=members):
            raise OverQuota("Quota exceeded, too many servers in group")

    @staticmethod
    def add_members(s: Session, group: GroupRef, server_ids: Sequence[str]) -> None:
        """Record ``server_ids`` in ``group`` in the caller's transaction (the one that
        records the servers); a group deleted meanwhile gets none."""
        if membership.still_there(s, group):
            membership.add(s, group, server_ids)

    # -- the scheduler's view ------------------------------------------------------------

    def spec_for(self, group_uuid: str) -> GroupSpec:
        """What the scheduler needs of a group; ``NotFound`` once it is deleted."""
        with self.db.session() as s:
            row = s.exec(select(InstanceGroup).where(InstanceGroup.uuid == group_uuid)).first()
            if row is None or row.id is None:
                raise NotFound(not_found(group_uuid))
            members = membership.members_of(s, [row.id])[row.id]
            limit = (row.rules or {}).get(MAX_SERVER_PER_HOST)
            return GroupSpec(uuid=row.uuid, policy=row.policy, members=tuple(members),
                             max_server_per_host=int(limit) if limit is not None else None)

    def group_of(self, server_id: str) -> str | None:
        """The uuid of the group a server is in, if any."""
        with self.db.reading() as connection:
            found = membership.groups_of(connection, [server_id]).get(server_id)
            return found.uuid if found is not None else None
