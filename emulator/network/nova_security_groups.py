"""Security groups as Nova's compute side uses them (Nova's ``_process_security_groups``
and ``security_group_api``): a create's groups by name or id, a server's groups added to
and removed from every port, and the groups of a server in Nova's legacy shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.errors import Conflict, InvalidInput, NotFound
from emulator.network import fixed_ips, ports, security_groups
from emulator.network.models import (
    NeutronPortSecurityGroup,
    NeutronSecurityGroup,
    NeutronSecurityGroupRule,
)
from emulator.network.nova_client import ports_of

DEFAULT_GROUP = "default"


def security_group_ids(s: Session, project_id: str, names: Sequence[str]) -> list[str]:
    """Nova's ``_process_security_groups``: each name or id among the project's groups
    (its ``default`` group made on first use); [] for just ``default`` (Neutron's own
    default then applies)."""
    if list(names) in ([], [DEFAULT_GROUP]):
        return []
    security_groups.ensure_default(s, project_id)
    groups = list(s.exec(select(NeutronSecurityGroup).where(
        NeutronSecurityGroup.project_id == project_id)))
    found = []
    for name in names:
        by_id = [g.id for g in groups if g.id == name]
        by_name = [g.id for g in groups if g.name == name]
        if by_id:
            found.append(by_id[0])
        elif len(by_name) > 1:
            raise Conflict(f"Multiple security groups found matching '{name}'. Use an ID to "
                           "be more specific.")
        elif by_name:
            found.append(by_name[0])
        else:
            raise InvalidInput(f"Security group {name} not found.")
    return found


def find_group(s: Session, project_id: str, name: str) -> str:
    """``find_resourceid_by_name_or_id`` among the project's groups (Nova's add/remove
    security group messages)."""
    security_groups.ensure_default(s, project_id)
    groups = list(s.exec(select(NeutronSecurityGroup).where(
        NeutronSecurityGroup.project_id == project_id)))
    if any(g.id == name for g in groups):
        return name
    matches = [g.id for g in groups if g.name == name]
    if len(matches) > 1:
        raise Conflict(f"Multiple security_group matches found for name '{name}', use an ID "
                       "to be more specific.")
    if not matches:
        raise NotFound(f"Security group {name} is not found for project {project_id}")
    return matches[0]


def add_security_group(s: Session, ctx: RequestContext, instance_uuid: str, name: str) -> None:
    """Nova's ``security_group_api.add_to_instance``: the group on every port."""
    group_id = find_group(s, ctx.project_id or "", name)
    found = ports_of(s, [instance_uuid])
    if not found:
        raise NotFound(f"instance_id {instance_uuid} could not be found as device id on "
                       "any ports")
    for port in found:
        if not port.port_security_enabled or not fixed_ips.held(s, port.id):
            raise InvalidInput("Network requires port_security_enabled and subnet "
                               "associated in order to apply security groups.")
        if group_id not in ports.current_groups(s, port.id):
            s.add(NeutronPortSecurityGroup(port_id=port.id, security_group_id=group_id))
    s.flush()


def remove_security_group(s: Session, ctx: RequestContext, instance_uuid: str,
                          name: str) -> None:
    """Nova's ``security_group_api.remove_from_instance``."""
    group_id = find_group(s, ctx.project_id or "", name)
    found = ports_of(s, [instance_uuid])
    if not found:
        raise NotFound(f"instance_id {instance_uuid} could not be found as device id on "
                       "any ports")
    removed = False
    for port in found:
        binding = s.get(NeutronPortSecurityGroup, (port.id, group_id))
        if binding is not None:
            s.delete(binding)
            removed = True
    if not removed:
        raise NotFound(f"Security group {name} not associated with the instance "
                       f"{instance_uuid}")
    s.flush()


def instance_security_groups(s: Session, instance_uuid: str) -> list[dict[str, Any]]:
    """Nova's ``get_instance_security_groups(detailed=True)`` in the legacy format (the
    groups on the instance's ports with their ingress rules), sorted as Nova's API."""
    port_ids = [p.id for p in ports_of(s, [instance_uuid])]
    if not port_ids:
        return []
    group_ids = set(s.exec(select(NeutronPortSecurityGroup.security_group_id).where(
        col(NeutronPortSecurityGroup.port_id).in_(port_ids))).all())
    groups = list(s.exec(select(NeutronSecurityGroup).where(
        col(NeutronSecurityGroup.id).in_(group_ids))))
    names = {g.id: g for g in groups}
    result = []
    for group in groups:
        rules = []
        for rule in s.exec(select(NeutronSecurityGroupRule).where(
                NeutronSecurityGroupRule.security_group_id == group.id,
                NeutronSecurityGroupRule.direction == "ingress")):
            rules.append(_legacy_rule(s, rule, names))
        result.append({"id": group.id, "name": group.name, "description": group.description,
                       "tenant_id": group.project_id, "rules": rules})
    return sorted(result, key=lambda g: (g["tenant_id"], g["name"]))


def _legacy_rule(s: Session, rule: NeutronSecurityGroupRule,
                 known: dict[str, NeutronSecurityGroup]) -> dict[str, Any]:
    """A Neutron rule in Nova's legacy shape (``_format_security_group_rule``)."""
    protocol = rule.protocol.upper() if rule.protocol else None
    low, high = rule.port_range_min, rule.port_range_max
    if protocol in ("TCP", "UDP") and low is None:
        low, high = 1, 65535
    if protocol == "ICMP" and low is None:
        low, high = -1, -1
    entry: dict[str, Any] = {
        "id": rule.id, "parent_group_id": rule.security_group_id,
        "ip_protocol": protocol.lower() if protocol else None,
        "from_port": low, "to_port": high, "group": {}, "ip_range": {}}
    if rule.remote_group_id:
        remote = known.get(rule.remote_group_id) or s.get(NeutronSecurityGroup,
                                                          rule.remote_group_id)
        if remote is not None:
            entry["group"] = {"name": remote.name, "tenant_id": remote.project_id}
    else:
        cidr = rule.remote_ip_prefix or ("0.0.0.0/0" if rule.ethertype == "IPv4" else "::/0")
        entry["ip_range"] = {"cidr": cidr}
    return entry
