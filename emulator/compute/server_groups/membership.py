"""Who is in which group, read and written inside the caller's transaction: the members a
server create adds, the member a delete takes out, and the group of each server a view
shows. The service (``service.py``) owns the checks; these are the rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, insert
from sqlalchemy import delete as sa_delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, func, select

from emulator.compute.models import Instance
from emulator.compute.server_groups.models import InstanceGroup, InstanceGroupMember
from emulator.db import table_of
from emulator.reads import KeyedRead, Prebuilt, Reader, connection_of


@dataclass(frozen=True)
class GroupRef:
    """A group as its members' side needs it: its row id, its uuid and its project."""

    id: int
    uuid: str
    project_id: str


def ref(row: InstanceGroup) -> GroupRef:
    assert row.id is not None
    return GroupRef(id=row.id, uuid=row.uuid, project_id=row.project_id)


def still_there(s: Session, group: GroupRef) -> bool:
    return s.get(InstanceGroup, group.id) is not None


def count_members_of_user(s: Session, group: GroupRef, user_id: str) -> int:
    """The user's live servers in the group (what Nova's member quota counts)."""
    stmt = (select(func.count()).select_from(InstanceGroupMember)
            .join(Instance, col(Instance.uuid) == col(InstanceGroupMember.instance_uuid))
            .where(InstanceGroupMember.group_id == group.id, Instance.user_id == user_id,
                   Instance.deleted == False))  # noqa: E712
    return int(s.exec(stmt).one())


def add(s: Session, group: GroupRef, server_ids: Sequence[str]) -> None:
    if server_ids:
        s.execute(insert(InstanceGroupMember), [
            {"group_id": group.id, "instance_uuid": server_id} for server_id in server_ids])


_LEAVE = Prebuilt(sa_delete(table_of(InstanceGroupMember)).where(
    table_of(InstanceGroupMember).c.instance_uuid == bindparam("server")))


def remove(s: Reader, server_id: str) -> None:
    """The end of a server's delete: it leaves its group (a statement built once)."""
    _LEAVE(connection_of(s), {"server": server_id})


def remove_all_of(s: Session, group: GroupRef) -> None:
    """The group is deleted: its servers stay, in no group."""
    s.exec(delete(InstanceGroupMember).where(
        col(InstanceGroupMember.group_id) == group.id))


def forget_all(s: Session) -> None:
    """Every server is forgotten (the control plane's reset): no group has members."""
    s.exec(delete(InstanceGroupMember))


_MEMBER, _GROUP = table_of(InstanceGroupMember), table_of(InstanceGroup)
_GROUPS = KeyedRead(lambda match: (
    sa_select(_MEMBER.c.instance_uuid, _GROUP.c.id, _GROUP.c.uuid, _GROUP.c.project_id)
    .join_from(_MEMBER, _GROUP, _GROUP.c.id == _MEMBER.c.group_id)
    .where(match(_MEMBER.c.instance_uuid)).order_by(_MEMBER.c.id)))


def groups_of(s: Reader, server_ids: Sequence[str]) -> dict[str, GroupRef]:
    """Server id -> the group it is in, for the servers of ``server_ids`` in one."""
    found: dict[str, GroupRef] = {}
    for server_id, group_id, uuid, project_id in _GROUPS(s, server_ids):
        found.setdefault(server_id, GroupRef(id=group_id, uuid=uuid, project_id=project_id))
    return found


def members_of(s: Session, group_ids: Sequence[int]) -> dict[int, list[str]]:
    """Group row id -> its members' server ids in the order they joined."""
    found: dict[int, list[str]] = {group_id: [] for group_id in group_ids}
    if group_ids:
        stmt = (select(InstanceGroupMember)
                .where(col(InstanceGroupMember.group_id).in_(group_ids))
                .order_by(col(InstanceGroupMember.id)))
        for member in s.exec(stmt).all():
            found[member.group_id].append(member.instance_uuid)
    return found
