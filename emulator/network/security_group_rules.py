"""Security group rules: the attribute table (Neutron's ``securitygroup`` extension), the
checks of ``securitygroups_db`` (protocol and ports, ICMP type and code, ethertype against
protocol and prefix, one remote), duplicates, and create/delete. Rules have no update."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.errors import EmulatorError
from emulator.network import quotas, rows
from emulator.network.attributes import (
    DESCRIPTION_FIELD_SIZE,
    PROJECT_ID_FIELD_SIZE,
    Attribute,
    table,
    to_int,
    valid_string,
    valid_uuid,
    valid_values,
)
from emulator.network.errors import fail, not_authorized, resource_not_found
from emulator.network.listing import Record
from emulator.network.models import (
    NeutronDefaultSecurityGroup,
    NeutronSecurityGroup,
    NeutronSecurityGroupRule,
)
from emulator.network.resources import Resource

#: neutron_lib.constants.IP_PROTOCOL_MAP (with the legacy ``icmpv6``).
IP_PROTOCOL_MAP = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2,
    "ip": 4, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58,
    "ipv6-nonxt": 59, "ipv6-opts": 60, "ipv6-route": 43, "ospf": 89, "pgm": 113,
    "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}
PROTO_ANY = (None, "any")
SUPPORTED_PROTOCOLS = (*PROTO_ANY, *IP_PROTOCOL_MAP)
ETHERTYPES = ["IPv4", "IPv6"]
#: Protocols with ports (``SG_PORT_PROTO_NUMS``), and ICMP's.
PORT_PROTOCOLS = (33, 132, 6, 17, 136)
PORT_PROTOCOL_NAMES = "DCCP, SCTP, TCP, UDP, UDPLITE"
ICMP_PROTOCOLS = (1, 58)
#: Protocols that are IPv6 only.
IPV6_ONLY = ("ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts",
             "ipv6-route", "41", "44", "58", "59", "60", "43")


def convert_protocol(value: Any) -> str | None:
    if value in PROTO_ANY:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        if isinstance(value, str) and value.lower() in IP_PROTOCOL_MAP:
            return value.lower()
        raise fail("SecurityGroupRuleInvalidProtocol", protocol=value,
                   values=SUPPORTED_PROTOCOLS) from None
    if isinstance(value, bool) or not 0 <= number <= 255:
        raise fail("SecurityGroupRuleInvalidProtocol", protocol=value,
                   values=SUPPORTED_PROTOCOLS)
    return str(value)


def convert_ethertype(value: Any) -> str:
    if isinstance(value, str):
        for ethertype in ETHERTYPES:
            if ethertype.lower() == value.lower():
                return ethertype
    raise fail("SecurityGroupRuleInvalidEtherType", ethertype=value, values=ETHERTYPES)


def convert_port(value: Any) -> int | None:
    if value is None:
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if isinstance(value, bool) or not 0 <= port <= 65535:
        raise fail("SecurityGroupInvalidPortValue", port=value)
    return port


def convert_prefix(value: Any) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_interface(value))
    except (TypeError, ValueError):
        raise fail("InvalidCIDR", input=value) from None


ATTRIBUTES = table(
    Attribute("id", validate=valid_uuid, filter=True, sort=True),
    Attribute("security_group_id", post=True, validate=valid_string(36), filter=True,
              sort=True),
    Attribute("remote_group_id", post=True, default=None, filter=True, sort=True),
    Attribute("direction", post=True, validate=valid_values(["ingress", "egress"]),
              filter=True, sort=True),
    Attribute("protocol", post=True, default=None, convert=convert_protocol, filter=True,
              sort=True),
    Attribute("port_range_min", post=True, default=None, convert=convert_port, filter=True,
              sort=True),
    Attribute("port_range_max", post=True, default=None, convert=convert_port, filter=True,
              sort=True),
    Attribute("ethertype", post=True, default="IPv4", convert=convert_ethertype,
              validate=valid_values(ETHERTYPES), filter=True, sort=True),
    Attribute("remote_ip_prefix", post=True, default=None, convert=convert_prefix,
              filter=True, sort=True),
    Attribute("remote_address_group_id", post=True, default=None, filter=True, sort=True),
    Attribute("normalized_cidr"),
    Attribute("belongs_to_default_sg", filter=True),
    Attribute("tenant_id", post=True, validate=valid_string(PROJECT_ID_FIELD_SIZE),
              filter=True, sort=True),
    Attribute("project_id", post=True, validate=valid_string(PROJECT_ID_FIELD_SIZE),
              filter=True, sort=True),
    Attribute("description", post=True, default="",
              validate=valid_string(DESCRIPTION_FIELD_SIZE), filter=True, sort=True),
    Attribute("created_at", filter=True, sort=True),
    Attribute("updated_at", filter=True, sort=True),
    Attribute("revision_number", filter=True, sort=True, convert=to_int),
)


def not_found(rule_id: str) -> EmulatorError:
    return fail("SecurityGroupRuleNotFound", id=rule_id)


def records(s: Session, rules: list[NeutronSecurityGroupRule]) -> list[Record]:
    defaults = set(s.exec(select(NeutronDefaultSecurityGroup.security_group_id)).all()) \
        if rules else set()
    return [{
        "id": r.id, "security_group_id": r.security_group_id, "direction": r.direction,
        "ethertype": r.ethertype, "protocol": r.protocol,
        "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id,
        "remote_address_group_id": None,
        "normalized_cidr": (str(ipaddress.ip_network(r.remote_ip_prefix, strict=False))
                            if r.remote_ip_prefix else None),
        "belongs_to_default_sg": r.security_group_id in defaults,
        **{k: v for k, v in rows.standard(r, [], r.description).items() if k != "tags"},
    } for r in rules]


def _owners(s: Session) -> dict[str, str]:
    return {g.id: g.project_id for g in s.exec(select(NeutronSecurityGroup))}


def _visible(ctx: RequestContext, rule: NeutronSecurityGroupRule, group_owner: str) -> bool:
    """Admin, the rule's owner, or its group's (``ADMIN_OWNER_OR_SG_OWNER``)."""
    return ctx.is_admin or ctx.project_id in (rule.project_id, group_owner)


def load(s: Session, ctx: RequestContext) -> list[Record]:
    owners = _owners(s)
    found = [r for r in s.exec(select(NeutronSecurityGroupRule))
             if _visible(ctx, r, owners.get(r.security_group_id, ""))]
    return records(s, found)


def visible_row(s: Session, ctx: RequestContext, rule_id: str) -> NeutronSecurityGroupRule:
    row = s.get(NeutronSecurityGroupRule, rule_id)
    group = None if row is None else s.get(NeutronSecurityGroup, row.security_group_id)
    if row is None or group is None or not _visible(ctx, row, group.project_id):
        raise not_found(rule_id)
    return row


def get(s: Session, ctx: RequestContext, rule_id: str) -> Record:
    return records(s, [visible_row(s, ctx, rule_id)])[0]


def _protocol_number(protocol: str) -> int:
    return IP_PROTOCOL_MAP[protocol] if protocol in IP_PROTOCOL_MAP else int(protocol)


def check(rule: dict[str, Any]) -> None:
    """``_validate_base_security_group_rule_attributes``, canonical forms first."""
    if rule["ethertype"] == "IPv6" and rule["protocol"] in ("icmp", "icmpv6"):
        rule["protocol"] = "ipv6-icmp"
    elif rule["ethertype"] == "IPv6" and rule["protocol"] == "1":
        rule["protocol"] = "58"
    if rule["port_range_min"] == 1 and rule["port_range_max"] == 65535:
        rule["port_range_min"] = rule["port_range_max"] = None
    low, high, protocol = rule["port_range_min"], rule["port_range_max"], rule["protocol"]
    if low is not None or high is not None:
        if not protocol:
            raise fail("SecurityGroupProtocolRequiredWithPorts")
        number = _protocol_number(protocol)
        if number in PORT_PROTOCOLS:
            if low == 0 or high == 0:
                raise fail("SecurityGroupInvalidPortValue", port=0)
            if low is None or high is None or low > high:
                raise fail("SecurityGroupInvalidPortRange")
        elif number in ICMP_PROTOCOLS:
            for attr, field in (("port_range_min", "type"), ("port_range_max", "code")):
                value = rule[attr]
                if value is not None and not 0 <= value <= 255:
                    raise fail("SecurityGroupInvalidIcmpValue", field=field, attr=attr,
                               value=value)
            if low is None and high is not None:
                raise fail("SecurityGroupMissingIcmpType", value=high)
        else:
            raise fail("SecurityGroupInvalidProtocolForPort", protocol=number,
                       valid_port_protocols=PORT_PROTOCOL_NAMES)
    prefix = rule["remote_ip_prefix"]
    if prefix and rule["ethertype"] != f"IPv{ipaddress.ip_interface(prefix).version}":
        raise fail("SecurityGroupRuleParameterConflict", ethertype=rule["ethertype"],
                   cidr=prefix)
    if protocol in IPV6_ONLY and rule["ethertype"] == "IPv4":
        raise fail("SecurityGroupEthertypeConflictWithProtocol",
                   ethertype=rule["ethertype"], protocol=protocol)
    if prefix and (rule["remote_group_id"] or rule["remote_address_group_id"]):
        raise fail("SecurityGroupMultipleRemoteEntites")


def _key(rule: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two rules the same (``_rule_to_key``)."""
    prefix = rule["remote_ip_prefix"]
    if prefix in ("0.0.0.0/0", "::/0"):
        prefix = None
    protocol = rule["protocol"]
    number = None if protocol in PROTO_ANY else _protocol_number(protocol)
    return (rule["direction"], rule["ethertype"], rule["port_range_max"],
            rule["port_range_min"], number, rule["remote_group_id"], prefix,
            rule["security_group_id"])


