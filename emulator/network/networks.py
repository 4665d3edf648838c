"""Networks: the attribute table (neutron-lib's ``network`` with the ``external-net``,
``provider``, ``net-mtu``, ``port-security``, ``network_availability_zone`` and
``auto-allocated-topology`` extensions), who sees which, and create/update/delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.errors import EmulatorError
from emulator.network import quotas, rows
from emulator.network.attributes import (
    NAME_FIELD_SIZE,
    NOT_SPECIFIED,
    Attribute,
    Rule,
    none_to_empty_list,
    standard_attributes,
    table,
    to_boolean,
    to_int,
    valid_list_of_strings,
    valid_string,
    valid_uuid,
)
from emulator.network.bodies import authorize, given
from emulator.network.errors import fail
from emulator.network.listing import Record
from emulator.network.models import NeutronNetwork, NeutronPort, NeutronSubnet
from emulator.network.resources import Resource

ATTRIBUTES = table(
    Attribute("id", validate=valid_uuid, filter=True, sort=True),
    Attribute("name", post=True, put=True, default="", validate=valid_string(NAME_FIELD_SIZE),
              filter=True, sort=True),
    Attribute("subnets", default=[]),
    Attribute("admin_state_up", post=True, put=True, default=True, convert=to_boolean,
              filter=True, sort=True),
    Attribute("status", filter=True, sort=True),
    Attribute("shared", post=True, put=True, default=False, convert=to_boolean, filter=True,
              set_by=Rule.ADMIN),
    Attribute("router:external", post=True, put=True, default=False, convert=to_boolean,
              filter=True, set_by=Rule.ADMIN),
    Attribute("is_default", post=True, put=True, default=False, convert=to_boolean,
              filter=True, set_by=Rule.ADMIN),
    Attribute("provider:network_type", post=True, put=True, default=NOT_SPECIFIED,
              validate=valid_string(32), filter=True, set_by=Rule.ADMIN,
              seen_by=Rule.ADMIN),
    Attribute("provider:physical_network", post=True, put=True, default=NOT_SPECIFIED,
              validate=valid_string(64), filter=True, set_by=Rule.ADMIN,
              seen_by=Rule.ADMIN),
    Attribute("provider:segmentation_id", post=True, put=True, default=NOT_SPECIFIED,
              convert=to_int, filter=True, set_by=Rule.ADMIN, seen_by=Rule.ADMIN),
    Attribute("mtu", post=True, put=True, default=NOT_SPECIFIED, convert=to_int,
              filter=True, sort=True),
    Attribute("port_security_enabled", post=True, put=True, default=True,
              convert=to_boolean),
    Attribute("availability_zone_hints", post=True, default=[], convert=none_to_empty_list,
              validate=valid_list_of_strings(255), sort=True),
    Attribute("availability_zones"),
    *standard_attributes(),
)

#: What a project network gets when its creator says nothing (devstack's ML2/OVN).
PROJECT_NETWORK_TYPE = "geneve"
#: Geneve's overhead under a 1500-byte physical MTU (Neutron's ``_get_network_mtu``).
MTU_BY_TYPE = {"geneve": 1442, "vxlan": 1450, "gre": 1458, "flat": 1500, "vlan": 1500,
               "local": 1500}
#: Where geneve segmentation ids come from (Neutron's ``vni_ranges`` in devstack).
SEGMENT_IDS = range(1, 65536)
MIN_MTU, MAX_MTU = 68, 9216
#: Which columns hold which attributes (the rest are the same name).
COLUMNS = {"router:external": "external", "provider:network_type": "network_type",
           "provider:physical_network": "physical_network",
           "provider:segmentation_id": "segmentation_id"}
#: Ports a network deletes with itself (Neutron's ``AUTO_DELETE_PORT_OWNERS``).
AUTO_DELETE_OWNERS = ("network:dhcp", "network:router_ha_interface")
ZONE = "nova"


def not_found(network_id: str) -> EmulatorError:
    return fail("NetworkNotFound", net_id=network_id)


def visible_clause(ctx: RequestContext) -> Any:
    return or_(col(NeutronNetwork.project_id) == ctx.project_id,
               col(NeutronNetwork.shared), col(NeutronNetwork.external))


def visible_row(s: Session, ctx: RequestContext, network_id: str) -> NeutronNetwork:
    row = s.get(NeutronNetwork, network_id)
    if row is None or not (ctx.is_admin or row.project_id == ctx.project_id or row.shared
                           or row.external):
        raise not_found(network_id)
    return row


def records(s: Session, networks: list[NeutronNetwork]) -> list[Record]:
    ids = [n.id for n in networks]
    subnets: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for subnet_id, network_id in s.exec(
                select(NeutronSubnet.id, NeutronSubnet.network_id)
                .where(col(NeutronSubnet.network_id).in_(ids))):
            subnets[network_id].append(subnet_id)
    tags = rows.tags_of(s, ids)
    return [{
        "id": n.id, "name": n.name, "subnets": sorted(subnets[n.id]),
        "admin_state_up": n.admin_state_up, "status": n.status, "shared": n.shared,
        "router:external": n.external, "is_default": n.is_default,
        "provider:network_type": n.network_type,
        "provider:physical_network": n.physical_network,
        "provider:segmentation_id": n.segmentation_id, "mtu": n.mtu,
        "port_security_enabled": n.port_security_enabled,
        "availability_zone_hints": list(n.availability_zone_hints),
        "availability_zones": [ZONE],
        **rows.standard(n, tags[n.id], n.description),
    } for n in networks]


def load(s: Session, ctx: RequestContext) -> list[Record]:
    query = select(NeutronNetwork)
    if not ctx.is_admin:
        query = query.where(visible_clause(ctx))
    return records(s, list(s.exec(query)))


def get(s: Session, ctx: RequestContext, network_id: str) -> Record:
    return records(s, [visible_row(s, ctx, network_id)])[0]


def _segment(s: Session, values: dict[str, Any]) -> tuple[str, str | None, int | None]:
    """The provider attributes a new network gets: those asked for, else a project
    network's (geneve, the next free segmentation id)."""
    kind = values.get("provider:network_type", NOT_SPECIFIED)
    physical = values.get("provider:physical_network", NOT_SPECIFIED)
    segment = values.get("provider:segmentation_id", NOT_SPECIFIED)
    if kind is NOT_SPECIFIED:
        kind = PROJECT_NETWORK_TYPE
    if kind not in MTU_BY_TYPE:
        raise fail("InvalidInput", error_message=f"network_type value '{kind}' not supported")
    physical = None if physical is NOT_SPECIFIED else physical
    if kind in ("flat", "vlan") and not physical:
        raise fail("InvalidInput", error_message=f"physical_network required for {kind} "
                   "provider network")
    if segment is NOT_SPECIFIED:
        segment = None
        if kind in ("geneve", "vxlan", "gre"):
            taken = set(s.exec(select(NeutronNetwork.segmentation_id)
                               .where(NeutronNetwork.network_type == kind)).all())
            segment = next(i for i in SEGMENT_IDS if i not in taken)
    return kind, physical, segment


