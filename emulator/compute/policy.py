"""Nova's default policy, as a table: rule name -> who passes.

Role implication (admin => member => reader) is already in the caller's roles, since
tokens carry the effective roles.
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.context import RequestContext
from emulator.errors import Forbidden

Check = Callable[[RequestContext, str | None], bool]


def _admin(ctx: RequestContext, _target: str | None) -> bool:
    return ctx.is_admin


def _any(_ctx: RequestContext, _target: str | None) -> bool:
    return True


def _project_role(role: str) -> Check:
    def check(ctx: RequestContext, target: str | None) -> bool:
        own = target is None or target == ctx.project_id
        return ctx.is_admin or (role in ctx.roles and own)

    return check


def _service(ctx: RequestContext, _target: str | None) -> bool:
    """Nova's ``service_or_admin``: what other services (Neutron, Cinder) call."""
    return ctx.is_admin or "service" in ctx.roles


def _same_user(ctx: RequestContext, target: str | None) -> bool:
    """Key pairs: the target is the owning *user* id, not a project."""
    return ctx.is_admin or target is None or target == ctx.user_id


ADMIN, ANY = _admin, _any
READER, MEMBER = _project_role("reader"), _project_role("member")
#: Nova's ``PROJECT_MANAGER_OR_ADMIN`` (2025.1): the project's ``manager`` role.
MANAGER = _project_role("manager")
KP_OWNER = _same_user
SERVICE = _service


