"""Cinder's default policy (``cinder/policies/*.py``), as a table.

Cinder checks each new default OR its deprecated one (``enforce_new_defaults`` is off),
which comes to three personas here: anyone with a project, the owner of the resource (any
role in its project: the deprecated ``admin_or_owner``), and an admin (``admin_api``).
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
    return ctx.is_admin or (project is not None and project == ctx.project_id)


def _admin(ctx: RequestContext, _project: str | None) -> bool:
    return ctx.is_admin


#: Rule name -> check.
RULES: dict[str, Check] = {
    "volume:create": _anyone,
    "volume:create_from_image": _anyone,
    "volume:get": _admin_or_owner,
    "volume:get_all": _anyone,
    "volume:update": _admin_or_owner,
    "volume:delete": _admin_or_owner,
    "volume:force_delete": _admin,
    "volume:extend": _admin_or_owner,
    "volume:extend_attached_volume": _admin_or_owner,
    "volume:retype": _admin_or_owner,
    "volume:update_readonly_flag": _admin_or_owner,
    "volume_extension:volume_actions:upload_image": _admin_or_owner,
    **{f"volume_extension:volume_actions:{action}": _admin_or_owner for action in (
        "reserve", "unreserve", "begin_detaching", "roll_detaching", "attach", "detach",
        "initialize_connection", "terminate_connection")},
    "volume_extension:volume_admin_actions:reset_status": _admin,
    "volume_extension:snapshot_admin_actions:reset_status": _admin,
    "volume_extension:snapshot_admin_actions:force_delete": _admin,
    "snapshot_extension:snapshot_actions:update_snapshot_status": _admin_or_owner,
    "volume_extension:volume_admin_actions:force_delete": _admin,
    "volume_extension:volume_admin_actions:force_detach": _admin,
    "volume_extension:volume_host_attribute": _admin,
    "volume_extension:volume_tenant_attribute": _admin_or_owner,
    "volume_extension:volume_mig_status_attribute": _admin,
    "volume_extension:volume_image_metadata:show": _admin_or_owner,
    "volume_extension:volume_image_metadata:set": _admin_or_owner,
    "volume_extension:volume_image_metadata:remove": _admin_or_owner,
    "volume:get_volume_metadata": _admin_or_owner,
    "volume:create_volume_metadata": _admin_or_owner,
    "volume:update_volume_metadata": _admin_or_owner,
    "volume:delete_volume_metadata": _admin_or_owner,
    "volume:get_snapshot": _admin_or_owner,
    "volume:get_all_snapshots": _anyone,
    "volume:create_snapshot": _admin_or_owner,
    "volume:update_snapshot": _admin_or_owner,
    "volume:delete_snapshot": _admin_or_owner,
    "volume:get_snapshot_metadata": _admin_or_owner,
    "volume:update_snapshot_metadata": _admin_or_owner,
    "volume:delete_snapshot_metadata": _admin_or_owner,
    "volume_extension:extended_snapshot_attributes": _admin_or_owner,
    "volume:attachment_create": _admin_or_owner,
    "volume:attachment_update": _admin_or_owner,
    "volume:attachment_delete": _admin_or_owner,
    "volume:attachment_complete": _admin_or_owner,
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