def create(s: Session, ctx: RequestContext, values: dict[str, Any]) -> Record:
    authorize(ATTRIBUTES, values, "create", "network", ctx)
    project_id = values["project_id"]
    quotas.check(s, project_id, "network")
    kind, physical, segment = _segment(s, values)
    mtu = MTU_BY_TYPE[kind] if not given(values, "mtu") else _mtu(values["mtu"])
    if values["is_default"] and not values["router:external"]:
        raise fail("InvalidInput", error_message="Network is not external")
    if values["is_default"]:
        _no_other_default(s, None)
    stamp = rows.now()
    row = NeutronNetwork(
        id=values.get("id") or rows.new_id(), name=values["name"], project_id=project_id,
        admin_state_up=values["admin_state_up"], shared=values["shared"],
        external=values["router:external"], is_default=values["is_default"], mtu=mtu,
        network_type=kind, physical_network=physical, segmentation_id=segment,
        port_security_enabled=values["port_security_enabled"],
        availability_zone_hints=list(values["availability_zone_hints"]),
        description=values["description"], created_at=stamp, updated_at=stamp)
    s.add(row)
    if given(values, "tags"):
        rows.set_tags(s, row.id, values["tags"])
    s.flush()
    return records(s, [row])[0]


def _mtu(value: int) -> int:
    if not MIN_MTU <= value <= MAX_MTU:
        raise fail("InvalidInput", error_message=f"Requested MTU is too big, maximum is "
                   f"{MAX_MTU}" if value > MAX_MTU else f"Invalid value for mtu: {value}")
    return value


