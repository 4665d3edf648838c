"""The tag extension's subresource (``/v2.0/<collection>/<id>/tags``): list, replace,
add, check and remove a resource's tags. Changing them is its owner's (or an admin's)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from emulator.context import RequestContext
from emulator.network import rows
from emulator.network.attributes import TAG_MAX_LEN, valid_string
from emulator.network.errors import bad_request, fail, invalid_input, not_authorized
from emulator.network.models import NeutronTag
from emulator.network.resources import Resource

#: The collections that take tags (``standard-attr-tag``).
TAGGED = ("networks", "subnets", "ports", "routers", "floatingips", "security_groups")


def _check(tag: Any) -> str:
    message = valid_string(TAG_MAX_LEN)(tag)
    if message:
        raise invalid_input(message)
    return str(tag)


def _owned(s: Session, ctx: RequestContext, resource: Resource, resource_id: str) -> Any:
    record = resource.get(s, ctx, resource_id)
    if not ctx.is_admin and record.get("project_id") != ctx.project_id:
        raise not_authorized(f"rule:update_{resource.collection}_tags")
    return record


def _bump(s: Session, resource: Resource, resource_id: str) -> None:
    """A tag change is a change of the resource (its revision number goes up)."""
    row = s.get(resource.model, resource_id)
    if row is not None:
        rows.touch(s, row)


def list_tags(s: Session, ctx: RequestContext, resource: Resource,
              resource_id: str) -> list[str]:
    return list(resource.get(s, ctx, resource_id)["tags"])


def check(s: Session, ctx: RequestContext, resource: Resource, resource_id: str,
          tag: str) -> None:
    if tag not in resource.get(s, ctx, resource_id)["tags"]:
        raise fail("TagNotFound", tag=tag, resource=resource.name, resource_id=resource_id)


def replace(s: Session, ctx: RequestContext, resource: Resource, resource_id: str,
            body: Any) -> list[str]:
    _owned(s, ctx, resource, resource_id)
    if not isinstance(body, dict) or "tags" not in body:
        raise bad_request("Invalid input for tags. Reason: Body must contain 'tags'.")
    tags = body["tags"]
    if not isinstance(tags, list):
        raise invalid_input(f"'{tags}' is not a list")
    wanted = sorted({_check(tag) for tag in tags})
    rows.set_tags(s, resource_id, wanted)
    _bump(s, resource, resource_id)
    s.flush()
    return wanted


def add(s: Session, ctx: RequestContext, resource: Resource, resource_id: str,
        tag: str) -> None:
    _owned(s, ctx, resource, resource_id)
    _check(tag)
    if s.get(NeutronTag, (resource_id, tag)) is None:
        s.add(NeutronTag(resource_id=resource_id, tag=tag))
        _bump(s, resource, resource_id)
    s.flush()


def remove(s: Session, ctx: RequestContext, resource: Resource, resource_id: str,
           tag: str) -> None:
    _owned(s, ctx, resource, resource_id)
    row = s.get(NeutronTag, (resource_id, tag))
    if row is None:
        raise fail("TagNotFound", tag=tag, resource=resource.name, resource_id=resource_id)
    s.delete(row)
    _bump(s, resource, resource_id)
    s.flush()


def remove_all(s: Session, ctx: RequestContext, resource: Resource, resource_id: str) -> None:
    _owned(s, ctx, resource, resource_id)
    if s.exec(select(NeutronTag).where(NeutronTag.resource_id == resource_id)).first():
        rows.drop_tags(s, resource_id)
        _bump(s, resource, resource_id)
    s.flush()