#: Rule name -> check (``nova/policies/*.py`` defaults).
RULES: dict[str, Check] = {
    "os_compute_api:servers:index": READER,
    "os_compute_api:servers:detail": READER,
    "os_compute_api:servers:index:get_all_tenants": ADMIN,
    "os_compute_api:servers:detail:get_all_tenants": ADMIN,
    "os_compute_api:servers:allow_all_filters": ADMIN,
    "os_compute_api:servers:show": READER,
    "os_compute_api:servers:show:host_status": ADMIN,
    "os_compute_api:servers:show:flavor-extra-specs": READER,
    "os_compute_api:servers:create": MEMBER,
    "os_compute_api:servers:update": MEMBER,
    "os_compute_api:servers:delete": MEMBER,
    "os_compute_api:os-deferred-delete:force": MEMBER,
    "os_compute_api:servers:stop": MEMBER,
    "os_compute_api:servers:start": MEMBER,
    "os_compute_api:servers:reboot": MEMBER,
    "os_compute_api:servers:trigger_crash_dump": MEMBER,
    "os_compute_api:servers:rebuild": MEMBER,
    "os_compute_api:servers:rebuild:trusted_certs": MEMBER,
    "os_compute_api:servers:resize": MEMBER,
    "os_compute_api:servers:confirm_resize": MEMBER,
    "os_compute_api:servers:revert_resize": MEMBER,
    "os_compute_api:servers:create_image": MEMBER,
    "os_compute_api:servers:create_image:allow_volume_backed": MEMBER,
    "os_compute_api:os-create-backup": MEMBER,
    "os_compute_api:os-pause-server:pause": MEMBER,
    "os_compute_api:os-pause-server:unpause": MEMBER,
    "os_compute_api:os-suspend-server:suspend": MEMBER,
    "os_compute_api:os-suspend-server:resume": MEMBER,
    "os_compute_api:os-lock-server:lock": MEMBER,
    "os_compute_api:os-lock-server:unlock": MEMBER,
    "os_compute_api:os-lock-server:unlock:unlock_override": ADMIN,
    "os_compute_api:os-admin-password": MEMBER,
    "os_compute_api:os-admin-actions:reset_state": ADMIN,
    "os_compute_api:os-rescue": MEMBER,
    "os_compute_api:os-unrescue": MEMBER,
    "os_compute_api:os-shelve:shelve": MEMBER,
    "os_compute_api:os-shelve:shelve_offload": ADMIN,
    "os_compute_api:os-shelve:unshelve": MEMBER,
    "os_compute_api:os-shelve:unshelve_to_host": ADMIN,
    "os_compute_api:os-deferred-delete:restore": MEMBER,
    "os_compute_api:os-console-output": MEMBER,
    "os_compute_api:os-remote-consoles": MEMBER,
    "os_compute_api:os-console-auth-tokens": ADMIN,
    "os_compute_api:os-server-password:show": READER,
    "os_compute_api:os-server-password:clear": MEMBER,
    "os_compute_api:os-server-diagnostics": ADMIN,
    "os_compute_api:os-extended-server-attributes": ADMIN,
    "os_compute_api:server-metadata:index": READER,
    "os_compute_api:server-metadata:show": READER,
    "os_compute_api:server-metadata:create": MEMBER,
    "os_compute_api:server-metadata:update": MEMBER,
    "os_compute_api:server-metadata:update_all": MEMBER,
    "os_compute_api:server-metadata:delete": MEMBER,
    "os_compute_api:os-server-tags:index": READER,
    "os_compute_api:os-server-tags:show": READER,
    "os_compute_api:os-server-tags:update": MEMBER,
    "os_compute_api:os-server-tags:update_all": MEMBER,
    "os_compute_api:os-server-tags:delete": MEMBER,
    "os_compute_api:os-server-tags:delete_all": MEMBER,
    "os_compute_api:ips:index": READER,
    "os_compute_api:ips:show": READER,
    "os_compute_api:os-instance-actions:list": READER,
    "os_compute_api:os-instance-actions:show": READER,
    "os_compute_api:os-instance-actions:events": ADMIN,
    "os_compute_api:os-instance-actions:events:details": ADMIN,
    "os_compute_api:os-availability-zone:list": ANY,
    "os_compute_api:os-availability-zone:detail": ADMIN,
    "os_compute_api:os-aggregates:index": ADMIN,
    "os_compute_api:os-aggregates:create": ADMIN,
    "os_compute_api:os-aggregates:show": ADMIN,
    "os_compute_api:os-aggregates:update": ADMIN,
    "os_compute_api:os-aggregates:delete": ADMIN,
    "os_compute_api:os-aggregates:add_host": ADMIN,
    "os_compute_api:os-aggregates:remove_host": ADMIN,
    "os_compute_api:os-aggregates:set_metadata": ADMIN,
    "compute:aggregates:images": ADMIN,
    "os_compute_api:os-services:list": ADMIN,
    "os_compute_api:os-services:update": ADMIN,
    "os_compute_api:os-services:delete": ADMIN,
    "os_compute_api:os-hypervisors:list": ADMIN,
    "os_compute_api:os-hypervisors:list-detail": ADMIN,
    "os_compute_api:os-hypervisors:show": ADMIN,
    "os_compute_api:os-hypervisors:statistics": ADMIN,
    "os_compute_api:os-hypervisors:uptime": ADMIN,
    "os_compute_api:os-hypervisors:search": ADMIN,
    "os_compute_api:os-hypervisors:servers": ADMIN,
    "os_compute_api:os-migrate-server:migrate": MANAGER,
    "os_compute_api:os-migrate-server:migrate:host": ADMIN,
    "os_compute_api:os-migrate-server:migrate_live": MANAGER,
    "os_compute_api:os-migrate-server:migrate_live:host": ADMIN,
    "os_compute_api:os-evacuate": ADMIN,
    "os_compute_api:os-migrations:index": MANAGER,
    "os_compute_api:os-migrations:index:all_projects": ADMIN,
    "os_compute_api:os-migrations:index:host": ADMIN,
    "os_compute_api:servers:migrations:index": MANAGER,
    "os_compute_api:servers:migrations:index:host": ADMIN,
    "os_compute_api:servers:migrations:show": ADMIN,
    "os_compute_api:servers:migrations:force_complete": MANAGER,
    "os_compute_api:servers:migrations:delete": MANAGER,
    "os_compute_api:os-flavor-manage:create": ADMIN,
    "os_compute_api:os-flavor-manage:update": ADMIN,
    "os_compute_api:os-flavor-manage:delete": ADMIN,
    "os_compute_api:os-flavor-access": ADMIN,
    "os_compute_api:os-flavor-access:add_tenant_access": ADMIN,
    "os_compute_api:os-flavor-access:remove_tenant_access": ADMIN,
    "os_compute_api:os-flavor-extra-specs:index": READER,
    "os_compute_api:os-flavor-extra-specs:show": READER,
    "os_compute_api:os-flavor-extra-specs:create": ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": ADMIN,
    "os_compute_api:os-keypairs:index": KP_OWNER,
    "os_compute_api:os-keypairs:create": KP_OWNER,
    "os_compute_api:os-keypairs:show": KP_OWNER,
    "os_compute_api:os-keypairs:delete": KP_OWNER,
    "os_compute_api:os-server-groups:index": READER,
    "os_compute_api:os-server-groups:index:all_projects": ADMIN,
    "os_compute_api:os-server-groups:show": READER,
    "os_compute_api:os-server-groups:create": MEMBER,
    "os_compute_api:os-server-groups:delete": MEMBER,
    "os_compute_api:os-quota-sets:show": READER,
    "os_compute_api:os-quota-sets:detail": READER,
    "os_compute_api:os-quota-sets:defaults": ANY,
    "os_compute_api:os-quota-sets:update": ADMIN,
    "os_compute_api:os-quota-sets:delete": ADMIN,
    "os_compute_api:os-quota-class-sets:show": ADMIN,
    "os_compute_api:os-quota-class-sets:update": ADMIN,
    "os_compute_api:limits": ANY,
    "os_compute_api:limits:other_project": ADMIN,
    # The operator's APIs: hosts (until 2.42), usage, the audit log, the calls services
    # make (external events, assisted volume snapshots) and the admin network action.
    "os_compute_api:os-hosts:list": ADMIN,
    "os_compute_api:os-hosts:show": ADMIN,
    "os_compute_api:os-hosts:update": ADMIN,
    "os_compute_api:os-hosts:reboot": ADMIN,
    "os_compute_api:os-hosts:shutdown": ADMIN,
    "os_compute_api:os-hosts:start": ADMIN,
    "os_compute_api:os-simple-tenant-usage:list": ADMIN,
    "os_compute_api:os-simple-tenant-usage:show": READER,
    "os_compute_api:os-instance-usage-audit-log:list": ADMIN,
    "os_compute_api:os-instance-usage-audit-log:show": ADMIN,
    "os_compute_api:os-server-external-events:create": SERVICE,
    "os_compute_api:os-assisted-volume-snapshots:create": SERVICE,
    "os_compute_api:os-assisted-volume-snapshots:delete": SERVICE,
    "os_compute_api:os-admin-actions:inject_network_info": ADMIN,
    # Volume attachments (``swap`` is Cinder's call during a volume migration).
    "os_compute_api:os-volumes-attachments:index": READER,
    "os_compute_api:os-volumes-attachments:show": READER,
    "os_compute_api:os-volumes-attachments:create": MEMBER,
    "os_compute_api:os-volumes-attachments:update": MEMBER,
    "os_compute_api:os-volumes-attachments:swap": SERVICE,
    "os_compute_api:os-volumes-attachments:delete": MEMBER,
    # A server's network: interfaces, multinic, floating IPs and security groups.
    "os_compute_api:os-attach-interfaces:list": READER,
    "os_compute_api:os-attach-interfaces:show": READER,
    "os_compute_api:os-attach-interfaces:create": MEMBER,
    "os_compute_api:os-attach-interfaces:delete": MEMBER,
    "os_compute_api:os-multinic:add": MEMBER,
    "os_compute_api:os-multinic:remove": MEMBER,
    "os_compute_api:os-floating-ips:add": MEMBER,
    "os_compute_api:os-floating-ips:remove": MEMBER,
    "os_compute_api:os-security-groups:add": MEMBER,
    "os_compute_api:os-security-groups:remove": MEMBER,
    "os_compute_api:os-security-groups:list": READER,
}


def allowed(ctx: RequestContext, rule: str, target_project: str | None = None) -> bool:
    return RULES[rule](ctx, target_project)


def authorize(ctx: RequestContext, rule: str, target_project: str | None = None) -> None:
    """Raise ``Forbidden`` with Nova's message unless ``ctx`` passes ``rule``."""
    if not allowed(ctx, rule, target_project):
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
