"""Neutron's per-project quotas (the DB quota driver): a limit per resource, the default
unless an admin set another, checked against what the project holds when it creates one.

NOTE: Neutron's defaults (``[QUOTAS]``); -1 is unlimited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, delete, func, select

from emulator.context import RequestContext
from emulator.db import table_of
from emulator.network.bodies import item_of
from emulator.network.errors import bad_request, fail, not_authorized
from emulator.network.models import (
    NeutronFloatingIP,
    NeutronNetwork,
    NeutronPort,
    NeutronQuota,
    NeutronRouter,
    NeutronSecurityGroup,
    NeutronSecurityGroupRule,
    NeutronSubnet,
)
from emulator.reads import KeyedRead

UNLIMITED = -1
INT_MAX = 2**31 - 1

#: Quota resource -> (default limit, the table whose rows of a project count).
RESOURCES: dict[str, tuple[int, Any]] = {
    "network": (100, NeutronNetwork),
    "subnet": (100, NeutronSubnet),
    "port": (500, NeutronPort),
    "router": (10, NeutronRouter),
    "floatingip": (50, NeutronFloatingIP),
    "security_group": (10, NeutronSecurityGroup),
    "security_group_rule": (100, NeutronSecurityGroupRule),
}


def _counting(model: Any) -> KeyedRead:
    table = table_of(model)
    return KeyedRead(lambda match: sa_select(func.count()).select_from(table)
                     .where(match(table.c.project_id)))


#: Resource -> the read of how many rows of it a project holds (every create checks one).
_COUNTS = {resource: _counting(model) for resource, (_limit, model) in RESOURCES.items()}
_QUOTA = table_of(NeutronQuota)
_LIMITS = KeyedRead(lambda match: sa_select(_QUOTA.c.resource, _QUOTA.c.limit)
                    .where(match(_QUOTA.c.project_id)))


def used(s: Session, project_id: str, resource: str) -> int:
    return int(_COUNTS[resource](s, [project_id])[0][0])


def limits(s: Session, project_id: str) -> dict[str, int]:
    found = {resource: default for resource, (default, _model) in RESOURCES.items()}
    for resource, limit in _LIMITS(s, [project_id]):
        if resource in found:
            found[resource] = limit
    return found


def check(s: Session, project_id: str, resource: str, adding: int = 1) -> None:
    """Neutron's ``OverQuota`` (409) when ``adding`` more would pass the limit."""
    limit = limits(s, project_id)[resource]
    if limit != UNLIMITED and used(s, project_id, resource) + adding > limit:
        raise fail("OverQuota", overs=[resource])


def _readable(ctx: RequestContext, project_id: str) -> None:
    if project_id != ctx.project_id and not ctx.is_admin:
        raise not_authorized("rule:get_quota")


def show(s: Session, ctx: RequestContext, project_id: str) -> dict[str, int]:
    _readable(ctx, project_id)
    return limits(s, project_id)


def defaults(ctx: RequestContext, project_id: str) -> dict[str, int]:
    _readable(ctx, project_id)
    return {resource: default for resource, (default, _model) in RESOURCES.items()}


def details(s: Session, ctx: RequestContext, project_id: str) -> dict[str, dict[str, int]]:
    _readable(ctx, project_id)
    return {resource: {"limit": limit, "used": used(s, project_id, resource), "reserved": 0}
            for resource, limit in limits(s, project_id).items()}


def list_all(s: Session, ctx: RequestContext) -> list[dict[str, Any]]:
    """Every project with a limit of its own, with all of its limits."""
    if not ctx.is_admin:
        raise not_authorized("rule:get_quota")
    projects = sorted(set(s.exec(select(NeutronQuota.project_id)).all()))
    return [{**limits(s, p), "project_id": p, "tenant_id": p} for p in projects]


def update(s: Session, ctx: RequestContext, project_id: str, body: Any) -> dict[str, int]:
    if not ctx.is_admin:
        raise not_authorized("rule:update_quota")
    item = item_of(body, "quota")
    if not isinstance(item, dict):
        raise bad_request("Object 'quota' contains invalid data")
    item = dict(item)
    force = item.pop("force", None)
    item.pop("check_limit", None)
    unknown = sorted(set(item) - set(RESOURCES))
    if unknown:
        raise bad_request(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    wanted: dict[str, int] = {}
    for resource, raw in item.items():
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise fail("InvalidInput", error_message=f"'{raw}' is not an integer") from None
        if value < UNLIMITED or value > INT_MAX:
            bound = ("too small - must be at least '-1'" if value < UNLIMITED
                     else f"too large - must be no larger than '{INT_MAX}'")
            raise bad_request(f"Invalid input for {resource}. Reason: '{value}' is {bound}.")
        if force is not True and value != UNLIMITED:
            usage = used(s, project_id, resource)
            if usage > value:
                raise bad_request(f"Quota limit {value} for {resource} must be greater than "
                                  f"or equal to already used {usage}")
        wanted[resource] = value
    for resource, value in wanted.items():
        row = s.get(NeutronQuota, (project_id, resource))
        if row is None:
            row = NeutronQuota(project_id=project_id, resource=resource, limit=value)
        row.limit = value
        s.add(row)
    s.flush()
    return limits(s, project_id)


def reset(s: Session, ctx: RequestContext, project_id: str) -> None:
    if not ctx.is_admin:
        raise not_authorized("rule:delete_quota")
    s.exec(delete(NeutronQuota).where(col(NeutronQuota.project_id) == project_id))
