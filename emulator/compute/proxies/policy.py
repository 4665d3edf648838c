"""The default policies of Nova's proxy APIs (``nova/policies/{security_groups,
floating_ips,floating_ip_pools,networks,tenant_networks,volumes}.py``), with the checks of
``emulator.compute.policy``. Nova checks each against the caller's own project, after the
request's schema and before it asks Neutron or Cinder anything."""

from __future__ import annotations

from emulator.compute.policy import ANY, MEMBER, READER, Check
from emulator.context import RequestContext
from emulator.errors import Forbidden

SG, FIP = "os_compute_api:os-security-groups", "os_compute_api:os-floating-ips"
NET, TNET = "os_compute_api:os-networks", "os_compute_api:os-tenant-networks"
VOL = "os_compute_api:os-volumes"

#: Rule name -> check.
RULES: dict[str, Check] = {
    f"{SG}:get": READER,
    f"{SG}:show": READER,
    f"{SG}:create": MEMBER,
    f"{SG}:update": MEMBER,
    f"{SG}:delete": MEMBER,
    f"{SG}:rule:create": MEMBER,
    f"{SG}:rule:delete": MEMBER,
    f"{FIP}:list": READER,
    f"{FIP}:show": READER,
    f"{FIP}:create": MEMBER,
    f"{FIP}:delete": MEMBER,
    "os_compute_api:os-floating-ip-pools": ANY,
    f"{NET}:list": READER,
    f"{NET}:show": READER,
    f"{TNET}:list": READER,
    f"{TNET}:show": READER,
    f"{VOL}:list": READER,
    f"{VOL}:detail": READER,
    f"{VOL}:show": READER,
    f"{VOL}:create": MEMBER,
    f"{VOL}:delete": MEMBER,
    f"{VOL}:snapshots:list": READER,
    f"{VOL}:snapshots:detail": READER,
    f"{VOL}:snapshots:show": READER,
    f"{VOL}:snapshots:create": MEMBER,
    f"{VOL}:snapshots:delete": MEMBER,
}


def authorize(ctx: RequestContext, rule: str) -> None:
    """Raise Nova's ``Forbidden`` unless ``ctx`` passes ``rule`` for its own project."""
    if not RULES[rule](ctx, ctx.project_id):
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")
