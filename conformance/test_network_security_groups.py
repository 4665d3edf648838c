"""Security groups and rules as Neutron keeps them: each project's ``default`` group with
its four rules made on first use, new groups with their two egress rules, the rule checks
(protocol, ports, ICMP, ethertype against prefix, one remote), duplicates, and the groups
Neutron will not delete or rename."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.client import ApiSession
from conformance.network import (
    RULE_KEYS,
    SECURITY_GROUP_KEYS,
    create,
    delete,
    name,
    network_with_subnet,
    neutron,
    neutron_error,
    ok,
)


def _default(session: ApiSession) -> dict[str, Any]:
    groups = ok(neutron(session, "GET", "/security-groups",
                        params={"name": "default"}))["security_groups"]
    assert len(groups) == 1, groups
    return groups[0]  # type: ignore[no-any-return]


def test_default_group_and_its_rules(member: ApiSession, alt: ApiSession) -> None:
    group = _default(member)
    assert set(group) >= SECURITY_GROUP_KEYS
    assert group["project_id"] == member.project_id
    assert group["description"] == "Default security group"
    rules = {(r["direction"], r["ethertype"], r["remote_group_id"], r["protocol"])
             for r in group["security_group_rules"]}
    assert rules == {("egress", "IPv4", None, None), ("egress", "IPv6", None, None),
                     ("ingress", "IPv4", group["id"], None),
                     ("ingress", "IPv6", group["id"], None)}
    for rule in group["security_group_rules"]:
        assert set(rule) >= RULE_KEYS
    assert _default(alt)["id"] != group["id"]
    neutron_error(neutron(alt, "GET", f"/security-groups/{group['id']}"), 404,
                  "SecurityGroupNotFound")


def test_default_group_is_kept(member: ApiSession) -> None:
    group = _default(member)
    message = neutron_error(neutron(member, "DELETE", f"/security-groups/{group['id']}"), 409,
                            "SecurityGroupCannotRemoveDefault")
    assert message == "Insufficient rights for removing default security group."
    neutron_error(neutron(member, "PUT", f"/security-groups/{group['id']}",
                          json={"security_group": {"name": "other"}}), 409,
                  "SecurityGroupCannotUpdateDefault")
    neutron_error(neutron(member, "POST", "/security-groups",
                          json={"security_group": {"name": "Default"}}), 409,
                  "SecurityGroupDefaultAlreadyExists")


@pytest.fixture
def group(member: ApiSession):  # type: ignore[no-untyped-def]
    made = create(member, "security-groups", "security_group", name=name("sg"),
                  description="web")
    yield made
    delete(member, "security-groups", made["id"])


def test_new_group_lets_everything_out(member: ApiSession, group: dict[str, Any]) -> None:
    assert sorted((r["direction"], r["ethertype"]) for r in group["security_group_rules"]) \
        == [("egress", "IPv4"), ("egress", "IPv6")]
    updated = ok(neutron(member, "PUT", f"/security-groups/{group['id']}",
                         json={"security_group": {"name": "web2"}}))["security_group"]
    assert updated["name"] == "web2"


def _rule(session: ApiSession, group_id: str, **attributes: object) -> Any:
    return neutron(session, "POST", "/security-group-rules", json={"security_group_rule": {
        "security_group_id": group_id, "direction": "ingress", **attributes}})


def test_rule_create_show_delete(member: ApiSession, group: dict[str, Any]) -> None:
    rule = ok(_rule(member, group["id"], protocol="TCP", port_range_min=22,
                    port_range_max=22, remote_ip_prefix="10.0.0.5"), 201)
    rule = rule["security_group_rule"]
    assert set(rule) >= RULE_KEYS
    assert (rule["protocol"], rule["ethertype"], rule["remote_ip_prefix"]) == \
        ("tcp", "IPv4", "10.0.0.5/32")
    again = _rule(member, group["id"], protocol="tcp", port_range_min=22, port_range_max=22,
                  remote_ip_prefix="10.0.0.5/32")
    assert neutron_error(again, 409, "SecurityGroupRuleExists") == \
        f"Security group rule already exists. Rule id is {rule['id']}."
    shown = ok(neutron(member, "GET", f"/security-group-rules/{rule['id']}"))
    assert shown["security_group_rule"]["id"] == rule["id"]
    listed = ok(neutron(member, "GET", "/security-group-rules",
                        params={"security_group_id": group["id"], "direction": "ingress"}))
    assert [r["id"] for r in listed["security_group_rules"]] == [rule["id"]]
    assert ok(neutron(member, "DELETE", f"/security-group-rules/{rule['id']}"), 204) is None
    neutron_error(neutron(member, "GET", f"/security-group-rules/{rule['id']}"), 404,
                  "SecurityGroupRuleNotFound")


BAD_RULES = [
    ({"protocol": "tcp", "port_range_min": 80, "port_range_max": 79},
     "SecurityGroupInvalidPortRange",
     "For TCP/UDP protocols, port_range_min must be <= port_range_max"),
    ({"port_range_min": 80, "port_range_max": 80}, "SecurityGroupProtocolRequiredWithPorts",
     "Must also specify protocol if port range is given."),
    ({"protocol": "tcp", "port_range_min": 70000, "port_range_max": 70000},
     "SecurityGroupInvalidPortValue", "Invalid value for port 70000"),
    ({"protocol": "icmp", "port_range_min": 300}, "SecurityGroupInvalidIcmpValue",
     "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255."),
    ({"protocol": "icmp", "port_range_max": 3}, "SecurityGroupMissingIcmpType",
     "ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing."),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2},
     "SecurityGroupInvalidProtocolForPort", "Ports cannot be specified for protocol 47. "
     "Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE."),
    ({"protocol": "bogus"}, "SecurityGroupRuleInvalidProtocol", None),
    ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType",
     "Security group rule for ethertype 'IPv5' not supported. Allowed values are "
     "['IPv4', 'IPv6']."),
    ({"remote_ip_prefix": "fd00::/64"}, "SecurityGroupRuleParameterConflict",
     "Conflicting value ethertype IPv4 for CIDR fd00::/64"),
    ({"protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol",
     "Invalid ethertype IPv4 for protocol ipv6-icmp."),
    ({"remote_ip_prefix": "not-a-cidr"}, "InvalidCIDR",
     "Invalid CIDR not-a-cidr given as IP prefix."),
    ({"direction": "sideways"}, "HTTPBadRequest",
     "Invalid input for direction. Reason: sideways is not in ['ingress', 'egress']."),
]


@pytest.mark.parametrize(("attributes", "kind", "message"), BAD_RULES)
def test_refused_rules(member: ApiSession, group: dict[str, Any],
                       attributes: dict[str, object], kind: str, message: str | None) -> None:
    found = neutron_error(_rule(member, group["id"], **attributes), 400, kind)
    if message is not None:
        assert found == message
    shown = ok(neutron(member, "GET", f"/security-groups/{group['id']}"))["security_group"]
    assert len(shown["security_group_rules"]) == 2


def test_remote_group_and_prefix_together(member: ApiSession, group: dict[str, Any]) -> None:
    response = _rule(member, group["id"], remote_group_id=group["id"],
                     remote_ip_prefix="10.0.0.0/8")
    neutron_error(response, 400, "SecurityGroupMultipleRemoteEntites")
    from_group = ok(_rule(member, group["id"], remote_group_id=group["id"]), 201)
    assert from_group["security_group_rule"]["remote_group_id"] == group["id"]


def test_rules_of_another_project(member: ApiSession, alt: ApiSession,
                                  group: dict[str, Any]) -> None:
    neutron_error(_rule(alt, group["id"], protocol="tcp"), 404, "SecurityGroupNotFound")
    rule_id = group["security_group_rules"][0]["id"]
    neutron_error(neutron(alt, "GET", f"/security-group-rules/{rule_id}"), 404,
                  "SecurityGroupRuleNotFound")
    neutron_error(neutron(alt, "DELETE", f"/security-group-rules/{rule_id}"), 404,
                  "SecurityGroupRuleNotFound")


def test_group_in_use_is_kept(member: ApiSession, group: dict[str, Any]) -> None:
    with network_with_subnet(member, "192.168.90.0/24") as (network, _subnet):
        port = create(member, "ports", "port", network_id=network["id"],
                      security_groups=[group["id"]])
        assert port["security_groups"] == [group["id"]]
        message = neutron_error(neutron(member, "DELETE", f"/security-groups/{group['id']}"),
                                409, "SecurityGroupInUse")
        assert message == f"Security Group {group['id']} in use."
        cleared = ok(neutron(member, "PUT", f"/ports/{port['id']}",
                             json={"port": {"security_groups": []}}))["port"]
        assert cleared["security_groups"] == []
        assert ok(neutron(member, "DELETE", f"/security-groups/{group['id']}"), 204) is None


def test_port_security_and_groups(member: ApiSession, group: dict[str, Any]) -> None:
    with network_with_subnet(member, "192.168.91.0/24") as (network, _subnet):
        refused = neutron(member, "POST", "/ports", json={"port": {
            "network_id": network["id"], "port_security_enabled": False,
            "security_groups": [group["id"]]}})
        assert neutron_error(refused, 400, "PortSecurityAndIPRequiredForSecurityGroups") == (
            "Port security must be enabled and port must have an IP address in order to use "
            "security groups.")
        port = create(member, "ports", "port", network_id=network["id"])
        assert port["port_security_enabled"] is True and port["security_groups"]
        kept = neutron(member, "PUT", f"/ports/{port['id']}",
                       json={"port": {"port_security_enabled": False}})
        neutron_error(kept, 409, "PortSecurityPortHasSecurityGroup")
        off = ok(neutron(member, "PUT", f"/ports/{port['id']}", json={"port": {
            "port_security_enabled": False, "security_groups": []}}))["port"]
        assert off["port_security_enabled"] is False and off["security_groups"] == []
        bare = create(member, "ports", "port", network_id=network["id"],
                      port_security_enabled=False)
        assert bare["security_groups"] == []
