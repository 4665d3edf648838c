"""Security groups: the attribute table, each project's ``default`` group (made on first
use with Neutron's default rules: any egress, ingress from members of the group, for IPv4
and IPv6), and create/update/delete with Neutron's refusals (no second ``default``, the
default group not renamed nor removed by its project, a group in use kept)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel import delete as sql_delete

from emulator.context import RequestContext
from emulator.db import table_of
from emulator.errors import EmulatorError
from emulator.network import quotas, rows, security_group_rules
from emulator.network.attributes import (
    NAME_FIELD_SIZE,
    Attribute,
    standard_attributes,
    table,
    to_boolean,
    valid_string,
    valid_uuid,
)
from emulator.network.bodies import given
from emulator.network.errors import fail, not_authorized
from emulator.network.listing import Record
from emulator.network.models import (
    NeutronDefaultSecurityGroup,
    NeutronPortSecurityGroup,
    NeutronSecurityGroup,
    NeutronSecurityGroupRule,
)
from emulator.network.resources import Resource
from emulator.reads import KeyedRead

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"


def valid_name_not_default(data: Any) -> str | None:
    """``type:name_not_default``: a string, and not ``default`` in any case (a 409)."""
    message = valid_string(NAME_FIELD_SIZE)(data)
    if message:
        return message
    if data.lower() == DEFAULT_NAME:
        raise fail("SecurityGroupDefaultAlreadyExists")
    return None


ATTRIBUTES = table(
    Attribute("id", validate=valid_uuid, filter=True, sort=True),
    Attribute("name", post=True, put=True, default="", validate=valid_name_not_default,
              filter=True, sort=True),
    Attribute("security_group_rules"),
    Attribute("stateful", post=True, put=True, default=True, convert=to_boolean,
              filter=True, sort=True),
    Attribute("shared", filter=True),
    *standard_attributes(),
)

#: The rules of a new default group: (direction, ethertype, from the group itself).
DEFAULT_RULES = (("egress", "IPv4", False), ("egress", "IPv6", False),
                 ("ingress", "IPv4", True), ("ingress", "IPv6", True))


def not_found(group_id: str) -> EmulatorError:
    return fail("SecurityGroupNotFound", id=group_id)


def records(s: Session, groups: list[NeutronSecurityGroup]) -> list[Record]:
    ids = [g.id for g in groups]
    tags = rows.tags_of(s, ids)
    rules = security_group_rules.of_groups(s, ids)
    return [{
        "id": g.id, "name": g.name, "stateful": g.stateful, "shared": False,
        "security_group_rules": rules[g.id],
        **rows.standard(g, tags[g.id], g.description),
    } for g in groups]


_DEFAULT = table_of(NeutronDefaultSecurityGroup)
_DEFAULT_OF = KeyedRead(lambda match: sa_select(_DEFAULT.c.security_group_id)
                        .where(match(_DEFAULT.c.project_id)))


def ensure_default(s: Session, project_id: str | None) -> str | None:
    """The project's default group, made now if it has none (outside its quota)."""
    if not project_id:
        return None
    known = _DEFAULT_OF(s, [project_id])
    if known:
        return str(known[0].security_group_id)
    stamp = rows.now()
    group = NeutronSecurityGroup(id=rows.new_id(), name=DEFAULT_NAME, project_id=project_id,
                                 description=DEFAULT_DESCRIPTION, created_at=stamp,
                                 updated_at=stamp)
    s.add(group)
    s.flush()
    s.add(NeutronDefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
    for direction, ethertype, from_group in DEFAULT_RULES:
        security_group_rules.add(s, project_id, group.id, direction=direction,
                                 ethertype=ethertype,
                                 remote_group_id=group.id if from_group else None)
    s.flush()
    return group.id


def visible_row(s: Session, ctx: RequestContext, group_id: str) -> NeutronSecurityGroup:
    row = rows.owned_row(s, ctx, NeutronSecurityGroup, group_id)
    if row is None:
        raise not_found(group_id)
    return row


def load(s: Session, ctx: RequestContext) -> list[Record]:
    ensure_default(s, ctx.project_id)
    return records(s, rows.owned_rows(s, ctx, NeutronSecurityGroup))


def get(s: Session, ctx: RequestContext, group_id: str) -> Record:
    return records(s, [visible_row(s, ctx, group_id)])[0]


def create(s: Session, ctx: RequestContext, values: dict[str, Any]) -> Record:
    project_id = values["project_id"]
    ensure_default(s, ctx.project_id)
    ensure_default(s, project_id)
    quotas.check(s, project_id, "security_group")
    stamp = rows.now()
    row = NeutronSecurityGroup(id=rows.new_id(), name=values["name"], project_id=project_id,
                               stateful=values["stateful"], description=values["description"],
                               created_at=stamp, updated_at=stamp)
    s.add(row)
    s.flush()
    # NOTE: a new group lets everything out (Neutron's two egress rules), not in.
    for direction, ethertype, _from_group in DEFAULT_RULES[:2]:
        security_group_rules.add(s, project_id, row.id, direction=direction,
                                 ethertype=ethertype)
    if given(values, "tags"):
        rows.set_tags(s, row.id, values["tags"])
    s.flush()
    return records(s, [row])[0]


def _is_default(s: Session, row: NeutronSecurityGroup) -> bool:
    known = s.get(NeutronDefaultSecurityGroup, row.project_id)
    return known is not None and known.security_group_id == row.id


def update(s: Session, ctx: RequestContext, group_id: str, values: dict[str, Any]) -> Record:
    row = visible_row(s, ctx, group_id)
    if "name" in values and _is_default(s, row):
        raise fail("SecurityGroupCannotUpdateDefault")
    if "stateful" in values and values["stateful"] != row.stateful and s.exec(
            select(NeutronPortSecurityGroup).where(
                NeutronPortSecurityGroup.security_group_id == group_id)).first():
        raise fail("SecurityGroupInUse", id=group_id)
    for name in ("name", "description", "stateful"):
        if name in values:
            setattr(row, name, values[name])
    rows.touch(s, row)
    s.flush()
    return records(s, [row])[0]


def delete(s: Session, ctx: RequestContext, group_id: str) -> None:
    row = visible_row(s, ctx, group_id)
    if not ctx.is_admin and row.project_id != ctx.project_id:
        raise not_authorized("rule:delete_security_group")
    default = _is_default(s, row)
    if default and not ctx.is_admin:
        raise fail("SecurityGroupCannotRemoveDefault")
    if s.exec(select(NeutronPortSecurityGroup).where(
            NeutronPortSecurityGroup.security_group_id == group_id)).first() is not None:
        raise fail("SecurityGroupInUse", id=group_id)
    # Its rules go with it, and so do other groups' rules that name it as their remote.
    for model, column in ((NeutronSecurityGroupRule, NeutronSecurityGroupRule.security_group_id),
                          (NeutronSecurityGroupRule, NeutronSecurityGroupRule.remote_group_id)):
        s.exec(sql_delete(model).where(col(column) == group_id))
    if default:
        s.exec(sql_delete(NeutronDefaultSecurityGroup).where(
            col(NeutronDefaultSecurityGroup.project_id) == row.project_id))
    rows.drop_tags(s, group_id)
    s.delete(row)
    s.flush()


RESOURCE = Resource(
    name="security_group", collection="security_groups", attributes=ATTRIBUTES, load=load,
    get=get, create=create, update=update, delete=delete, not_found=not_found,
    model=NeutronSecurityGroup,
    quota="security_group")
