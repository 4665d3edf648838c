"""Ports: the attribute table (neutron-lib's ``port`` with ``binding``, ``security-group``,
``port-security`` and friends), who sees them (the owner, the network's owner, admins),
and create/update/delete. Ports that routers and floating IPs own are theirs: the port API
refuses to delete them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, or_
from sqlalchemy import delete as sa_delete
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.db import table_of
from emulator.errors import EmulatorError
from emulator.network import fixed_ips, networks, quotas, rows, security_groups
from emulator.network.attributes import (
    DEVICE_ID_FIELD_SIZE,
    DEVICE_OWNER_FIELD_SIZE,
    NAME_FIELD_SIZE,
    NOT_SPECIFIED,
    Attribute,
    Rule,
    none_to_empty_list,
    sanitized_mac,
    standard_attributes,
    table,
    to_boolean,
    valid_dict_or_none,
    valid_fixed_ips,
    valid_mac_address,
    valid_string,
    valid_uuid,
    valid_uuid_list,
    valid_values,
)
from emulator.network.bodies import authorize, given
from emulator.network.errors import fail, not_authorized, resource_not_found
from emulator.network.listing import Record
from emulator.network.models import (
    NeutronFloatingIP,
    NeutronNetwork,
    NeutronPort,
    NeutronPortSecurityGroup,
)
from emulator.network.resources import Resource
from emulator.reads import KeyedRow, Prebuilt, connection_of

VNIC_TYPES = ["normal", "direct", "macvtap", "baremetal", "direct-physical",
              "virtio-forwarder", "smart-nic", "vdpa", "remote-managed"]
#: Owners whose ports only their own API deletes (``L3PortInUse``).
L3_OWNERS = ("network:router_interface", "network:router_gateway", "network:floatingip",
             "network:router_interface_distributed")

ATTRIBUTES = table(
    Attribute("id", validate=valid_uuid, filter=True, sort=True),
    Attribute("name", post=True, put=True, default="", validate=valid_string(NAME_FIELD_SIZE),
              filter=True, sort=True),
    Attribute("network_id", post=True, validate=valid_uuid, filter=True, sort=True),
    Attribute("admin_state_up", post=True, put=True, default=True, convert=to_boolean,
              filter=True, sort=True),
    Attribute("mac_address", post=True, put=True, default=NOT_SPECIFIED,
              convert=sanitized_mac, validate=valid_mac_address, filter=True, sort=True,
              set_by=Rule.ADMIN_OR_NETWORK_OWNER),
    Attribute("fixed_ips", post=True, put=True, default=NOT_SPECIFIED,
              validate=valid_fixed_ips, filter=True),
    Attribute("device_id", post=True, put=True, default="",
              validate=valid_string(DEVICE_ID_FIELD_SIZE), filter=True, sort=True),
    Attribute("device_owner", post=True, put=True, default="",
              validate=valid_string(DEVICE_OWNER_FIELD_SIZE), filter=True, sort=True),
    Attribute("status", filter=True, sort=True),
    Attribute("security_groups", post=True, put=True, default=NOT_SPECIFIED,
              convert=none_to_empty_list, validate=valid_uuid_list, filter=True),
    Attribute("port_security_enabled", post=True, put=True, default=NOT_SPECIFIED,
              convert=to_boolean, set_by=Rule.ADMIN_OR_NETWORK_OWNER),
    Attribute("binding:host_id", post=True, put=True, default=NOT_SPECIFIED,
              validate=valid_string(255), filter=True, set_by=Rule.ADMIN,
              seen_by=Rule.ADMIN),
    Attribute("binding:vnic_type", post=True, put=True, default="normal",
              validate=valid_values(VNIC_TYPES), filter=True),
    Attribute("binding:profile", post=True, put=True, default=NOT_SPECIFIED,
              validate=valid_dict_or_none, set_by=Rule.ADMIN, seen_by=Rule.ADMIN),
    Attribute("binding:vif_type", seen_by=Rule.ADMIN),
    Attribute("binding:vif_details", seen_by=Rule.ADMIN),
    Attribute("allowed_address_pairs"),
    Attribute("extra_dhcp_opts"),
    Attribute("ip_allocation"),
    *standard_attributes(),
)


def not_found(port_id: str) -> EmulatorError:
    return fail("PortNotFound", port_id=port_id)


def _vif(row: NeutronPort) -> tuple[str, dict[str, Any]]:
    """How a port is plugged: ``unbound`` until a host binds it, then OVS's."""
    if not row.binding_host_id:
        return "unbound", {}
    return "ovs", {"port_filter": True, "connectivity": "l2", "bridge_name": "br-int",
                   "datapath_type": "system"}


