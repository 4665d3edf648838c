"""Cinder's default policy (``cinder/policies/*.py``), as a table.

Cinder's new defaults, enforced (oslo.policy's ``enforce_new_defaults``, on by default
since 2024.2): anyone with a project, a reader of the resource's project (reads), a member
of it (writes: ``PROJECT_MEMBER_OR_ADMIN``; a reader writes nothing), and an admin.
Whether the caller can *see* a resource is a separate question (a project-scoped query:
another project's volume is a 404 before any rule is checked).
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.context import RequestContext
from emulator.errors import Forbidden

#: (caller, project of the resource or None) -> allowed.
Check = Callable[[RequestContext, "str | None"], bool]


def _anyone(ctx: RequestContext, _project: str | None) -> bool:
    return True


def _admin_or_owner(ctx: RequestContext, project: str | None) -> bool:
    """Any role in the resource's project (a reader reads)."""
    return ctx.is_admin or (project is not None and project == ctx.project_id)


def _member(ctx: RequestContext, project: str | None) -> bool:
    """A member of the resource's project (of its own, for a create)."""
    return ctx.is_admin or ("member" in ctx.roles
                            and (project is None or project == ctx.project_id))


def _admin(ctx: RequestContext, _project: str | None) -> bool:
    return ctx.is_admin


#: Rule name -> check.
RULES: dict[str, Check] = {
    "volume:create": _member,
    "volume:create_from_image": _member,
    "volume:get": _admin_or_owner,
    "volume:get_all": _anyone,
    "volume:update": _member,
    "volume:delete": _member,
    "volume:force_delete": _admin,
    "volume:extend": _member,
    "volume:extend_attached_volume": _member,
    "volume:retype": _member,
    "volume:update_readonly_flag": _member,
    "volume_extension:volume_actions:upload_image": _member,
    **{f"volume_extension:volume_actions:{action}": _member for action in (
        "reserve", "unreserve", "begin_detaching", "roll_detaching", "attach", "detach",
        "initialize_connection", "terminate_connection")},
    "volume_extension:volume_admin_actions:reset_status": _admin,
    "volume_extension:snapshot_admin_actions:reset_status": _admin,
    "volume_extension:snapshot_admin_actions:force_delete": _admin,
    "snapshot_extension:snapshot_actions:update_snapshot_status": _member,
    "volume_extension:volume_admin_actions:force_delete": _admin,
    "volume_extension:volume_admin_actions:force_detach": _admin,
    "volume_extension:volume_host_attribute": _admin,
    "volume_extension:volume_tenant_attribute": _admin_or_owner,
    "volume_extension:volume_mig_status_attribute": _admin,
    "volume_extension:volume_image_metadata:show": _admin_or_owner,
    "volume_extension:volume_image_metadata:set": _member,
    "volume_extension:volume_image_metadata:remove": _member,
    "volume:get_volume_metadata": _admin_or_owner,
    "volume:create_volume_metadata": _member,
    "volume:update_volume_metadata": _member,
    "volume:delete_volume_metadata": _member,
    "volume:get_snapshot": _admin_or_owner,
    "volume:get_all_snapshots": _anyone,
    "volume:create_snapshot": _member,
    "volume:update_snapshot": _member,
    "volume:delete_snapshot": _member,
    "volume:get_snapshot_metadata": _admin_or_owner,
    "volume:update_snapshot_metadata": _member,
    "volume:delete_snapshot_metadata": _member,
    "volume_extension:extended_snapshot_attributes": _admin_or_owner,
    "volume:attachment_create": _member,
    "volume:attachment_update": _member,
    "volume:attachment_delete": _member,
    "volume:attachment_complete": _member,
    "volume_extension:types_extra_specs:read_sensitive": _admin,
    "volume_extension:access_types_qos_specs_id": _admin,
    "volume_extension:access_types_extra_specs": _anyone,
    "volume_extension:quotas:show": _admin_or_owner,
    "volume_extension:quotas:update": _admin,
    "volume_extension:quotas:delete": _admin,
    "limits_extension:used_limits": _admin_or_owner,
}


def allowed(ctx: RequestContext, rule: str, project: str | None = None) -> bool:
    return RULES[rule](ctx, project)


def authorize(ctx: RequestContext, rule: str, project: str | None = None) -> None:
    """Raise ``Forbidden`` with Cinder's message unless ``ctx`` passes ``rule``."""
    if not allowed(ctx, rule, project):
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
