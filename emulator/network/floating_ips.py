"""Floating IPs: an address of an external network (held by a ``network:floatingip``
port), associated with a fixed IP of a port behind a router that has a gateway on that
network and an interface on the fixed IP's subnet (Neutron's ``_get_assoc_data``), or
with nothing."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlmodel import Session, select

from emulator.context import RequestContext
from emulator.errors import EmulatorError
from emulator.network import fixed_ips, networks, ports, quotas, routers, rows
from emulator.network.attributes import (
    Attribute,
    Rule,
    standard_attributes,
    table,
    valid_ip_address_or_none,
    valid_uuid,
    valid_uuid_or_none,
)
from emulator.network.bodies import authorize, given
from emulator.network.errors import fail
from emulator.network.listing import Record
from emulator.network.models import NeutronFloatingIP, NeutronNetwork, NeutronPort
from emulator.network.resources import Resource

OWNER = "network:floatingip"

ATTRIBUTES = table(
    Attribute("id", validate=valid_uuid, filter=True, sort=True),
    Attribute("floating_ip_address", post=True, default=None,
              validate=valid_ip_address_or_none, filter=True, sort=True,
              set_by=Rule.ADMIN),
    Attribute("subnet_id", post=True, default=None, validate=valid_uuid_or_none,
              visible=False),
    Attribute("floating_network_id", post=True, validate=valid_uuid, filter=True, sort=True),
    Attribute("router_id", filter=True, sort=True),
    Attribute("port_id", post=True, put=True, default=None, validate=valid_uuid_or_none,
              filter=True),
    Attribute("fixed_ip_address", post=True, put=True, default=None,
              validate=valid_ip_address_or_none, filter=True, sort=True),
    Attribute("status", filter=True, sort=True),
    Attribute("port_details"),
    Attribute("port_forwardings"),
    Attribute("dns_domain"),
    Attribute("dns_name"),
    *standard_attributes(),
)


def not_found(fip_id: str) -> EmulatorError:
    return fail("FloatingIPNotFound", floatingip_id=fip_id)


def _port_details(port: NeutronPort | None) -> dict[str, Any] | None:
    if port is None:
        return None
    return {"name": port.name, "network_id": port.network_id,
            "mac_address": port.mac_address, "admin_state_up": port.admin_state_up,
            "status": port.status, "device_id": port.device_id,
            "device_owner": port.device_owner}


def records(s: Session, fips: list[NeutronFloatingIP]) -> list[Record]:
    tags = rows.tags_of(s, [f.id for f in fips])
    return [{
        "id": f.id, "floating_ip_address": f.floating_ip_address,
        "floating_network_id": f.floating_network_id, "router_id": f.router_id,
        "port_id": f.fixed_port_id, "fixed_ip_address": f.fixed_ip_address,
        "status": f.status,
        "port_details": _port_details(s.get(NeutronPort, f.fixed_port_id)
                                      if f.fixed_port_id else None),
        "port_forwardings": [], "dns_domain": "", "dns_name": "",
        **rows.standard(f, tags[f.id], f.description),
    } for f in fips]


def visible_row(s: Session, ctx: RequestContext, fip_id: str) -> NeutronFloatingIP:
    row = rows.owned_row(s, ctx, NeutronFloatingIP, fip_id)
    if row is None:
        raise not_found(fip_id)
    return row


def load(s: Session, ctx: RequestContext) -> list[Record]:
    return records(s, rows.owned_rows(s, ctx, NeutronFloatingIP))


def get(s: Session, ctx: RequestContext, fip_id: str) -> Record:
    return records(s, [visible_row(s, ctx, fip_id)])[0]


def _bad(msg: str) -> EmulatorError:
    return fail("BadRequest", resource="floatingip", msg=msg)


def _associate(s: Session, ctx: RequestContext, row: NeutronFloatingIP, port_id: str | None,
               fixed_ip: str | None) -> None:
    """Point the floating IP at a fixed IP of ``port_id`` (None: at nothing)."""
    if port_id is None:
        if fixed_ip is not None:
            raise _bad("fixed_ip_address cannot be specified without a port_id")
        row.fixed_port_id = row.fixed_ip_address = row.router_id = None
        row.status = "DOWN"
        return
    port = ports.visible_row(s, ctx, port_id)
    if not ctx.is_admin and port.project_id != row.project_id:
        raise _bad(f"Cannot create floating IP and bind it to Port {port.id}, since that "
                   "port is owned by a different project")
    held = fixed_ips.held(s, port.id)
    if fixed_ip is not None:
        allocation = next((a for a in held if a.ip_address == fixed_ip), None)
        if allocation is None:
            raise _bad(f"Port {port.id} does not have fixed ip {fixed_ip}")
    else:
        ipv4 = [a for a in held if ipaddress.ip_address(a.ip_address).version == 4]
        if not ipv4:
            raise _bad(f"Port {port.id} does not have any IPv4 address")
        if len(ipv4) > 1:
            raise _bad(f"Port {port.id} has multiple fixed IPv4 addresses.  Must provide a "
                       "specific IPv4 address when assigning a floating IP")
        allocation = ipv4[0]
    router = routers.gateway_for(s, row.floating_network_id, allocation.subnet_id)
    if router is None:
        raise fail("ExternalGatewayForFloatingIPNotFound",
                   external_network_id=row.floating_network_id,
                   subnet_id=allocation.subnet_id, port_id=port.id)
    other = s.exec(select(NeutronFloatingIP).where(
        NeutronFloatingIP.fixed_port_id == port.id,
        NeutronFloatingIP.fixed_ip_address == allocation.ip_address,
        NeutronFloatingIP.floating_network_id == row.floating_network_id,
        NeutronFloatingIP.id != row.id)).first()
    if other is not None:
        raise fail("FloatingIPPortAlreadyAssociated", floating_ip_address=other.floating_ip_address,
                   fip_id=other.id, port_id=port.id, fixed_ip=allocation.ip_address,
                   net_id=row.floating_network_id)
    row.fixed_port_id, row.fixed_ip_address = port.id, allocation.ip_address
    row.router_id, row.status = router.id, "ACTIVE"


def create(s: Session, ctx: RequestContext, values: dict[str, Any]) -> Record:
    authorize(ATTRIBUTES, values, "create", "floatingip", ctx)
    network = s.get(NeutronNetwork, values["floating_network_id"])
    if network is None or not (network.external or ctx.is_admin or
                               network.project_id == ctx.project_id):
        raise networks.not_found(values["floating_network_id"])
    if not network.external:
        raise _bad(f"Network {network.id} is not a valid external network")
    quotas.check(s, values["project_id"], "floatingip")
    fip_id = rows.new_id()
    wanted: dict[str, Any] = {}
    if values["subnet_id"]:
        wanted["subnet_id"] = values["subnet_id"]
    if values["floating_ip_address"]:
        wanted["ip_address"] = values["floating_ip_address"]
    asked = [wanted] if wanted else _first_ipv4(s, network)
    port = ports.add(s, ctx, network, {"project_id": "", "device_owner": OWNER,
                                       "device_id": fip_id, "name": "", "fixed_ips": asked})
    address = next((f["ip_address"] for f in port["fixed_ips"]
                    if ipaddress.ip_address(f["ip_address"]).version == 4),
                   port["fixed_ips"][0]["ip_address"] if port["fixed_ips"] else None)
    if address is None:
        raise fail("ExternalIpAddressExhausted", net_id=network.id)
    stamp = rows.now()
    row = NeutronFloatingIP(id=fip_id, project_id=values["project_id"],
                            floating_ip_address=address, floating_network_id=network.id,
                            floating_port_id=port["id"], description=values["description"],
                            created_at=stamp, updated_at=stamp)
    _associate(s, ctx, row, values["port_id"], values["fixed_ip_address"])
    s.add(row)
    if given(values, "tags"):
        rows.set_tags(s, row.id, values["tags"])
    s.flush()
    return records(s, [row])[0]


def _first_ipv4(s: Session, network: NeutronNetwork) -> list[dict[str, str]]:
    """One address from the first IPv4 subnet of the network that has room."""
    for subnet in fixed_ips.subnets_of(s, network.id):
        if subnet.ip_version == 4 and fixed_ips.next_free(s, subnet) is not None:
            return [{"subnet_id": subnet.id}]
    raise fail("IpAddressGenerationFailure", net_id=network.id)


def update(s: Session, ctx: RequestContext, fip_id: str, values: dict[str, Any]) -> Record:
    row = visible_row(s, ctx, fip_id)
    if "port_id" in values or "fixed_ip_address" in values:
        _associate(s, ctx, row, values.get("port_id", row.fixed_port_id),
                   values.get("fixed_ip_address"))
    if "description" in values:
        row.description = values["description"]
    rows.touch(s, row)
    s.flush()
    return records(s, [row])[0]


def delete(s: Session, ctx: RequestContext, fip_id: str) -> None:
    row = visible_row(s, ctx, fip_id)
    port = s.get(NeutronPort, row.floating_port_id)
    rows.drop_tags(s, row.id)
    s.delete(row)
    s.flush()
    if port is not None:
        ports.remove(s, port)
    s.flush()


RESOURCE = Resource(
    name="floatingip", collection="floatingips", attributes=ATTRIBUTES, load=load, get=get,
    create=create, update=update, delete=delete, not_found=not_found,
    model=NeutronFloatingIP, quota="floatingip")
