"""Neutron's ``auto-allocated-topology``: the first ``GET`` for a project makes it a
network, a subnet and a router with a gateway on the default external network (its
``is_default`` one) and an interface on the subnet; ``DELETE`` takes them away.

NOTE: Neutron carves the subnet from the default subnet pool; this cloud has no subnet
pools, so every project's subnet is the same CIDR (projects' addresses may overlap).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.network import fixed_ips, networks, routers, subnets
from emulator.network.attributes import NOT_SPECIFIED
from emulator.network.errors import fail, not_authorized, resource_not_found
from emulator.network.models import NeutronAutoAllocatedTopology, NeutronNetwork

NETWORK_NAME = "auto_allocated_network"
SUBNET_NAME = "auto_allocated_subnet_v4"
ROUTER_NAME = "auto_allocated_router"
CIDR = "10.1.0.0/26"


def _for_project(ctx: RequestContext, project_id: str) -> RequestContext:
    if project_id != ctx.project_id and not ctx.is_admin:
        raise not_authorized("rule:get_auto_allocated_topology")
    return ctx


def _default_external(s: Session) -> NeutronNetwork:
    network = s.exec(select(NeutronNetwork).where(col(NeutronNetwork.is_default),
                                                  col(NeutronNetwork.external))).first()
    if network is None:
        raise fail("AutoAllocationFailure",
                   reason="No default router:external network")
    return network


def _record(project_id: str, network_id: str) -> dict[str, str]:
    return {"id": network_id, "tenant_id": project_id, "project_id": project_id}


def get(s: Session, ctx: RequestContext, project_id: str, dry_run: bool) -> dict[str, str]:
    _for_project(ctx, project_id)
    known = s.get(NeutronAutoAllocatedTopology, project_id)
    if known is not None:
        return _record(project_id, known.network_id)
    external = _default_external(s)
    if dry_run:
        return {"id": "dry-run=pass", "tenant_id": project_id, "project_id": project_id}
    base = {"project_id": project_id, "tenant_id": project_id, "description": "",
            "tags": NOT_SPECIFIED}
    network = networks.create(s, ctx, {
        **base, "name": NETWORK_NAME, "admin_state_up": True, "shared": False,
        "router:external": False, "is_default": False, "mtu": NOT_SPECIFIED,
        "port_security_enabled": True, "availability_zone_hints": []})
    subnet = subnets.create(s, ctx, {
        **base, "name": SUBNET_NAME, "network_id": network["id"], "ip_version": 4,
        "cidr": CIDR, "subnetpool_id": NOT_SPECIFIED, "prefixlen": NOT_SPECIFIED,
        "gateway_ip": NOT_SPECIFIED, "allocation_pools": NOT_SPECIFIED,
        "dns_nameservers": NOT_SPECIFIED, "host_routes": NOT_SPECIFIED, "enable_dhcp": True,
        "ipv6_ra_mode": NOT_SPECIFIED, "ipv6_address_mode": NOT_SPECIFIED})
    router = routers.create(s, ctx, {
        **base, "name": ROUTER_NAME, "admin_state_up": True,
        "external_gateway_info": {"network_id": external.id},
        "availability_zone_hints": []})
    routers.add_interface(s, ctx, router["id"], {"subnet_id": subnet["id"]})
    s.add(NeutronAutoAllocatedTopology(project_id=project_id, network_id=network["id"],
                                       router_id=router["id"]))
    s.flush()
    return _record(project_id, network["id"])


def delete(s: Session, ctx: RequestContext, project_id: str) -> None:
    _for_project(ctx, project_id)
    known = s.get(NeutronAutoAllocatedTopology, project_id)
    if known is None:
        raise resource_not_found()
    for port in routers.interfaces(s, known.router_id):
        for allocation in fixed_ips.held(s, port.id):
            routers.remove_interface(s, ctx, known.router_id,
                                     {"subnet_id": allocation.subnet_id})
    routers.delete(s, ctx, known.router_id)
    s.delete(known)
    s.flush()
    networks.delete(s, ctx, known.network_id)
