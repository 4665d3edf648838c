"""What a new cloud's Neutron holds, as devstack leaves it: a ``public`` external network
(flat, the default one for auto-allocation) with ``public-subnet`` 172.24.4.0/24 for
floating IPs (``[network] public_cidr``; 127.24.4.0/24 on the QEMU backend), a shared
``private`` network whose ``private-subnet`` is the CIDR servers' stand-in addresses come
from (``emulator.compute.addresses``), and ``router1`` joining them. All of it
is the admin project's; seeding again finds it there and adds nothing (a changed
``public_cidr`` takes effect on a new state only)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.network import networks, routers, subnets
from emulator.network.attributes import NOT_SPECIFIED
from emulator.network.models import NeutronNetwork


def stable_id(name: str) -> str:
    """The id a seeded resource always has (the stand-in ``private`` network's is
    ``stable_id("networks/private")``, as ``emulator.compute.addresses`` computes it)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"nova-emulator/{name}"))


PUBLIC_ID = stable_id("networks/public")
PRIVATE_ID = stable_id("networks/private")
#: devstack's ``FLOATING_RANGE`` and ``PUBLIC_NETWORK_GATEWAY``.
PUBLIC_CIDR = "172.24.4.0/24"
PUBLIC_GATEWAY = "172.24.4.1"
#: The stand-in private network's CIDR (``emulator.compute.addresses.DEFAULT_SUBNET``).
PRIVATE_CIDR = "10.0.0.0/16"


def _network(s: Session, ctx: RequestContext, network_id: str, **values: Any) -> None:
    networks.create(s, ctx, {
        "id": network_id, "project_id": ctx.project_id, "tenant_id": ctx.project_id,
        "description": "", "tags": NOT_SPECIFIED, "admin_state_up": True, "shared": False,
        "router:external": False, "is_default": False, "mtu": NOT_SPECIFIED,
        "port_security_enabled": True, "availability_zone_hints": [],
        "provider:network_type": NOT_SPECIFIED, "provider:physical_network": NOT_SPECIFIED,
        "provider:segmentation_id": NOT_SPECIFIED, **values})


def _subnet(s: Session, ctx: RequestContext, **values: Any) -> dict[str, Any]:
    return subnets.create(s, ctx, {
        "project_id": ctx.project_id, "tenant_id": ctx.project_id, "description": "",
        "tags": NOT_SPECIFIED, "subnetpool_id": NOT_SPECIFIED, "prefixlen": NOT_SPECIFIED,
        "gateway_ip": NOT_SPECIFIED, "allocation_pools": NOT_SPECIFIED,
        "dns_nameservers": NOT_SPECIFIED, "host_routes": NOT_SPECIFIED,
        "ipv6_ra_mode": NOT_SPECIFIED, "ipv6_address_mode": NOT_SPECIFIED, "ip_version": 4,
        "enable_dhcp": True, **values})


def seed(s: Session, admin_project_id: str, public_cidr: str = PUBLIC_CIDR,
         public_gateway: str = PUBLIC_GATEWAY) -> None:
    if s.get(NeutronNetwork, PUBLIC_ID) is not None:
        return
    ctx = RequestContext(user_id="", project_id=admin_project_id,
                         roles=frozenset({"admin"}))
    _network(s, ctx, PUBLIC_ID, name="public", **{
        "router:external": True, "is_default": True, "provider:network_type": "flat",
        "provider:physical_network": "public"})
    _network(s, ctx, PRIVATE_ID, name="private", shared=True)
    public = _subnet(s, ctx, name="public-subnet", network_id=PUBLIC_ID, cidr=public_cidr,
                     gateway_ip=public_gateway, enable_dhcp=False)
    private = _subnet(s, ctx, name="private-subnet", network_id=PRIVATE_ID, cidr=PRIVATE_CIDR)
    router = routers.create(s, ctx, {
        "project_id": ctx.project_id, "tenant_id": ctx.project_id, "description": "",
        "tags": NOT_SPECIFIED, "name": "router1", "admin_state_up": True,
        "external_gateway_info": {"network_id": public["network_id"]},
        "availability_zone_hints": []})
    routers.add_interface(s, ctx, router["id"], {"subnet_id": private["id"]})
