"""Glance's default policy (new defaults, ``glance/policies/*.py``), as a table.

Who may *see* an image is a separate question (``visible`` in the service): a rule is
checked only for images the caller can see, and a refusal is then a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from emulator.context import RequestContext
from emulator.errors import Forbidden


@dataclass(frozen=True)
class Target:
    """What a rule looks at: the image's owner and visibility, and the member in question."""

    owner: str | None
    visibility: str = "private"
    #: Whether the caller's project is a member of the image (any member status).
    is_member: bool = False
    #: The member a member rule is about.
    member_id: str | None = None


Check = Callable[[RequestContext, Target], bool]


def _admin(ctx: RequestContext, _t: Target) -> bool:
    return ctx.is_admin


def _owner_member(ctx: RequestContext, t: Target) -> bool:
    """``admin or (role:member and project_id:%(project_id)s)``."""
    return ctx.is_admin or ("member" in ctx.roles and t.owner == ctx.project_id)


def _download(ctx: RequestContext, t: Target) -> bool:
    """Members of the owner, of the image, or of anyone for public/community/shared."""
    return ctx.is_admin or ("member" in ctx.roles and (
        t.owner == ctx.project_id or t.is_member
        or t.visibility in ("public", "community", "shared")))


def _member_reader(ctx: RequestContext, t: Target) -> bool:
    return ctx.is_admin or ("reader" in ctx.roles and (
        t.owner == ctx.project_id or t.member_id == ctx.project_id))


def _the_member(ctx: RequestContext, t: Target) -> bool:
    return ctx.is_admin or ("member" in ctx.roles and t.member_id == ctx.project_id)


#: Rule name -> check.
RULES: dict[str, Check] = {
    "add_image": _owner_member,
    "modify_image": _owner_member,
    "delete_image": _owner_member,
    "upload_image": _owner_member,
    "download_image": _download,
    "publicize_image": _admin,
    "communitize_image": _owner_member,
    "deactivate": _owner_member,
    "reactivate": _owner_member,
    "add_member": _owner_member,
    "delete_member": _owner_member,
    "get_member": _member_reader,
    "get_members": _member_reader,
    "modify_member": _the_member,
}


def authorize(ctx: RequestContext, rule: str, target: Target) -> None:
    """Raise ``Forbidden`` with Glance's message unless ``ctx`` passes ``rule``."""
    if not RULES[rule](ctx, target):
        raise Forbidden(f"You are not authorized to complete {rule} action.")