def add(s: Session, project_id: str, group_id: str, **fields: Any) -> NeutronSecurityGroupRule:
    """Store a checked rule (no quota: the default group's rules come this way too)."""
    stamp = rows.now()
    row = NeutronSecurityGroupRule(id=rows.new_id(), project_id=project_id,
                                   security_group_id=group_id, created_at=stamp,
                                   updated_at=stamp, **fields)
    s.add(row)
    return row


def create(s: Session, ctx: RequestContext, values: dict[str, Any]) -> Record:
    from emulator.network import security_groups  # (it imports this module)

    check(values)
    group = security_groups.visible_row(s, ctx, values["security_group_id"])
    if not ctx.is_admin and group.project_id != ctx.project_id:
        raise not_authorized("rule:create_security_group_rule")
    if values["remote_group_id"]:
        security_groups.visible_row(s, ctx, values["remote_group_id"])
    if values["remote_address_group_id"]:
        raise resource_not_found()
    quotas.check(s, values["project_id"], "security_group_rule")
    existing = s.exec(select(NeutronSecurityGroupRule).where(
        NeutronSecurityGroupRule.security_group_id == group.id)).all()
    wanted = _key(values)
    for rule in existing:
        if _key(records(s, [rule])[0]) == wanted:
            raise fail("SecurityGroupRuleExists", rule_id=rule.id)
    row = add(s, values["project_id"], group.id, direction=values["direction"],
              ethertype=values["ethertype"], protocol=values["protocol"],
              port_range_min=values["port_range_min"], port_range_max=values["port_range_max"],
              remote_ip_prefix=values["remote_ip_prefix"],
              remote_group_id=values["remote_group_id"], description=values["description"])
    rows.touch(s, group)
    s.flush()
    return records(s, [row])[0]


