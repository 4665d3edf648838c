"""Routers, as far as floating IPs need them: the attribute table (neutron-lib's ``l3``
with ``ext-gw-mode``), an external gateway (a port on an external network), and interfaces
on subnets (``add_router_interface``/``remove_router_interface``)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from emulator.context import RequestContext
from emulator.errors import EmulatorError
from emulator.network import fixed_ips, networks, ports, quotas, rows, subnets
from emulator.network.attributes import (
    NAME_FIELD_SIZE,
    Attribute,
    Rule,
    standard_attributes,
    table,
    to_boolean,
    valid_dict_or_nodata,
    valid_fixed_ips,
    valid_list_of_strings,
    valid_string,
    valid_uuid,
)
from emulator.network.bodies import authorize, given
from emulator.network.errors import bad_request, fail, not_authorized
from emulator.network.listing import Record
from emulator.network.models import (
    NeutronFloatingIP,
    NeutronIPAllocation,
    NeutronNetwork,
    NeutronPort,
    NeutronRouter,
)
from emulator.network.resources import Resource

GATEWAY_OWNER = "network:router_gateway"
INTERFACE_OWNER = "network:router_interface"


def _boolean(value: Any) -> str | None:
    try:
        to_boolean(value)
    except EmulatorError as exc:
        return exc.message
    return None


ATTRIBUTES = table(
    Attribute("id", validate=valid_uuid, filter=True, sort=True),
    Attribute("name", post=True, put=True, default="", validate=valid_string(NAME_FIELD_SIZE),
              filter=True, sort=True),
    Attribute("admin_state_up", post=True, put=True, default=True, convert=to_boolean,
              filter=True, sort=True),
    Attribute("status", sort=True, filter=True),
    Attribute("external_gateway_info", post=True, put=True, default=None,
              validate=valid_dict_or_nodata({
                  "network_id": (True, valid_uuid),
                  "enable_snat": (False, _boolean),
                  "external_fixed_ips": (False, valid_fixed_ips)})),
    Attribute("routes"),
    Attribute("distributed", seen_by=Rule.ADMIN),
    Attribute("ha", seen_by=Rule.ADMIN),
    Attribute("availability_zone_hints", post=True, default=[],
              validate=valid_list_of_strings(255)),
    Attribute("availability_zones"),
    Attribute("flavor_id"),
    *standard_attributes(),
)


def not_found(router_id: str) -> EmulatorError:
    return fail("RouterNotFound", router_id=router_id)


def _gateway_info(s: Session, row: NeutronRouter) -> dict[str, Any] | None:
    if row.gw_network_id is None or row.gw_port_id is None:
        return None
    return {"network_id": row.gw_network_id, "enable_snat": row.enable_snat,
            "external_fixed_ips": fixed_ips.of_ports(s, [row.gw_port_id])[row.gw_port_id]}


def records(s: Session, routers: list[NeutronRouter]) -> list[Record]:
    tags = rows.tags_of(s, [r.id for r in routers])
    return [{
        "id": r.id, "name": r.name, "admin_state_up": r.admin_state_up, "status": r.status,
        "external_gateway_info": _gateway_info(s, r), "routes": [], "distributed": False,
        "ha": False, "availability_zone_hints": [], "availability_zones": [networks.ZONE],
        "flavor_id": None, **rows.standard(r, tags[r.id], r.description),
    } for r in routers]


def visible_row(s: Session, ctx: RequestContext, router_id: str) -> NeutronRouter:
    row = rows.owned_row(s, ctx, NeutronRouter, router_id)
    if row is None:
        raise not_found(router_id)
    return row


def load(s: Session, ctx: RequestContext) -> list[Record]:
    return records(s, rows.owned_rows(s, ctx, NeutronRouter))


def get(s: Session, ctx: RequestContext, router_id: str) -> Record:
    return records(s, [visible_row(s, ctx, router_id)])[0]


def _authorize_gateway(info: dict[str, Any], ctx: RequestContext, action: str) -> None:
    """``<action>_router:external_gateway_info:enable_snat`` and ``…:external_fixed_ips``
    are an admin's."""
    admin_only = [k for k in ("enable_snat", "external_fixed_ips") if k in info]
    if admin_only and not ctx.is_admin:
        rules = [f"rule:{action}_router", f"rule:{action}_router:external_gateway_info",
                 *(f"rule:{action}_router:external_gateway_info:{k}" for k in admin_only)]
        raise not_authorized(f"({' and '.join(rules)})")