def records(s: Session, ports: list[NeutronPort]) -> list[Record]:
    ids = [p.id for p in ports]
    tags = rows.tags_of(s, ids)
    ips = fixed_ips.of_ports(s, ids)
    groups: dict[str, list[str]] = {i: [] for i in ids}
    if ids:
        for binding in s.exec(select(NeutronPortSecurityGroup).where(
                col(NeutronPortSecurityGroup.port_id).in_(ids))):
            groups[binding.port_id].append(binding.security_group_id)
    found = []
    for p in ports:
        vif_type, vif_details = _vif(p)
        found.append({
            "id": p.id, "name": p.name, "network_id": p.network_id,
            "admin_state_up": p.admin_state_up, "mac_address": p.mac_address,
            "fixed_ips": ips[p.id], "device_id": p.device_id, "device_owner": p.device_owner,
            "status": p.status, "security_groups": sorted(groups[p.id]),
            "port_security_enabled": p.port_security_enabled,
            "binding:host_id": p.binding_host_id, "binding:vnic_type": p.binding_vnic_type,
            "binding:profile": dict(p.binding_profile), "binding:vif_type": vif_type,
            "binding:vif_details": vif_details, "allowed_address_pairs": [],
            "extra_dhcp_opts": [], "ip_allocation": "immediate",
            **rows.standard(p, tags[p.id], p.description),
        })
    return found


def _network_owner(s: Session, network_id: str) -> str | None:
    network = s.get(NeutronNetwork, network_id)
    return None if network is None else network.project_id


def visible_row(s: Session, ctx: RequestContext, port_id: str) -> NeutronPort:
    row = s.get(NeutronPort, port_id)
    if row is None or not (ctx.is_admin or row.project_id == ctx.project_id
                           or _network_owner(s, row.network_id) == ctx.project_id):
        raise not_found(port_id)
    return row


def load(s: Session, ctx: RequestContext) -> list[Record]:
    query = select(NeutronPort)
    if not ctx.is_admin:
        owned = select(NeutronNetwork.id).where(NeutronNetwork.project_id == ctx.project_id)
        query = query.where(or_(col(NeutronPort.project_id) == ctx.project_id,
                                col(NeutronPort.network_id).in_(owned)))
    return records(s, list(s.exec(query)))


def get(s: Session, ctx: RequestContext, port_id: str) -> Record:
    return records(s, [visible_row(s, ctx, port_id)])[0]


def match_fixed_ips(record: Record, values: list[str]) -> bool:
    """The ``fixed_ips=ip_address=…``/``fixed_ips=subnet_id=…`` filter: a fixed IP with
    one of the addresses and one of the subnets asked for."""
    wanted: dict[str, set[str]] = {}
    for value in values:
        key, _, item = value.partition("=")
        wanted.setdefault(key, set()).add(item)
    return any(
        all(fixed.get(key, "") in items if key != "ip_address_substr"
            else any(i in fixed["ip_address"] for i in items)
            for key, items in wanted.items())
        for fixed in record["fixed_ips"])


def _groups_for(s: Session, ctx: RequestContext, values: dict[str, Any], project_id: str,
                device_owner: str, port_security: bool) -> list[str]:
    if given(values, "security_groups"):
        wanted: list[str] = list(values["security_groups"])
        for group_id in wanted:
            group = security_groups.visible_row(s, ctx, group_id)
            if group.project_id != project_id and not ctx.is_admin:
                raise security_groups.not_found(group_id)
        if wanted and not port_security:
            raise fail("PortSecurityAndIPRequiredForSecurityGroups")
        return wanted
    if not port_security or device_owner.startswith("network:"):
        return []
    default = security_groups.ensure_default(s, project_id)
    return [default] if default else []


def _bind_groups(s: Session, port_id: str, group_ids: list[str]) -> None:
    """The port's security groups become ``group_ids``."""
    for binding in s.exec(select(NeutronPortSecurityGroup).where(
            NeutronPortSecurityGroup.port_id == port_id)):
        s.delete(binding)
    s.flush()
    for group_id in dict.fromkeys(group_ids):
        s.add(NeutronPortSecurityGroup(port_id=port_id, security_group_id=group_id))


