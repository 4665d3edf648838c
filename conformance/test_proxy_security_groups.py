"""Nova's security group proxy (``/os-security-groups``, ``/os-security-group-rules``)
until 2.35, over Neutron: Nova's shapes (ingress rules only, ``ip_range``/``group``,
ports of a port-less rule as Nova fills them), Nova's checks before Neutron's (uuid ids,
protocols, port ranges, cidrs, duplicates), Neutron's refusals as Nova's 400/403/404, the
project's groups only (every project's for an admin with ``all_tenants``), and a 404 from
2.36 on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import security_groups as tempest_sg

from conformance.client import ApiSession
from conformance.network import create, delete, network_with_subnet, neutron, ok
from conformance.schemas import validate
from conformance.test_aggregates import fault

V = "2.35"
#: The groups a test made, deleted after it.
Made = list[dict[str, Any]]


def groups(session: ApiSession, **params: Any) -> list[dict[str, Any]]:
    response = session.compute("GET", "/os-security-groups", version=V, params=params)
    return validate(response, tempest_sg.list_security_groups)["security_groups"]  # type: ignore[no-any-return]


def create_group(session: ApiSession, name: str | None = None,
                 description: str = "a group") -> dict[str, Any]:
    body = {"security_group": {"name": name or f"sg-{uuid.uuid4().hex[:8]}",
                               "description": description}}
    response = session.compute("POST", "/os-security-groups", version=V, json=body)
    return validate(response, tempest_sg.get_security_group)["security_group"]  # type: ignore[no-any-return]


@pytest.fixture
def made(member: ApiSession) -> Iterator[Made]:
    """Groups a test made (in its member's project), deleted after it (Neutron's quota
    is ten groups a project)."""
    kept: Made = []
    yield kept
    for group in kept:
        member.compute("DELETE", f"/os-security-groups/{group['id']}", version=V)


def keep(made: Made, group: dict[str, Any]) -> dict[str, Any]:
    made.append(group)
    return group


def add_rule(session: ApiSession, **rule: Any) -> Any:
    return session.compute("POST", "/os-security-group-rules", version=V,
                           json={"security_group_rule": rule})


def test_create_show_update_delete(member: ApiSession, made: Made) -> None:
    group = keep(made, create_group(member, description="first"))
    assert group["tenant_id"] == member.project_id
    assert group["rules"] == []  # Neutron's two egress rules are not Nova's
    shown = validate(member.compute("GET", f"/os-security-groups/{group['id']}", version=V),
                     tempest_sg.get_security_group)["security_group"]
    assert shown == group
    assert group["id"] in [g["id"] for g in groups(member)]
    updated = validate(member.compute(
        "PUT", f"/os-security-groups/{group['id']}", version=V,
        json={"security_group": {"name": "renamed", "description": "second"}}),
        tempest_sg.update_security_group)["security_group"]
    assert (updated["name"], updated["description"]) == ("renamed", "second")
    neutron_view = ok(neutron(member, "GET", f"/security-groups/{group['id']}"))
    assert neutron_view["security_group"]["name"] == "renamed"
    validate(member.compute("DELETE", f"/os-security-groups/{group['id']}", version=V),
             tempest_sg.delete_security_group)
    assert fault(member.compute("GET", f"/os-security-groups/{group['id']}", version=V),
                 404).startswith(f"Security group {group['id']} does not exist")


def test_list_sorted_with_default_and_isolated(member: ApiSession, alt: ApiSession,
                                               admin: ApiSession, made: Made) -> None:
    mine = keep(made, create_group(member))
    listed = groups(member)
    assert "default" in [g["name"] for g in listed]
    assert {g["tenant_id"] for g in listed} == {member.project_id}
    assert listed == sorted(listed, key=lambda g: (g["tenant_id"], g["name"]))
    default = next(g for g in listed if g["name"] == "default")
    # Neutron's default ingress rules (from the group itself) in Nova's words.
    assert {(r["ip_protocol"], r["from_port"], r["to_port"], r["group"]["name"])
            for r in default["rules"]} == {(None, None, None, "default")}
    assert mine["id"] not in [g["id"] for g in groups(alt)]
    assert fault(alt.compute("GET", f"/os-security-groups/{mine['id']}", version=V), 404)
    assert mine["id"] not in [g["id"] for g in groups(admin)]
    assert mine["id"] in [g["id"] for g in groups(admin, all_tenants="1")]
    # all_tenants means nothing to a member.
    assert {g["tenant_id"] for g in groups(member, all_tenants="1")} == {member.project_id}
    assert len(groups(member, limit="1")) == 1


def test_bad_ids_and_bodies(member: ApiSession) -> None:
    missing = str(uuid.uuid4())
    assert fault(member.compute("GET", "/os-security-groups/not-a-uuid", version=V),
                 400) == "Security group id should be uuid"
    assert fault(member.compute("DELETE", f"/os-security-groups/{missing}", version=V),
                 404).startswith(f"Security group {missing} does not exist")
    assert fault(member.compute("PUT", f"/os-security-groups/{missing}", version=V,
                                json={"security_group": {"name": "a", "description": "b"}}),
                 404)
    fault(member.compute("POST", "/os-security-groups", version=V,
                         json={"security_group": {"name": "a"}}), 400)
    fault(member.compute("POST", "/os-security-groups", version=V,
                         json={"security_group": {"name": "a" * 256,
                                                  "description": "b"}}), 400)


def test_default_group_is_not_deleted(member: ApiSession) -> None:
    default = next(g for g in groups(member) if g["name"] == "default")
    message = fault(member.compute("DELETE", f"/os-security-groups/{default['id']}",
                                   version=V), 400)
    assert "Insufficient rights for removing default security group." in message


def test_rules_create_and_delete(member: ApiSession, made: Made) -> None:
    group = keep(made, create_group(member))
    other = keep(made, create_group(member))
    response = add_rule(member, parent_group_id=group["id"], ip_protocol="tcp",
                        from_port=22, to_port=22, cidr="10.0.0.0/8")
    rule = validate(response, tempest_sg.create_security_group_rule)["security_group_rule"]
    assert rule["parent_group_id"] == group["id"]
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 22, 22)
    assert rule["ip_range"] == {"cidr": "10.0.0.0/8"} and rule["group"] == {}
    grouped = validate(add_rule(member, parent_group_id=group["id"], ip_protocol="icmp",
                                group_id=other["id"]),
                       tempest_sg.create_security_group_rule)["security_group_rule"]
    assert (grouped["from_port"], grouped["to_port"]) == (-1, -1)
    assert grouped["group"] == {"name": other["name"], "tenant_id": member.project_id}
    assert grouped["ip_range"] == {}
    shown = member.compute("GET", f"/os-security-groups/{group['id']}", version=V).json()
    assert {r["id"] for r in shown["security_group"]["rules"]} == {rule["id"], grouped["id"]}
    neutron_rule = ok(neutron(member, "GET", f"/security-group-rules/{rule['id']}"))
    assert neutron_rule["security_group_rule"]["direction"] == "ingress"
    assert neutron_rule["security_group_rule"]["ethertype"] == "IPv4"
    validate(member.compute("DELETE", f"/os-security-group-rules/{rule['id']}", version=V),
             tempest_sg.delete_security_group_rule)
    assert fault(member.compute("DELETE", f"/os-security-group-rules/{rule['id']}",
                                version=V), 404)


@pytest.mark.parametrize(("rule", "message"), [
    ({"ip_protocol": "tcp", "from_port": 22, "to_port": 21},
     "Invalid port range 22:21. Former value cannot be greater than the later"),
    ({"ip_protocol": "tcp", "from_port": 70000, "to_port": 22},
     "Invalid port range 70000:22. Former value cannot be greater than the later"),
    ({"ip_protocol": "tcp", "from_port": 22, "to_port": 70000},
     "Invalid port range 22:70000. Valid TCP ports should be between 1-65535"),
    ({"ip_protocol": "icmp", "from_port": 256, "to_port": 0},
     "Invalid port range 256:0. For ICMP, the type:code must be valid"),
    ({"ip_protocol": "gre", "from_port": 1, "to_port": 2}, "Invalid IP protocol gre."),
    ({"ip_protocol": "tcp", "from_port": "a", "to_port": 2},
     "Invalid input received: To and From ports must be integers"),
    ({"ip_protocol": "icmp", "from_port": "a", "to_port": 2},
     "Invalid input received: Type and Code must be integers for ICMP protocol type"),
    ({"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "10.0.0.300/8"},
     "10.0.0.300/8 is not a valid IP network."),
    ({"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "10.0.0.0/0"},
     "Bad prefix for network in cidr 10.0.0.0/0"),
    ({"cidr": "10.0.0.0/8"}, "Not enough parameters to build a valid rule."),
])
def test_rule_checks(member: ApiSession, rule: dict[str, Any], message: str,
                     made: Made) -> None:
    group = keep(made, create_group(member))
    assert fault(add_rule(member, parent_group_id=group["id"], **rule), 400) == message


def test_rule_ids_and_duplicates(member: ApiSession, alt: ApiSession,
                                 made: Made) -> None:
    group = keep(made, create_group(member))
    missing = str(uuid.uuid4())
    fault(add_rule(member, parent_group_id="nope", ip_protocol="tcp", from_port=1,
                   to_port=2), 400)
    assert fault(add_rule(member, parent_group_id=missing, ip_protocol="tcp",
                          from_port=1, to_port=2), 404).startswith(
        f"Security group {missing} does not exist")
    assert fault(add_rule(alt, parent_group_id=group["id"], ip_protocol="tcp",
                          from_port=1, to_port=2), 404)
    assert fault(add_rule(member, parent_group_id=group["id"], ip_protocol="tcp",
                          from_port=1, to_port=2, group_id=missing), 404)
    first = add_rule(member, parent_group_id=group["id"], ip_protocol="tcp",
                     from_port=22, to_port=22)
    assert first.status_code == 200, first.text
    assert first.json()["security_group_rule"]["ip_range"] == {"cidr": "0.0.0.0/0"}
    assert fault(add_rule(member, parent_group_id=group["id"], ip_protocol="tcp",
                          from_port=22, to_port=22), 400) == (
        f"This rule already exists in group {group['id']}")
    fault(member.compute("DELETE", "/os-security-group-rules/not-a-uuid", version=V), 400)
    # NOTE: Nova's own check misses a duplicate from a group: Neutron's 409 is its 403.
    grouped = add_rule(member, parent_group_id=group["id"], ip_protocol="tcp",
                       group_id=group["id"])
    assert grouped.status_code == 200, grouped.text
    rule_id = grouped.json()["security_group_rule"]["id"]
    assert fault(add_rule(member, parent_group_id=group["id"], ip_protocol="tcp",
                          group_id=group["id"]), 403).startswith(
        f"Security group rule already exists. Rule id is {rule_id}.")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/os-security-groups"), ("POST", "/os-security-groups"),
    ("GET", f"/os-security-groups/{uuid.UUID(int=1)}"),
    ("PUT", f"/os-security-groups/{uuid.UUID(int=1)}"),
    ("DELETE", f"/os-security-groups/{uuid.UUID(int=1)}"),
    ("POST", "/os-security-group-rules"),
    ("DELETE", f"/os-security-group-rules/{uuid.UUID(int=1)}"),
])
def test_gone_from_2_36(member: ApiSession, method: str, path: str) -> None:
    kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT") else {}
    fault(member.compute(method, path, version="2.36", **kwargs), 404)


def test_over_quota_is_forbidden(admin: ApiSession, alt: ApiSession) -> None:
    """Neutron's ``OverQuota`` (409) is Nova's ``SecurityGroupLimitExceeded``, a 403."""
    count = len(groups(alt))
    rules = ok(neutron(alt, "GET", "/security-group-rules"))["security_group_rules"]
    quota = {"quota": {"security_group": count, "security_group_rule": len(rules)}}
    ok(neutron(admin, "PUT", f"/quotas/{alt.project_id}", json=quota))
    try:
        response = alt.compute("POST", "/os-security-groups", version=V, json={
            "security_group": {"name": "one-too-many", "description": ""}})
        assert fault(response, 403).startswith(
            "Quota exceeded for resources: ['security_group'].\n"
            "Neutron server returns request_ids: ['req-")
        default = next(g for g in groups(alt) if g["name"] == "default")
        assert fault(add_rule(alt, parent_group_id=default["id"], ip_protocol="tcp",
                              from_port=1, to_port=2), 403).startswith(
            "Quota exceeded for resources: ['security_group_rule'].")
    finally:
        neutron(admin, "DELETE", f"/quotas/{alt.project_id}")


def test_group_in_use_is_not_deleted(member: ApiSession, made: Made) -> None:
    """Neutron's ``SecurityGroupInUse`` (409) is Nova's 400."""
    group = keep(made, create_group(member))
    with network_with_subnet(member, cidr="192.168.93.0/24") as (network, _subnet):
        port = create(member, "ports", "port", network_id=network["id"],
                      security_groups=[group["id"]])
        message = fault(member.compute("DELETE", f"/os-security-groups/{group['id']}",
                                       version=V), 400)
        assert message.startswith(f"Security Group {group['id']} in use.")
        delete(member, "ports", port["id"])


def test_neutron_rules_in_novas_words(member: ApiSession, made: Made) -> None:
    """Rules made in Neutron, shown by Nova: egress ones left out, a port-less UDP rule as
    1-65535, a port-less ICMP one as -1, no prefix as ``0.0.0.0/0`` (even for IPv6)."""
    group = keep(made, create_group(member))
    for rule in ({"protocol": "udp"}, {"protocol": "icmp"},
                 {"protocol": "tcp", "ethertype": "IPv6"},
                 {"protocol": "tcp", "direction": "egress", "port_range_min": 80,
                  "port_range_max": 80}):
        create(member, "security-group-rules", "security_group_rule",
               **{"direction": "ingress", "security_group_id": group["id"], **rule})
    shown = member.compute("GET", f"/os-security-groups/{group['id']}", version=V).json()
    rules = {(r["ip_protocol"], r["from_port"], r["to_port"], r["ip_range"]["cidr"])
             for r in shown["security_group"]["rules"]}
    assert rules == {("udp", 1, 65535, "0.0.0.0/0"), ("icmp", -1, -1, "0.0.0.0/0"),
                     ("tcp", 1, 65535, "0.0.0.0/0")}