def _set_gateway(s: Session, ctx: RequestContext, row: NeutronRouter,
                 info: dict[str, Any] | None) -> None:
    """Give the router a gateway on ``info``'s external network (or none)."""
    if row.gw_port_id is not None:
        in_use = s.exec(select(NeutronFloatingIP).where(
            NeutronFloatingIP.router_id == row.id)).first() is not None
        if in_use and (not info or info.get("network_id") != row.gw_network_id):
            raise fail("RouterExternalGatewayInUseByFloatingIp", router_id=row.id,
                           net_id=row.gw_network_id)
        old = s.get(NeutronPort, row.gw_port_id)
        if old is not None:
            ports.remove(s, old)
        row.gw_port_id = row.gw_network_id = None
        s.flush()
    if not info:
        return
    network = s.get(NeutronNetwork, info["network_id"])
    if network is None:
        raise networks.not_found(info["network_id"])
    if not network.external:
        raise fail("BadRequest", resource="router",
                   msg=f"Network {network.id} is not an external network")
    values: dict[str, Any] = {"project_id": "", "device_owner": GATEWAY_OWNER,
                              "device_id": row.id, "name": ""}
    if info.get("external_fixed_ips"):
        values["fixed_ips"] = info["external_fixed_ips"]
    port = ports.add(s, ctx, network, values)
    row.gw_network_id, row.gw_port_id = network.id, port["id"]
    if "enable_snat" in info:
        row.enable_snat = to_boolean(info["enable_snat"])


def create(s: Session, ctx: RequestContext, values: dict[str, Any]) -> Record:
    authorize(ATTRIBUTES, values, "create", "router", ctx)
    quotas.check(s, values["project_id"], "router")
    stamp = rows.now()
    row = NeutronRouter(id=rows.new_id(), name=values["name"], project_id=values["project_id"],
                        admin_state_up=values["admin_state_up"],
                        description=values["description"], created_at=stamp, updated_at=stamp)
    s.add(row)
    s.flush()
    info = values["external_gateway_info"]
    if info:
        _authorize_gateway(info, ctx, "create")
        _set_gateway(s, ctx, row, info)
    if given(values, "tags"):
        rows.set_tags(s, row.id, values["tags"])
    s.flush()
    return records(s, [row])[0]


def update(s: Session, ctx: RequestContext, router_id: str, values: dict[str, Any]) -> Record:
    row = visible_row(s, ctx, router_id)
    if "external_gateway_info" in values:
        info = values["external_gateway_info"] or None
        if info:
            _authorize_gateway(info, ctx, "update")
        if info and info.get("network_id") == row.gw_network_id and \
                not info.get("external_fixed_ips"):
            if "enable_snat" in info:
                row.enable_snat = to_boolean(info["enable_snat"])
        else:
            _set_gateway(s, ctx, row, info)
    for name in ("name", "admin_state_up", "description"):
        if name in values:
            setattr(row, name, values[name])
    rows.touch(s, row)
    s.flush()
    return records(s, [row])[0]


def interfaces(s: Session, router_id: str) -> list[NeutronPort]:
    return list(s.exec(select(NeutronPort).where(NeutronPort.device_id == router_id,
                                                 NeutronPort.device_owner == INTERFACE_OWNER)))


def delete(s: Session, ctx: RequestContext, router_id: str) -> None:
    row = visible_row(s, ctx, router_id)
    if interfaces(s, router_id):
        raise fail("RouterInUse", router_id=router_id)
    _set_gateway(s, ctx, row, None)
    rows.drop_tags(s, router_id)
    s.delete(row)
    s.flush()


def _interface_body(body: Any) -> tuple[str | None, str | None]:
    if not isinstance(body, dict):
        raise bad_request("Body contains invalid data")
    subnet_id, port_id = body.get("subnet_id"), body.get("port_id")
    if subnet_id and port_id:
        raise fail("BadRequest", resource="router",
                   msg="Cannot specify both subnet-id and port-id")
    if not subnet_id and not port_id:
        raise fail("BadRequest", resource="router",
                   msg="Either subnet_id or port_id must be specified")
    for value in (subnet_id, port_id):
        if value is not None and not isinstance(value, str):
            raise fail("BadRequest", resource="router", msg=f"{value} is not a valid UUID")
    return subnet_id, port_id


def _interface_info(s: Session, row: NeutronRouter, port: NeutronPort,
                    subnet_ids: list[str]) -> dict[str, Any]:
    return {"id": row.id, "tenant_id": row.project_id, "project_id": row.project_id,
            "port_id": port.id, "network_id": port.network_id,
            "subnet_id": subnet_ids[0] if subnet_ids else None, "subnet_ids": subnet_ids}


