"""The real clients against the Network API: the ``openstack`` CLI's network, subnet,
port, router, security group, security group rule and floating ip commands, and
openstacksdk's ``conn.network`` proxy, each going through its own discovery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.network import name, public_prefix


def ok_cli(session: ApiSession, *args: str) -> None:
    result = run_openstack(session.account, *args)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def names() -> dict[str, str]:
    return {kind: name(f"cli-{kind}") for kind in ("net", "subnet", "port", "router", "sg")}


def test_cli_network_subnet_port_router_floating_ip(member: ApiSession,
                                                    names: dict[str, str]) -> None:
    account = member.account
    network = openstack_json(account, "network", "create", names["net"])
    assert network["name"] == names["net"] and network["status"] == "ACTIVE"
    try:
        subnet = openstack_json(account, "subnet", "create", "--network", names["net"],
                                "--subnet-range", "192.168.150.0/24", names["subnet"])
        assert subnet["gateway_ip"] == "192.168.150.1"
        listed = openstack_json(account, "subnet", "list", "--network", names["net"])
        assert [s["Name"] for s in listed] == [names["subnet"]]
        port = openstack_json(account, "port", "create", "--network", names["net"],
                              "--fixed-ip", f"subnet={names['subnet']},"
                              "ip-address=192.168.150.10", names["port"])
        assert port["fixed_ips"][0]["ip_address"] == "192.168.150.10"
        shown = openstack_json(account, "port", "show", names["port"])
        assert shown["id"] == port["id"]
        router = openstack_json(account, "router", "create", "--external-gateway", "public",
                                names["router"])
        assert router["external_gateway_info"]["network_id"]
        ok_cli(member, "router", "add", "subnet", names["router"], names["subnet"])
        fip = openstack_json(account, "floating", "ip", "create", "--port", names["port"],
                             "public")
        assert fip["fixed_ip_address"] == "192.168.150.10"
        assert fip["floating_ip_address"].startswith(public_prefix(member))
        listed_fips = openstack_json(account, "floating", "ip", "list")
        assert fip["id"] in {f["ID"] for f in listed_fips}
        shown_fip = openstack_json(account, "floating", "ip", "show",
                                   fip["floating_ip_address"])
        assert shown_fip["port_id"] == port["id"]
        ok_cli(member, "floating", "ip", "delete", fip["id"])
        ok_cli(member, "router", "remove", "subnet", names["router"], names["subnet"])
        ok_cli(member, "router", "delete", names["router"])
        ok_cli(member, "port", "delete", names["port"])
        ok_cli(member, "subnet", "delete", names["subnet"])
        networks = openstack_json(account, "network", "list")
        assert names["net"] in {n["Name"] for n in networks}
        assert {"public", "private"} <= {n["Name"] for n in networks}
    finally:
        run_openstack(account, "network", "delete", names["net"])
    gone = run_openstack(account, "network", "show", names["net"])
    assert gone.returncode != 0


def test_cli_security_groups(member: ApiSession, names: dict[str, str]) -> None:
    account = member.account
    group = openstack_json(account, "security", "group", "create", names["sg"],
                           "--description", "web")
    try:
        rule = openstack_json(account, "security", "group", "rule", "create", "--protocol",
                              "tcp", "--dst-port", "22", "--remote-ip", "0.0.0.0/0",
                              names["sg"])
        assert (rule["port_range_min"], rule["port_range_max"], rule["protocol"]) == \
            (22, 22, "tcp")
        rules = openstack_json(account, "security", "group", "rule", "list", names["sg"])
        assert len(rules) == 3
        duplicate = run_openstack(account, "security", "group", "rule", "create",
                                  "--protocol", "tcp", "--dst-port", "22", names["sg"])
        assert duplicate.returncode != 0 and "already exists" in duplicate.stderr
        shown = openstack_json(account, "security", "group", "show", group["id"])
        assert shown["description"] == "web"
        groups = openstack_json(account, "security", "group", "list")
        assert {"default", names["sg"]} <= {g["Name"] for g in groups}
        ok_cli(member, "security", "group", "rule", "delete", rule["id"])
        default = run_openstack(account, "security", "group", "delete", "default")
        assert default.returncode != 0
    finally:
        run_openstack(account, "security", "group", "delete", names["sg"])


@pytest.fixture
def sdk(member: ApiSession) -> Iterator[Any]:
    import openstack

    conn = openstack.connect(**member.account.sdk_kwargs())
    yield conn
    conn.close()


def test_sdk_network_proxy(sdk: Any) -> None:
    network = sdk.network.create_network(name=name("sdk"))
    try:
        assert sdk.network.get_network(network.id).name == network.name
        assert sdk.network.find_network(network.name).id == network.id
        subnet = sdk.network.create_subnet(network_id=network.id, ip_version=4,
                                           cidr="192.168.160.0/24")
        assert subnet.gateway_ip == "192.168.160.1"
        port = sdk.network.create_port(network_id=network.id)
        assert port.fixed_ips[0]["ip_address"] == "192.168.160.2"
        assert [p.id for p in sdk.network.ports(network_id=network.id)] == [port.id]
        public = sdk.network.find_network("public")
        assert public.is_router_external
        router = sdk.network.create_router(name=name("sdk"),
                                           external_gateway_info={"network_id": public.id})
        sdk.network.add_interface_to_router(router, subnet_id=subnet.id)
        fip = sdk.network.create_ip(floating_network_id=public.id, port_id=port.id)
        assert fip.fixed_ip_address == "192.168.160.2" and fip.status == "ACTIVE"
        sdk.network.update_ip(fip, port_id=None)
        assert sdk.network.get_ip(fip.id).port_id is None
        sdk.network.delete_ip(fip)
        sdk.network.remove_interface_from_router(router, subnet_id=subnet.id)
        sdk.network.delete_router(router)
        sdk.network.delete_port(port)
        group = sdk.network.create_security_group(name=name("sdk"))
        rule = sdk.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="icmp",
            ethertype="IPv4")
        assert rule.protocol == "icmp"
        sdk.network.delete_security_group(group)
        sdk.network.set_tags(network, ["a", "b"])
        assert sorted(sdk.network.get_network(network.id).tags) == ["a", "b"]
        assert sdk.network.find_extension("router") is not None
        quota = sdk.network.get_quota(sdk.current_project_id)
        assert quota.networks == 100
    finally:
        for port in sdk.network.ports(network_id=network.id):
            sdk.network.delete_port(port)
        sdk.network.delete_network(network, ignore_missing=True)


def test_sdk_cloud_layer(sdk: Any) -> None:
    """The cloud layer's view of networks (what ``create_server`` consults)."""
    external = {n["name"] for n in sdk.get_external_ipv4_networks()}
    internal = {n["name"] for n in sdk.get_internal_ipv4_networks()}
    assert "public" in external and "private" in internal
    assert sdk.search_ports(filters={"device_id": "no-such-server"}) == []
    assert any(g["name"] == "default" for g in sdk.list_security_groups())