def _status(device_owner: str, host: str) -> str:
    return "ACTIVE" if device_owner.startswith("network:") or host else "DOWN"


def _check_fixed_ip_policy(values: dict[str, Any], ctx: RequestContext,
                           network: NeutronNetwork, action: str) -> None:
    """``<action>_port:fixed_ips:ip_address``: an address of one's choice needs the
    network's owner (or an admin)."""
    if ctx.is_admin or network.project_id == ctx.project_id:
        return
    if given(values, "fixed_ips") and any("ip_address" in f for f in values["fixed_ips"]):
        raise not_authorized(f"(rule:{action}_port and rule:{action}_port:fixed_ips and "
                             f"rule:{action}_port:fixed_ips:ip_address)")
    if values.get("device_owner", "").startswith("network:"):
        raise not_authorized(f"(rule:{action}_port and rule:{action}_port:device_owner)")


def create(s: Session, ctx: RequestContext, values: dict[str, Any]) -> Record:
    network = networks.visible_row(s, ctx, values["network_id"])
    authorize(ATTRIBUTES, values, "create", "port", ctx, network_owner=network.project_id)
    if not (ctx.is_admin or network.shared or network.project_id == values["project_id"]):
        raise resource_not_found()
    _check_fixed_ip_policy(values, ctx, network, "create")
    return add(s, ctx, network, values)


def add(s: Session, ctx: RequestContext, network: NeutronNetwork,
        values: dict[str, Any]) -> Record:
    """Make a port (for the port API, a router or a floating IP): its quota, MAC,
    addresses, security groups; its record."""
    row = NeutronPort(**make(s, ctx, network, values))
    return records(s, [row])[0]


def make(s: Session, ctx: RequestContext, network: NeutronNetwork | KeyedRow,
         values: dict[str, Any]) -> dict[str, Any]:
    """``add`` without the record (Nova's own ports at a build: only the id is asked): the
    new port's columns (those left out have their defaults)."""
    project_id = values["project_id"]
    quotas.check(s, project_id, "port")
    mac = values.get("mac_address", NOT_SPECIFIED)
    if mac is NOT_SPECIFIED:
        mac = fixed_ips.new_mac(s, network.id)
    elif not fixed_ips.mac_free(s, network.id, mac):
        raise fail("MacAddressInUse", net_id=network.id, mac=mac)
    device_owner = values.get("device_owner", "")
    port_security = values.get("port_security_enabled", NOT_SPECIFIED)
    if port_security is NOT_SPECIFIED:
        port_security = network.port_security_enabled
    asked = values["fixed_ips"] if given(values, "fixed_ips") else None
    chosen = fixed_ips.plan(s, network.id, asked, device_owner)
    host = values.get("binding:host_id", NOT_SPECIFIED)
    host = "" if host is NOT_SPECIFIED or host is None else host
    profile = values.get("binding:profile", NOT_SPECIFIED)
    stamp = rows.now()
    port = dict(
        id=rows.new_id(), name=values.get("name", ""), project_id=project_id,
        network_id=network.id, mac_address=mac,
        admin_state_up=values.get("admin_state_up", True),
        status=_status(device_owner, host), device_id=values.get("device_id", ""),
        device_owner=device_owner, port_security_enabled=port_security,
        binding_host_id=host, binding_vnic_type=values.get("binding:vnic_type", "normal"),
        binding_profile={} if profile in (NOT_SPECIFIED, None) else dict(profile),
        description=values.get("description", ""), created_at=stamp, updated_at=stamp)
    # Core inserts of the new row and its children: no port object in the session (what
    # asks for the port reads it).
    port_id = port["id"]
    _INSERT(connection_of(s), port)
    fixed_ips.give(s, port_id, network.id, chosen)
    groups = _groups_for(s, ctx, values, project_id, device_owner, port_security)
    if groups:
        _GROUP(connection_of(s), [{"port_id": port_id, "security_group_id": group}
                                  for group in dict.fromkeys(groups)])
    if given(values, "tags"):
        rows.set_tags(s, port_id, values["tags"])
        s.flush()
    return port


#: Attribute -> the column an update writes.
SETTERS = {"name": "name", "admin_state_up": "admin_state_up", "device_id": "device_id",
           "device_owner": "device_owner", "description": "description",
           "binding:vnic_type": "binding_vnic_type",
           "port_security_enabled": "port_security_enabled"}