def add_interface(s: Session, ctx: RequestContext, router_id: str, body: Any) -> dict[str, Any]:
    row = visible_row(s, ctx, router_id)
    subnet_id, port_id = _interface_body(body)
    if port_id is not None:
        port = ports.visible_row(s, ctx, port_id)
        if port.device_id or port.device_owner:
            raise fail("PortInUse", port_id=port.id, net_id=port.network_id,
                       device_id=port.device_id or port.device_owner)
        held = fixed_ips.held(s, port.id)
        if not held:
            raise fail("BadRequest", resource="router",
                       msg="Router port must have at least one fixed IP")
        _no_interface_on(s, row, [a.subnet_id for a in held])
        port.device_id, port.device_owner, port.status = row.id, INTERFACE_OWNER, "ACTIVE"
        rows.touch(s, port)
        s.flush()
        return _interface_info(s, row, port, [a.subnet_id for a in held])
    assert subnet_id is not None
    subnet = subnets.visible_row(s, ctx, subnet_id)
    if not subnet.gateway_ip:
        raise fail("BadRequest", resource="router",
                   msg="Subnet for router interface must have a gateway IP")
    _no_interface_on(s, row, [subnet.id])
    network = s.get(NeutronNetwork, subnet.network_id)
    assert network is not None
    record = ports.add(s, ctx, network, {
        "project_id": row.project_id, "device_owner": INTERFACE_OWNER, "device_id": row.id,
        "name": "", "fixed_ips": [{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}]})
    made = s.get(NeutronPort, record["id"])
    assert made is not None
    rows.touch(s, row)
    return _interface_info(s, row, made, [subnet.id])


def _no_interface_on(s: Session, row: NeutronRouter, subnet_ids: list[str]) -> None:
    for port in interfaces(s, row.id):
        for allocation in fixed_ips.held(s, port.id):
            if allocation.subnet_id in subnet_ids:
                raise fail("BadRequest", resource="router",
                           msg=f"Router already has a port on subnet {allocation.subnet_id}")


def _fips_through(s: Session, row: NeutronRouter, subnet_ids: set[str]) -> bool:
    for fip in s.exec(select(NeutronFloatingIP).where(NeutronFloatingIP.router_id == row.id)):
        allocation = s.exec(select(NeutronIPAllocation).where(
            NeutronIPAllocation.port_id == fip.fixed_port_id,
            NeutronIPAllocation.ip_address == fip.fixed_ip_address)).first()
        if allocation is not None and allocation.subnet_id in subnet_ids:
            return True
    return False


def remove_interface(s: Session, ctx: RequestContext, router_id: str,
                     body: Any) -> dict[str, Any]:
    row = visible_row(s, ctx, router_id)
    subnet_id, port_id = _interface_body(body)
    owned = interfaces(s, row.id)
    if port_id is not None:
        port = next((p for p in owned if p.id == port_id), None)
        if port is None:
            raise fail("RouterInterfaceNotFound", router_id=row.id, port_id=port_id)
        if subnet_id is None:
            subnet_ids = [a.subnet_id for a in fixed_ips.held(s, port.id)]
    else:
        found = [(p, a) for p in owned for a in fixed_ips.held(s, p.id)
                 if a.subnet_id == subnet_id]
        if not found:
            raise fail("RouterInterfaceNotFoundForSubnet", router_id=row.id,
                       subnet_id=subnet_id)
        port, subnet_ids = found[0][0], [str(subnet_id)]
    if _fips_through(s, row, set(subnet_ids)):
        raise fail("RouterInterfaceInUseByFloatingIP", router_id=row.id,
                   subnet_id=subnet_ids[0])
    info = _interface_info(s, row, port, subnet_ids)
    ports.remove(s, port)
    rows.touch(s, row)
    s.flush()
    return info


def gateway_for(s: Session, external_network_id: str, subnet_id: str) -> NeutronRouter | None:
    """A router with a gateway on the external network and an interface on the subnet
    (where a floating IP's traffic goes through)."""
    for row in s.exec(select(NeutronRouter).where(
            NeutronRouter.gw_network_id == external_network_id)):
        if any(a.subnet_id == subnet_id for p in interfaces(s, row.id)
               for a in fixed_ips.held(s, p.id)):
            return row
    return None



RESOURCE = Resource(
    name="router", collection="routers", attributes=ATTRIBUTES, load=load, get=get,
    create=create, update=update, delete=delete, not_found=not_found,
    model=NeutronRouter, quota="router")