def _no_other_default(s: Session, network_id: str | None) -> None:
    other = s.exec(select(NeutronNetwork).where(col(NeutronNetwork.is_default))).first()
    if other is not None and other.id != network_id:
        raise fail("DefaultExternalNetworkExists", net_id=other.id)


#: Attribute -> how an update applies it to the row.
SETTERS: dict[str, str] = {
    "name": "name", "admin_state_up": "admin_state_up", "shared": "shared",
    "router:external": "external", "is_default": "is_default", "mtu": "mtu",
    "port_security_enabled": "port_security_enabled", "description": "description",
    "provider:network_type": "network_type",
    "provider:physical_network": "physical_network",
    "provider:segmentation_id": "segmentation_id",
}


def update(s: Session, ctx: RequestContext, network_id: str,
           values: dict[str, Any]) -> Record:
    row = visible_row(s, ctx, network_id)
    if row.project_id != ctx.project_id and not ctx.is_admin:
        raise fail("PolicyNotAuthorized", rule="rule:update_network")
    authorize(ATTRIBUTES, values, "update", "network", ctx)
    if values.get("shared") is False and row.shared:
        others = s.exec(select(NeutronPort.id).where(
            NeutronPort.network_id == network_id,
            NeutronPort.project_id != row.project_id)).first()
        if others is not None:
            raise fail("InvalidSharedSetting", network=row.name or row.id)
    if "mtu" in values:
        _mtu(values["mtu"])
    if values.get("is_default"):
        if not values.get("router:external", row.external):
            raise fail("InvalidInput", error_message="Network is not external")
        _no_other_default(s, row.id)
    for name, value in values.items():
        if name in SETTERS:
            setattr(row, SETTERS[name], value)
    rows.touch(s, row)
    s.flush()
    return records(s, [row])[0]


def delete(s: Session, ctx: RequestContext, network_id: str) -> None:
    row = visible_row(s, ctx, network_id)
    if row.project_id != ctx.project_id and not ctx.is_admin:
        raise fail("PolicyNotAuthorized", rule="rule:delete_network")
    in_use = s.exec(select(NeutronPort.id).where(
        NeutronPort.network_id == network_id,
        col(NeutronPort.device_owner).not_in(AUTO_DELETE_OWNERS))).first()
    if in_use is not None:
        raise fail("NetworkInUse", net_id=network_id)
    from emulator.network import ports, subnets  # (they import this module)

    for port in s.exec(select(NeutronPort).where(NeutronPort.network_id == network_id)):
        ports.remove(s, port)
    s.flush()
    for subnet in s.exec(select(NeutronSubnet).where(NeutronSubnet.network_id == network_id)):
        subnets.remove(s, subnet)
    rows.drop_tags(s, network_id)
    s.delete(row)
    s.flush()


RESOURCE = Resource(
    name="network", collection="networks", attributes=ATTRIBUTES, load=load, get=get,
    create=create, update=update, delete=delete, not_found=not_found,
    model=NeutronNetwork, quota="network")