def update(s: Session, ctx: RequestContext, port_id: str, values: dict[str, Any]) -> Record:
    row = visible_row(s, ctx, port_id)
    network = s.get(NeutronNetwork, row.network_id)
    assert network is not None
    if not (ctx.is_admin or row.project_id == ctx.project_id):
        raise not_authorized("rule:update_port")
    authorize(ATTRIBUTES, values, "update", "port", ctx, network_owner=network.project_id)
    _check_fixed_ip_policy(values, ctx, network, "update")
    if "mac_address" in values and values["mac_address"] != row.mac_address:
        if row.binding_host_id:
            raise fail("PortBound", port_id=row.id, vif_type="ovs", old_mac=row.mac_address,
                       new_mac=values["mac_address"])
        if not fixed_ips.mac_free(s, row.network_id, values["mac_address"]):
            raise fail("MacAddressInUse", net_id=row.network_id, mac=values["mac_address"])
        row.mac_address = values["mac_address"]
    if "fixed_ips" in values:
        fixed_ips.allocate(s, row, fixed_ips.plan(
            s, row.network_id, values["fixed_ips"], row.device_owner,
            keep=fixed_ips.held(s, row.id)))
    for name, column in SETTERS.items():
        if name in values:
            setattr(row, column, values[name])
    if "binding:host_id" in values:
        row.binding_host_id = values["binding:host_id"] or ""
    if "binding:profile" in values:
        row.binding_profile = dict(values["binding:profile"] or {})
    if "security_groups" in values:
        _bind_groups(s, row.id, _groups_for(s, ctx, values, row.project_id, row.device_owner,
                                            row.port_security_enabled))
    if not row.port_security_enabled and current_groups(s, row.id):
        raise fail("PortSecurityPortHasSecurityGroup")
    row.status = _status(row.device_owner, row.binding_host_id)
    rows.touch(s, row)
    s.flush()
    return records(s, [row])[0]


def current_groups(s: Session, port_id: str) -> list[str]:
    return list(s.exec(select(NeutronPortSecurityGroup.security_group_id).where(
        NeutronPortSecurityGroup.port_id == port_id)).all())


_FIP, _PORT_GROUP = table_of(NeutronFloatingIP), table_of(NeutronPortSecurityGroup)
_TABLE = table_of(NeutronPort)
#: A new port and its groups (Core inserts: every server's build makes a port).
_INSERT, _GROUP = Prebuilt(sa_insert(_TABLE)), Prebuilt(sa_insert(_PORT_GROUP))
#: A port's delete lets its floating IPs go (each a change: ``rows.touch``'s revision and
#: time) and forgets its groups: statements built once (every server delete runs them).
_LET_GO = Prebuilt(sa_update(_FIP).where(_FIP.c.fixed_port_id == bindparam("port")).values(
    fixed_port_id=None, fixed_ip_address=None, router_id=None, status="DOWN",
    revision_number=_FIP.c.revision_number + 1, updated_at=bindparam("now")))
_UNGROUP = Prebuilt(sa_delete(_PORT_GROUP).where(_PORT_GROUP.c.port_id == bindparam("port")))
_DROP = Prebuilt(sa_delete(_TABLE).where(_TABLE.c.id == bindparam("port")))


def remove(s: Session, row: NeutronPort) -> None:
    """Delete a port: its addresses and groups, the floating IPs on it let go."""
    drop(s, row.id)
    s.expunge(row)


def drop(s: Session, port_id: str) -> None:
    """``remove`` by id, in statements built once (no object of the port: a server's delete
    drops its ports this way)."""
    connection = connection_of(s)
    _LET_GO(connection, {"port": port_id, "now": rows.now()})
    fixed_ips.release(s, port_id)
    _UNGROUP(connection, {"port": port_id})
    rows.drop_tags(s, port_id)
    _DROP(connection, {"port": port_id})


def delete(s: Session, ctx: RequestContext, port_id: str) -> None:
    row = visible_row(s, ctx, port_id)
    if not (ctx.is_admin or row.project_id == ctx.project_id
            or _network_owner(s, row.network_id) == ctx.project_id):
        raise not_authorized("rule:delete_port")
    if row.device_owner in L3_OWNERS:
        raise fail("L3PortInUse", port_id=row.id, device_owner=row.device_owner)
    remove(s, row)
    s.flush()


RESOURCE = Resource(
    name="port", collection="ports", attributes=ATTRIBUTES, load=load, get=get,
    create=create, update=update, delete=delete, not_found=not_found,
    model=NeutronPort,
    special_filters={"fixed_ips": match_fixed_ips}, quota="port")
