"""Real clients on servers' ports: openstacksdk's ``create_server(auto_ip=True)`` (a floating
IP on the external network, found through the server's port), and the ``openstack`` CLI's
``server create --nic``, ``server add/remove port``, ``fixed ip``, ``floating ip`` and
``security group``. CLI calls cost about two seconds each: few, each doing much."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.cli import openstack_json, run_openstack
from conformance.client import ApiSession
from conformance.network import create, delete, name, network_with_subnet, neutron, ok
from conformance.test_server_clients import cleanup, image, unique  # noqa: F401
from conformance.test_server_ports import ports_of, until


@pytest.fixture
def net(member: ApiSession) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    with network_with_subnet(member, cidr="192.168.91.0/24") as made:
        yield made


def addresses(session: ApiSession, server_id: str) -> dict[str, list[dict[str, Any]]]:
    shown: dict[str, list[dict[str, Any]]] = session.compute(
        "GET", f"/servers/{server_id}").json()["server"]["addresses"]
    return shown


def cli(session: ApiSession, *args: str) -> None:
    result = run_openstack(session.account, *args)
    assert result.returncode == 0, result.stderr


def test_sdk_auto_ip_gets_a_floating_ip(conn: Any, member: ApiSession,
                                        image: dict[str, Any],  # noqa: F811
                                        cleanup: list[str]) -> None:  # noqa: F811
    server_name = unique("autoip")
    cleanup.append(server_name)
    private = ok(neutron(member, "GET", "/networks", params={"name": "private"}))["networks"]
    server = conn.create_server(server_name, image=image["id"], flavor="m1.tiny",
                                network=private[0]["id"], auto_ip=True, wait=True,
                                timeout=60)
    floating = [a["addr"] for a in addresses(member, server.id)["private"]
                if a["OS-EXT-IPS:type"] == "floating"]
    public = ok(neutron(member, "GET", "/subnets", params={"name": "public-subnet"}))["subnets"]
    assert len(floating) == 1
    assert ipaddress.ip_address(floating[0]) in ipaddress.ip_network(public[0]["cidr"])
    assert conn.get_server(server.id).public_v4 == floating[0]
    fips = ok(neutron(member, "GET", "/floatingips",
                      params={"floating_ip_address": floating[0]}))["floatingips"]
    [port] = ports_of(member, server.id)
    assert fips[0]["port_id"] == port["id"]
    conn.delete_server(server.id, wait=True, delete_ips=True, timeout=60)
    assert ok(neutron(member, "GET", "/floatingips",
                      params={"floating_ip_address": floating[0]}))["floatingips"] == []


def test_cli_nics_ports_fixed_and_floating_ips_and_security_groups(
        member: ApiSession, image: dict[str, Any], cleanup: list[str],  # noqa: F811
        net: tuple[dict[str, Any], dict[str, Any]], target: Any) -> None:
    network, _ = net
    # On QEMU the free guest, booted, so that it answers a detach's hot-unplug.
    image_name = image["name"] if target.backend != "qemu" else next(
        i["name"] for i in member.compute("GET", "/images").json()["images"]
        if i["name"].startswith("nova-emulator-guest"))
    mine = create(member, "ports", "port", network_id=network["id"], name=name("cli"))
    extra = create(member, "ports", "port", network_id=network["id"], name=name("cli"))
    group = create(member, "security-groups", "security_group", name=unique("sg"))
    public = ok(neutron(member, "GET", "/networks",
                        params={"router:external": "true"}))["networks"][0]
    fip = create(member, "floatingips", "floatingip", floating_network_id=public["id"])
    server_name = unique("nic")
    cleanup.append(server_name)
    try:
        created = openstack_json(
            member.account, "server", "create", "--image", image_name, "--flavor",
            "m1.tiny", "--nic", f"port-id={mine['id']}", "--nic", "net-id=" + ok(neutron(
                member, "GET", "/networks", params={"name": "private"}))["networks"][0]["id"],
            "--wait", server_name)
        sid = created["id"]
        if target.backend == "qemu":
            until(lambda: "GUEST-READY" in member.compute(
                "POST", f"/servers/{sid}/action",
                json={"os-getConsoleOutput": {}}).json()["output"])
        assert {p["id"] for p in ports_of(member, sid)} >= {mine["id"]}
        assert set(addresses(member, sid)) == {network["name"], "private"}

        cli(member, "server", "add", "port", sid, extra["id"])
        assert extra["id"] in {p["id"] for p in ports_of(member, sid)}
        cli(member, "server", "remove", "port", sid, extra["id"])
        until(lambda: extra["id"] not in {p["id"] for p in ports_of(member, sid)})

        cli(member, "server", "add", "fixed", "ip", "--fixed-ip-address", "192.168.91.123",
            sid, network["id"])
        assert "192.168.91.123" in [a["addr"] for a in addresses(member, sid)[network["name"]]]
        # NOTE: removeFixedIp ends at 2.43 (Nova's multinic), and the SDK asks for its
        # newest microversion unless told otherwise.
        cli(member, "--os-compute-api-version", "2.43", "server", "remove", "fixed", "ip",
            sid, "192.168.91.123")
        assert "192.168.91.123" not in [a["addr"]
                                        for a in addresses(member, sid)[network["name"]]]

        address = fip["floating_ip_address"]
        # The interface ``add fixed ip`` made has no address left: it goes.
        [bare] = [p["id"] for p in ports_of(member, sid) if not p["fixed_ips"]]
        cli(member, "server", "remove", "port", sid, bare)
        until(lambda: bare not in {p["id"] for p in ports_of(member, sid)})
        cli(member, "server", "add", "floating", "ip", sid, address)
        floating = [a["addr"] for net_addresses in addresses(member, sid).values()
                    for a in net_addresses if a["OS-EXT-IPS:type"] == "floating"]
        assert floating == [address]
        cli(member, "server", "remove", "floating", "ip", sid, address)
        assert ok(neutron(member, "GET", f"/floatingips/{fip['id']}"))["floatingip"][
            "port_id"] is None

        cli(member, "server", "add", "security", "group", sid, group["name"])
        assert all(group["id"] in p["security_groups"] for p in ports_of(member, sid))
        cli(member, "server", "remove", "security", "group", sid, group["name"])
        assert all(group["id"] not in p["security_groups"] for p in ports_of(member, sid))

        cli(member, "server", "delete", "--wait", sid)
        left = ok(neutron(member, "GET", f"/ports/{mine['id']}"))["port"]
        assert left["device_id"] == ""
    finally:
        delete(member, "floatingips", fip["id"])
        delete(member, "security-groups", group["id"])
