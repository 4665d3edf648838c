"""Subnets: the attribute table (neutron-lib's ``subnet``), who sees them (whoever sees
them on a shared or external network, their network's owner, theirs), and create with
Neutron's checks (``_validate_subnet``, the CIDR overlap check, the pools), update and
delete."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.errors import EmulatorError
from emulator.network import ipam, networks, quotas, rows
from emulator.network.attributes import (
    NAME_FIELD_SIZE,
    NOT_SPECIFIED,
    Attribute,
    canonical_cidr,
    canonical_ip,
    none_to_empty_list,
    standard_attributes,
    table,
    to_boolean,
    to_int,
    valid_hostroutes,
    valid_ip_address_or_none,
    valid_ip_pools,
    valid_nameservers,
    valid_non_negative,
    valid_string,
    valid_subnet_or_none,
    valid_uuid,
    valid_uuid_or_none,
    valid_values,
)
from emulator.network.bodies import authorize, given
from emulator.network.errors import fail, invalid_input, not_authorized, resource_not_found
from emulator.network.listing import Record
from emulator.network.models import NeutronIPAllocation, NeutronNetwork, NeutronSubnet
from emulator.network.resources import Resource

IPV6_MODES = ["dhcpv6-stateful", "dhcpv6-stateless", "slaac"]
#: Neutron's ``max_dns_nameservers`` and ``max_subnet_host_routes``.
MAX_DNS_NAMESERVERS = 5
MAX_HOST_ROUTES = 20

ATTRIBUTES = table(
    Attribute("id", validate=valid_uuid, filter=True, sort=True),
    Attribute("name", post=True, put=True, default="", validate=valid_string(NAME_FIELD_SIZE),
              filter=True, sort=True),
    Attribute("ip_version", post=True, convert=to_int, validate=valid_values([4, 6]),
              filter=True, sort=True),
    Attribute("network_id", post=True, validate=valid_uuid, filter=True, sort=True),
    Attribute("subnetpool_id", post=True, default=NOT_SPECIFIED, validate=valid_uuid_or_none,
              filter=True, sort=True),
    Attribute("prefixlen", post=True, default=NOT_SPECIFIED, convert=to_int,
              validate=valid_non_negative, visible=False),
    Attribute("cidr", post=True, default=NOT_SPECIFIED, convert=canonical_cidr,
              validate=valid_subnet_or_none, filter=True, sort=True),
    Attribute("gateway_ip", post=True, put=True, default=NOT_SPECIFIED, convert=canonical_ip,
              validate=valid_ip_address_or_none, filter=True, sort=True),
    Attribute("allocation_pools", post=True, put=True, default=NOT_SPECIFIED,
              validate=valid_ip_pools),
    Attribute("dns_nameservers", post=True, put=True, default=NOT_SPECIFIED,
              convert=none_to_empty_list, validate=valid_nameservers),
    Attribute("host_routes", post=True, put=True, default=NOT_SPECIFIED,
              convert=none_to_empty_list, validate=valid_hostroutes),
    Attribute("enable_dhcp", post=True, put=True, default=True, convert=to_boolean,
              filter=True, sort=True),
    Attribute("ipv6_ra_mode", post=True, default=NOT_SPECIFIED,
              validate=valid_values(IPV6_MODES), filter=True, sort=True),
    Attribute("ipv6_address_mode", post=True, default=NOT_SPECIFIED,
              validate=valid_values(IPV6_MODES), filter=True, sort=True),
    Attribute("shared", filter=True, visible=False),
    Attribute("service_types"),
    Attribute("segment_id", filter=True),
    Attribute("router:external", filter=True),
    *standard_attributes(),
)


def not_found(subnet_id: str) -> EmulatorError:
    return fail("SubnetNotFound", subnet_id=subnet_id)


def _visible(ctx: RequestContext, subnet: NeutronSubnet, network: NeutronNetwork) -> bool:
    return ctx.is_admin or ctx.project_id in (subnet.project_id, network.project_id) \
        or network.shared or network.external


def visible_row(s: Session, ctx: RequestContext, subnet_id: str) -> NeutronSubnet:
    row = s.get(NeutronSubnet, subnet_id)
    if row is None:
        raise not_found(subnet_id)
    network = s.get(NeutronNetwork, row.network_id)
    if network is None or not _visible(ctx, row, network):
        raise not_found(subnet_id)
    return row


def records(s: Session, subnets: list[NeutronSubnet]) -> list[Record]:
    tags = rows.tags_of(s, [n.id for n in subnets])
    nets = {n.id: n for n in s.exec(select(NeutronNetwork).where(
        col(NeutronNetwork.id).in_({n.network_id for n in subnets})))}
    return [{
        "id": n.id, "name": n.name, "network_id": n.network_id, "ip_version": n.ip_version,
        "subnetpool_id": None, "cidr": n.cidr, "gateway_ip": n.gateway_ip,
        "allocation_pools": list(n.allocation_pools),
        "dns_nameservers": list(n.dns_nameservers), "host_routes": list(n.host_routes),
        "enable_dhcp": n.enable_dhcp, "ipv6_ra_mode": n.ipv6_ra_mode,
        "ipv6_address_mode": n.ipv6_address_mode, "shared": nets[n.network_id].shared,
        "service_types": [], "segment_id": None,
        "router:external": nets[n.network_id].external,
        **rows.standard(n, tags[n.id], n.description),
    } for n in subnets]


def load(s: Session, ctx: RequestContext) -> list[Record]:
    query = select(NeutronSubnet)
    if not ctx.is_admin:
        query = query.join(NeutronNetwork).where(or_(
            col(NeutronSubnet.project_id) == ctx.project_id,
            col(NeutronNetwork.project_id) == ctx.project_id,
            col(NeutronNetwork.shared), col(NeutronNetwork.external)))
    return records(s, list(s.exec(query)))


def get(s: Session, ctx: RequestContext, subnet_id: str) -> Record:
    return records(s, [visible_row(s, ctx, subnet_id)])[0]


def _network_for_create(s: Session, ctx: RequestContext, network_id: str) -> NeutronNetwork:
    """The network a subnet goes on: one the caller sees (404), not someone else's
    unshared one (webob's 404), and its own (else 403) unless an admin asks."""
    network = networks.visible_row(s, ctx, network_id)
    if not ctx.is_admin and network.project_id != ctx.project_id:
        if not network.shared:
            raise resource_not_found()
        raise not_authorized("rule:create_subnet")
    return network


def _check_ipv6_modes(values: dict[str, Any], ip_version: int) -> None:
    ra, address = values.get("ipv6_ra_mode"), values.get("ipv6_address_mode")
    ra = None if ra is NOT_SPECIFIED else ra
    address = None if address is NOT_SPECIFIED else address
    if ip_version == 4:
        if ra:
            raise invalid_input("ipv6_ra_mode is not valid when ip_version is 4")
        if address:
            raise invalid_input("ipv6_address_mode is not valid when ip_version is 4")
    if ra and address and ra != address:
        raise invalid_input(f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to "
                            f"'{address}' is not valid. If both attributes are set, they "
                            "must be the same value")


def _check_dhcp(net: ipam.Network) -> None:
    if (net.version == 4 and net.prefixlen > 30) or (net.version == 6 and net.prefixlen > 126):
        raise invalid_input("Subnet has a prefix length that is incompatible with DHCP "
                            "service enabled")
    if net.is_multicast:
        raise invalid_input("Multicast IP subnet is not supported if enable_dhcp is True")
    if net.is_loopback:
        raise invalid_input("Loopback IP subnet is not supported if enable_dhcp is True")
    if net.version == 4 and int(net.network_address) == 0:
        raise invalid_input("First IP '0.0.0.0' of network is not supported if enable_dhcp "
                            "is True.")


def _check_lists(values: dict[str, Any], ip_version: int, subnet_id: str) -> None:
    """DNS servers and host routes: how many, and of the subnet's version."""
    if given(values, "dns_nameservers"):
        if len(values["dns_nameservers"]) > MAX_DNS_NAMESERVERS:
            raise fail("DNSNameServersExhausted", subnet_id=subnet_id,
                       quota=MAX_DNS_NAMESERVERS)
        for server in values["dns_nameservers"]:
            ipam.check_version(ip_version, server, "dns_nameserver")
    if given(values, "host_routes"):
        if len(values["host_routes"]) > MAX_HOST_ROUTES:
            raise fail("HostRoutesExhausted", subnet_id=subnet_id, quota=MAX_HOST_ROUTES)
        for route in values["host_routes"]:
            if ipam.network(route["destination"]).version != ip_version or \
                    ipaddress.ip_address(route["nexthop"]).version != ip_version:
                raise invalid_input(f"Invalid route: {route}")


def _check_gateway(net: ipam.Network, gateway: str, ip_version: int) -> None:
    ipam.check_version(ip_version, gateway, "gateway_ip")
    if ipam.gateway_invalid(net, gateway):
        raise invalid_input("Gateway is not valid on subnet")


def _cidr(s: Session, values: dict[str, Any], network: NeutronNetwork) -> ipam.Network:
    if given(values, "subnetpool_id") and values["subnetpool_id"] is not None:
        raise fail("SubnetPoolNotFound", subnetpool_id=values["subnetpool_id"])
    if not given(values, "cidr") or values["cidr"] is None:
        raise fail("BadRequest", resource="subnets",
                   msg="a subnetpool must be specified in the absence of a cidr")
    if given(values, "prefixlen"):
        raise fail("BadRequest", resource="subnets",
                   msg="cidr and prefixlen must not be supplied together")
    ip_version = values["ip_version"]
    ipam.check_version(ip_version, values["cidr"], "cidr")
    net = ipam.network(values["cidr"])
    if net.version == 6 and int(net.network_address) == 0:
        raise invalid_input("IPv6 subnet '::' is not supported")
    return net


def _check_overlap(s: Session, network: NeutronNetwork, net: ipam.Network, cidr: str) -> None:
    if net.prefixlen == 0:
        raise invalid_input("0 is not allowed as CIDR prefix length")
    for other in s.exec(select(NeutronSubnet.cidr).where(
            NeutronSubnet.network_id == network.id)):
        if ipam.network(other).overlaps(net):
            raise invalid_input(f"Requested subnet with cidr: {cidr} for network: "
                                f"{network.id} overlaps with another subnet")


def create(s: Session, ctx: RequestContext, values: dict[str, Any]) -> Record:
    authorize(ATTRIBUTES, values, "create", "subnet", ctx)
    network = _network_for_create(s, ctx, values["network_id"])
    quotas.check(s, values["project_id"], "subnet")
    net = _cidr(s, values, network)
    cidr = f"{net.network_address}/{net.prefixlen}"
    ip_version = values["ip_version"]
    _check_ipv6_modes(values, ip_version)
    if values["enable_dhcp"]:
        _check_dhcp(net)
    gateway = values["gateway_ip"]
    if gateway is NOT_SPECIFIED:
        gateway = ipam.default_gateway(net)
    elif gateway is not None:
        _check_gateway(net, gateway, ip_version)
    _check_lists(values, ip_version, "new subnet")
    _check_overlap(s, network, net, values["cidr"])
    pools = (ipam.checked_pools(net, cidr, values["allocation_pools"], gateway)
             if given(values, "allocation_pools")
             else ipam.default_pools(net, gateway))
    stamp = rows.now()
    row = NeutronSubnet(
        id=rows.new_id(), name=values["name"], project_id=values["project_id"],
        network_id=network.id, ip_version=ip_version, cidr=cidr, gateway_ip=gateway,
        enable_dhcp=values["enable_dhcp"],
        ipv6_ra_mode=None if values["ipv6_ra_mode"] is NOT_SPECIFIED else values["ipv6_ra_mode"],
        ipv6_address_mode=(None if values["ipv6_address_mode"] is NOT_SPECIFIED
                           else values["ipv6_address_mode"]),
        allocation_pools=ipam.as_dicts(pools),
        dns_nameservers=list(values["dns_nameservers"]) if given(values, "dns_nameservers")
        else [],
        host_routes=list(values["host_routes"]) if given(values, "host_routes") else [],
        description=values["description"], created_at=stamp, updated_at=stamp)
    s.add(row)
    if given(values, "tags"):
        rows.set_tags(s, row.id, values["tags"])
    rows.touch(s, network)
    s.flush()
    return records(s, [row])[0]


def _owned(s: Session, ctx: RequestContext, row: NeutronSubnet, action: str) -> None:
    """Admin, the subnet's owner or its network's owner (``ADMIN_OR_NET_OWNER``)."""
    if ctx.is_admin or row.project_id == ctx.project_id:
        return
    network = s.get(NeutronNetwork, row.network_id)
    if network is None or network.project_id != ctx.project_id:
        raise not_authorized(f"rule:{action}_subnet")


def update(s: Session, ctx: RequestContext, subnet_id: str, values: dict[str, Any]) -> Record:
    row = visible_row(s, ctx, subnet_id)
    _owned(s, ctx, row, "update")
    authorize(ATTRIBUTES, values, "update", "subnet", ctx)
    net = ipam.network(row.cidr)
    gateway = values.get("gateway_ip", row.gateway_ip)
    if "gateway_ip" in values and gateway is not None:
        _check_gateway(net, gateway, row.ip_version)
    if values.get("enable_dhcp") and not row.enable_dhcp:
        _check_dhcp(net)
    _check_lists(values, row.ip_version, row.id)
    if "allocation_pools" in values:
        row.allocation_pools = ipam.as_dicts(
            ipam.checked_pools(net, row.cidr, values["allocation_pools"], gateway))
    elif "gateway_ip" in values and gateway is not None:
        ipam.checked_pools(net, row.cidr, row.allocation_pools, gateway)
    for name in ("name", "description", "enable_dhcp", "gateway_ip", "dns_nameservers",
                 "host_routes"):
        if name in values:
            setattr(row, name, values[name])
    rows.touch(s, row)
    s.flush()
    return records(s, [row])[0]


def remove(s: Session, row: NeutronSubnet) -> None:
    """Delete a subnet nothing holds an address on any more."""
    rows.drop_tags(s, row.id)
    s.delete(row)


def delete(s: Session, ctx: RequestContext, subnet_id: str) -> None:
    row = visible_row(s, ctx, subnet_id)
    _owned(s, ctx, row, "delete")
    if s.exec(select(NeutronIPAllocation).where(
            NeutronIPAllocation.subnet_id == subnet_id)).first() is not None:
        raise fail("SubnetInUse", subnet_id=subnet_id)
    network = s.get(NeutronNetwork, row.network_id)
    remove(s, row)
    if network is not None:
        rows.touch(s, network)
    s.flush()


RESOURCE = Resource(
    name="subnet", collection="subnets", attributes=ATTRIBUTES, load=load, get=get,
    create=create, update=update, delete=delete, not_found=not_found,
    model=NeutronSubnet, quota="subnet")