def update(s: Session, ctx: RequestContext, rule_id: str, values: dict[str, Any]) -> Record:
    visible_row(s, ctx, rule_id)
    raise AssertionError("rules have no updatable attribute")  # prepare_update refused it


def delete(s: Session, ctx: RequestContext, rule_id: str) -> None:
    row = visible_row(s, ctx, rule_id)
    group = s.get(NeutronSecurityGroup, row.security_group_id)
    if not ctx.is_admin and ctx.project_id != row.project_id and (
            group is None or group.project_id != ctx.project_id):
        raise not_authorized("rule:delete_security_group_rule")
    s.delete(row)
    if group is not None:
        rows.touch(s, group)
    s.flush()


def of_groups(s: Session, group_ids: list[str]) -> dict[str, list[Record]]:
    """Each group's rules, as records (one query)."""
    found: dict[str, list[Record]] = {g: [] for g in group_ids}
    if not group_ids:
        return found
    rules = list(s.exec(select(NeutronSecurityGroupRule).where(
        col(NeutronSecurityGroupRule.security_group_id).in_(group_ids))))
    for record in records(s, rules):
        found[record["security_group_id"]].append(record)
    return found


RESOURCE = Resource(
    name="security_group_rule", collection="security_group_rules", attributes=ATTRIBUTES,
    load=load, get=get, create=create, update=update, delete=delete, not_found=not_found,
    model=NeutronSecurityGroupRule,
    quota="security_group_rule")
