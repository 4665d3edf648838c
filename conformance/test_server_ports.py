"""Servers on Neutron ports: a create's ``networks`` (auto, none, networks, ports, fixed IPs)
made or bound as ports, Nova's create-time 400/409s, ``addresses`` from the ports (fixed
and floating), ``os-interface``, the multinic, floating IP and security group actions,
``servers/{id}/os-security-groups``, and what a delete does to the ports."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import interfaces as interfaces_schema
from tempest.lib.api_schema.response.compute.v2_1 import servers as base_schema

from conformance.client import ApiSession
from conformance.network import create, delete, name, network_with_subnet, neutron, ok
from conformance.polling import TIMEOUT
from conformance.schemas import validate
from conformance.test_servers import (  # noqa: F401
    Servers,
    image_id,
    message,
    unique,
    wait_for,
)

UNKNOWN = "8d8d5b5d-1a53-4bd1-a3d3-3e1c7a6a2c9f"


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:  # noqa: F811
    created = Servers(admin, image_id)
    yield created
    created.remove()


@pytest.fixture
def net(member: ApiSession) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    with network_with_subnet(member, cidr="192.168.90.0/24") as made:
        yield made


def ports_of(session: ApiSession, server_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(neutron(session, "GET", "/ports",
                                            params={"device_id": server_id}))["ports"]
    return found


def port(session: ApiSession, port_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(neutron(session, "GET", f"/ports/{port_id}"))["port"]
    return found


def until(done: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(0.05)


def private_id(session: ApiSession) -> str:
    found = ok(neutron(session, "GET", "/networks", params={"name": "private"}))["networks"]
    return str(found[0]["id"])


def action(session: ApiSession, server_id: str, body: dict[str, Any],
           version: str = "2.1") -> Any:
    return session.compute("POST", f"/servers/{server_id}/action", json=body, version=version)


# -- create ----------------------------------------------------------------------------------


def test_auto_makes_a_port_on_private_and_addresses_come_from_it(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    server = servers.boot(member)
    [made] = ports_of(member, server["id"])
    assert made["device_owner"] == f"compute:{server['OS-EXT-AZ:availability_zone']}"
    assert made["status"] == "ACTIVE"
    as_admin = port(admin, made["id"])
    assert as_admin["binding:host_id"] == admin.compute(
        "GET", f"/servers/{server['id']}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    [fixed] = made["fixed_ips"]
    assert server["addresses"] == {"private": [{
        "version": 4, "addr": fixed["ip_address"], "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS-MAC:mac_addr": made["mac_address"]}]}
    ips = member.compute("GET", f"/servers/{server['id']}/ips").json()
    assert ips == {"addresses": {"private": [{"version": 4, "addr": fixed["ip_address"]}]}}
    listed = member.compute("GET", "/servers/detail",
                            params={"ip": fixed["ip_address"].replace(".", r"\.") + "$"})
    assert [s["id"] for s in listed.json()["servers"]] == [server["id"]]


def test_none_makes_no_port(servers: Servers, member: ApiSession) -> None:
    server = servers.boot(member, version="2.37", networks="none")
    assert ports_of(member, server["id"]) == [] and server["addresses"] == {}


def test_a_network_and_a_fixed_ip(servers: Servers, member: ApiSession,
                                  net: tuple[dict[str, Any], dict[str, Any]]) -> None:
    network, subnet = net
    server = servers.boot(member, networks=[{"uuid": network["id"], "fixed_ip": "192.168.90.50"},
                                            {"uuid": network["id"]}])
    addresses = server["addresses"][network["name"]]
    assert addresses[0]["addr"] == "192.168.90.50"
    assert len(addresses) == 2  # duplicate networks are allowed: two ports
    found = ports_of(member, server["id"])
    assert {p["fixed_ips"][0]["subnet_id"] for p in found} == {subnet["id"]}


def test_a_users_port_is_bound_then_unbound_on_delete(
        servers: Servers, member: ApiSession, net: tuple[dict[str, Any], dict[str, Any]]) -> None:
    network, _ = net
    mine = create(member, "ports", "port", network_id=network["id"], name=name("p"))
    server = servers.boot(member, networks=[{"port": mine["id"]}, {"uuid": network["id"]}])
    bound = port(member, mine["id"])
    assert bound["device_id"] == server["id"]
    assert bound["device_owner"].startswith("compute:")
    [other] = [p for p in ports_of(member, server["id"]) if p["id"] != mine["id"]]
    assert server["addresses"][network["name"]][0]["OS-EXT-IPS-MAC:mac_addr"] == \
        mine["mac_address"]
    servers.remove()
    left = port(member, mine["id"])
    assert (left["device_id"], left["device_owner"]) == ("", "")
    assert neutron(member, "GET", f"/ports/{other['id']}").status_code == 404


@pytest.mark.parametrize("networks, status, text", [
    ([{"uuid": UNKNOWN}], 400, f"Network {UNKNOWN} could not be found."),
    ([{"port": UNKNOWN}], 400, f"Port id {UNKNOWN} could not be found."),
])
def test_unknown_networks_and_ports_are_400s(
        servers: Servers, member: ApiSession, networks: list[dict[str, str]], status: int,
        text: str) -> None:
    response = servers.post(member, servers.body(networks=networks))
    assert response.status_code == status and message(response) == text


def test_create_time_checks_of_ports_and_fixed_ips(
        servers: Servers, member: ApiSession, net: tuple[dict[str, Any], dict[str, Any]]) -> None:
    network, _ = net
    busy = create(member, "ports", "port", network_id=network["id"], device_id="elsewhere")
    response = servers.post(member, servers.body(networks=[{"port": busy["id"]}]))
    assert response.status_code == 409
    assert message(response) == f"Port {busy['id']} is still in use."
    bare = create(member, "ports", "port", network_id=network["id"], fixed_ips=[])
    response = servers.post(member, servers.body(networks=[{"port": bare["id"]}]))
    assert response.status_code == 400
    assert message(response) == f"Port {bare['id']} requires a FixedIP in order to be used."
    taken = busy["fixed_ips"][0]["ip_address"]
    response = servers.post(member, servers.body(
        networks=[{"uuid": network["id"], "fixed_ip": taken}]))
    assert response.status_code == 400
    assert message(response) == \
        f"Fixed IP address {taken} is already in use on instance elsewhere."
    response = servers.post(member, servers.body(
        networks=[{"uuid": network["id"], "fixed_ip": "10.9.9.9"}]))
    assert response.status_code == 202  # Nova finds out at the build
    failed = wait_for(member, response.json()["server"]["id"], "ERROR")
    assert "10.9.9.9" in failed["fault"]["message"]
    mine = create(member, "ports", "port", network_id=network["id"])
    response = servers.post(member, servers.body(networks=[{"port": mine["id"]}],
                                                 max_count=2))
    assert response.status_code == 400
    assert "single configured port ID" in message(response)


def test_no_network_with_two_to_choose_from_is_a_409(
        servers: Servers, member: ApiSession, net: tuple[dict[str, Any], dict[str, Any]]) -> None:
    response = servers.post(member, servers.body())
    assert response.status_code == 409
    assert message(response) == ("Multiple possible networks found, use a Network ID to be "
                                 "more specific.")


def test_security_groups_by_name_or_id(servers: Servers, member: ApiSession) -> None:
    group = create(member, "security-groups", "security_group", name=unique("sg"))
    try:
        response = servers.post(member, servers.body(security_groups=[{"name": "nope"}]))
        assert response.status_code == 400
        assert message(response) == "Security group nope not found."
        server = servers.boot(member, security_groups=[{"name": group["name"]}])
        [made] = ports_of(member, server["id"])
        assert made["security_groups"] == [group["id"]]
        listed = member.compute("GET", f"/servers/{server['id']}/os-security-groups").json()
        assert [g["name"] for g in listed["security_groups"]] == [group["name"]]
        servers.remove()
    finally:
        delete(member, "security-groups", group["id"])


# -- actions -------------------------------------------------------------------------------


def test_add_and_remove_security_group(servers: Servers, member: ApiSession) -> None:
    group = create(member, "security-groups", "security_group", name=unique("sg"))
    try:
        server = servers.boot(member)
        sid = server["id"]
        assert action(member, sid, {"addSecurityGroup": {"name": group["name"]}}) \
            .status_code == 202
        [made] = ports_of(member, sid)
        assert group["id"] in made["security_groups"]
        shown = member.compute("GET", f"/servers/{sid}").json()["server"]
        assert {"name": group["name"]} in shown["security_groups"]
        groups = member.compute("GET", f"/servers/{sid}/os-security-groups").json()
        assert {g["name"] for g in groups["security_groups"]} == {"default", group["name"]}
        default = next(g for g in groups["security_groups"] if g["name"] == "default")
        assert default["tenant_id"] == member.project_id and default["rules"]
        response = action(member, sid, {"addSecurityGroup": {"name": "nope"}})
        assert response.status_code == 404
        assert message(response) == \
            f"Security group nope is not found for project {member.project_id}"
        assert action(member, sid, {"removeSecurityGroup": {"name": group["name"]}}) \
            .status_code == 202
        response = action(member, sid, {"removeSecurityGroup": {"name": group["name"]}})
        assert response.status_code == 404
        assert message(response) == (f"Security group {group['name']} not associated with "
                                     f"the instance {sid}")
        servers.remove()
    finally:
        delete(member, "security-groups", group["id"])


def _floating_ip(session: ApiSession) -> dict[str, Any]:
    public = ok(neutron(session, "GET", "/networks",
                        params={"router:external": "true"}))["networks"][0]
    return create(session, "floatingips", "floatingip", floating_network_id=public["id"])


def test_add_and_remove_floating_ip(servers: Servers, member: ApiSession) -> None:
    server = servers.boot(member)
    sid = server["id"]
    fip = _floating_ip(member)
    try:
        address = fip["floating_ip_address"]
        assert action(member, sid, {"addFloatingIp": {"address": address}}).status_code == 202
        shown = member.compute("GET", f"/servers/{sid}").json()["server"]
        [fixed, floating] = shown["addresses"]["private"]
        assert floating == {"version": 4, "addr": address, "OS-EXT-IPS:type": "floating",
                            "OS-EXT-IPS-MAC:mac_addr": fixed["OS-EXT-IPS-MAC:mac_addr"]}
        assert ok(neutron(member, "GET", f"/floatingips/{fip['id']}"))["floatingip"][
            "fixed_ip_address"] == fixed["addr"]
        response = action(member, sid, {"addFloatingIp": {"address": address,
                                                          "fixed_address": "10.1.2.3"}})
        assert response.status_code == 400
        assert message(response) == "Specified fixed address not assigned to instance"
        response = action(member, sid, {"addFloatingIp": {"address": "172.24.4.254"}})
        assert response.status_code == 404 and message(response) == "floating IP not found"
        assert action(member, sid, {"addFloatingIp": {"address": address}},
                      version="2.44").status_code == 404
        assert action(member, sid, {"removeFloatingIp": {"address": address}}) \
            .status_code == 202
        response = action(member, sid, {"removeFloatingIp": {"address": address}})
        assert response.status_code == 409
        assert message(response) == \
            f"Floating IP {address} is not associated with instance {sid}."
        action(member, sid, {"addFloatingIp": {"address": address}})
        servers.remove()
        # The server's port went; its floating IP stays, let go.
        left = ok(neutron(member, "GET", f"/floatingips/{fip['id']}"))["floatingip"]
        assert left["port_id"] is None and left["fixed_ip_address"] is None
    finally:
        delete(member, "floatingips", fip["id"])


def test_a_floating_ip_added_to_another_server_moves(servers: Servers,
                                                    member: ApiSession) -> None:
    """Nova's ``associate_floating_ip``: an address another server holds moves, and the
    server it left no longer shows it."""
    first, second = servers.boot(member)["id"], servers.boot(member)["id"]
    fip = _floating_ip(member)
    try:
        address = fip["floating_ip_address"]
        for sid in (first, second):
            assert action(member, sid, {"addFloatingIp": {"address": address}}) \
                .status_code == 202

        def floating(sid: str) -> list[str]:
            shown = member.compute("GET", f"/servers/{sid}").json()["server"]
            return [a["addr"] for a in shown["addresses"]["private"]
                    if a["OS-EXT-IPS:type"] == "floating"]

        assert (floating(first), floating(second)) == ([], [address])
    finally:
        delete(member, "floatingips", fip["id"])


def test_neutrons_own_changes_reach_the_server_as_nova_refreshes_them(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    """Neutron's network-changed event: a floating IP associated through Neutron's API
    shows in the server's addresses, and a fixed IP changed there is what the ``ip``
    filter finds (which, as Nova's, never matches a floating address)."""
    server = servers.boot(member)
    sid = server["id"]
    [port_] = ports_of(member, sid)
    fip = _floating_ip(member)
    try:
        address = fip["floating_ip_address"]
        ok(neutron(member, "PUT", f"/floatingips/{fip['id']}",
                   json={"floatingip": {"port_id": port_["id"]}}))
        shown = member.compute("GET", f"/servers/{sid}").json()["server"]
        assert {"floating", "fixed"} == {a["OS-EXT-IPS:type"]
                                         for a in shown["addresses"]["private"]}

        def found(ip: str) -> list[str]:
            listed = member.compute("GET", "/servers", params={"ip": f"^{ip}$"})
            return [s["id"] for s in listed.json()["servers"]]

        assert found(address) == []
        subnet_id = port_["fixed_ips"][0]["subnet_id"]
        # (an address of one's choosing on the shared network: the admin's to give)
        ok(neutron(admin, "PUT", f"/ports/{port_['id']}", json={"port": {
            "fixed_ips": [{"subnet_id": subnet_id, "ip_address": "10.0.250.77"}]}}))
        assert found("10.0.250.77") == [sid]
        assert found(port_["fixed_ips"][0]["ip_address"]) == []
        ok(neutron(member, "PUT", f"/floatingips/{fip['id']}",
                   json={"floatingip": {"port_id": None}}))
        shown = member.compute("GET", f"/servers/{sid}").json()["server"]
        assert [a["addr"] for a in shown["addresses"]["private"]] == ["10.0.250.77"]
    finally:
        delete(member, "floatingips", fip["id"])


def test_add_and_remove_fixed_ip(servers: Servers, member: ApiSession,
                                 net: tuple[dict[str, Any], dict[str, Any]]) -> None:
    network, _ = net
    server = servers.boot(member, networks=[{"uuid": network["id"]}])
    sid = server["id"]
    assert action(member, sid, {"addFixedIp": {"networkId": network["id"]}}).status_code == 202
    shown = member.compute("GET", f"/servers/{sid}").json()["server"]
    addresses = [a["addr"] for a in shown["addresses"][network["name"]]]
    assert len(addresses) == 2
    response = action(member, sid, {"addFixedIp": {"networkId": UNKNOWN}})
    assert response.status_code == 400
    assert message(response) == f"Network could not be found for instance {sid}."
    assert action(member, sid, {"removeFixedIp": {"address": addresses[1]}}).status_code == 202
    shown = member.compute("GET", f"/servers/{sid}").json()["server"]
    assert [a["addr"] for a in shown["addresses"][network["name"]]] == addresses[:1]
    response = action(member, sid, {"removeFixedIp": {"address": "10.200.0.1"}})
    assert response.status_code == 400
    assert message(response) == f"Instance {sid} doesn't have fixed IP '10.200.0.1'."
    # A locked server refuses them; neither is an instance action.
    assert action(member, sid, {"lock": None}).status_code == 202
    response = action(member, sid, {"addFixedIp": {"networkId": network["id"]}})
    assert response.status_code == 409 and message(response) == f"Instance {sid} is locked"
    assert action(member, sid, {"unlock": None}).status_code == 202
    actions = member.compute("GET", f"/servers/{sid}/os-instance-actions").json()
    assert {a["action"] for a in actions["instanceActions"]} == {"create", "lock", "unlock"}


# -- os-interface ----------------------------------------------------------------------------


def booted_guest(servers: Servers, member: ApiSession, backend: str) -> dict[str, Any]:
    """A server on ``private`` whose guest has booted: on QEMU the free guest, which only
    then answers the hot-plug events of a detach (Tempest waits for SSH for the same
    reason)."""
    if backend != "qemu":
        return servers.boot(member, networks=[{"uuid": private_id(member)}])
    images = member.compute("GET", "/images").json()["images"]
    server = servers.boot(member, networks=[{"uuid": private_id(member)}], imageRef=next(
        i["id"] for i in images if i["name"].startswith("nova-emulator-guest")))
    until(lambda: "GUEST-READY" in member.compute(
        "POST", f"/servers/{server['id']}/action",
        json={"os-getConsoleOutput": {}}).json()["output"])
    return server


def test_interfaces_list_attach_show_detach(
        servers: Servers, member: ApiSession, net: tuple[dict[str, Any], dict[str, Any]],
        target: Any) -> None:
    network, subnet = net
    server = booted_guest(servers, member, target.backend)
    sid, base = server["id"], f"/servers/{server['id']}/os-interface"
    listed = member.compute("GET", base)
    validate(listed, interfaces_schema.list_interfaces)
    [first] = listed.json()["interfaceAttachments"]
    assert first["net_id"] and first["port_state"] == "ACTIVE"
    attached = member.compute("POST", base, json={"interfaceAttachment": {
        "net_id": network["id"], "fixed_ips": [{"ip_address": "192.168.90.77"}]}})
    assert attached.status_code == 200, attached.text
    made = attached.json()["interfaceAttachment"]
    assert made["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "192.168.90.77"}]
    shown = member.compute("GET", f"{base}/{made['port_id']}")
    validate(shown, interfaces_schema.get_create_interfaces)
    assert shown.json()["interfaceAttachment"] == made
    server = member.compute("GET", f"/servers/{sid}").json()["server"]
    assert [a["addr"] for a in server["addresses"][network["name"]]] == ["192.168.90.77"]
    taken = member.compute("POST", base, json={"interfaceAttachment": {
        "net_id": network["id"], "fixed_ips": [{"ip_address": "192.168.90.77"}]}})
    assert taken.status_code == 409
    assert message(taken) == "Fixed IP 192.168.90.77 is already in use."
    unknown = member.compute("POST", base, json={"interfaceAttachment": {"net_id": UNKNOWN}})
    assert unknown.status_code == 404
    assert message(unknown) == f"Network {UNKNOWN} could not be found."
    ambiguous = member.compute("POST", base, json={"interfaceAttachment": {}})
    assert ambiguous.status_code == 400
    assert message(ambiguous) == ("Multiple possible networks found, use a Network ID to be "
                                  "more specific.")
    mine = create(member, "ports", "port", network_id=network["id"])
    by_port = member.compute("POST", base, json={"interfaceAttachment": {
        "port_id": mine["id"], "tag": "nic-b"}}, version="2.70")
    assert by_port.json()["interfaceAttachment"]["tag"] == "nic-b"
    tagged = member.compute("GET", base, version="2.70").json()["interfaceAttachments"]
    assert {i["port_id"]: i["tag"] for i in tagged} == {
        first["port_id"]: None, made["port_id"]: None, mine["id"]: "nic-b"}
    assert "tag" not in member.compute("GET", f"{base}/{mine['id']}", version="2.69").json()[
        "interfaceAttachment"]
    assert len(member.compute("GET", base).json()["interfaceAttachments"]) == 3
    again = member.compute("POST", base, json={"interfaceAttachment": {"port_id": mine["id"]}})
    assert again.status_code == 409
    # A detach is acknowledged (Nova's cast), then done.
    assert member.compute("DELETE", f"{base}/{made['port_id']}").status_code == 202
    until(lambda: neutron(member, "GET", f"/ports/{made['port_id']}").status_code == 404)
    assert member.compute("DELETE", f"{base}/{mine['id']}").status_code == 202
    until(lambda: port(member, mine["id"])["device_id"] == "")
    assert member.compute("GET", f"{base}/{mine['id']}").status_code == 404
    # The port the server booted with can go too.
    assert member.compute("DELETE", f"{base}/{first['port_id']}").status_code == 202
    until(lambda: member.compute("GET", base).json()["interfaceAttachments"] == [])
    assert member.compute("GET", f"/servers/{sid}").json()["server"]["addresses"] == {}
    actions = member.compute("GET", f"/servers/{sid}/os-instance-actions").json()
    assert {"attach_interface", "detach_interface"} <= \
        {a["action"] for a in actions["instanceActions"]}
    # Only ACTIVE, PAUSED and STOPPED servers take interfaces.
    assert action(member, sid, {"suspend": None}).status_code == 202
    wait_for(member, sid, "SUSPENDED")
    refused = member.compute("POST", base, json={"interfaceAttachment": {}})
    assert refused.status_code == 409
    assert message(refused) == (f"Cannot 'attach_interface' instance {sid} while it is in "
                                "vm_state suspended")


def test_a_port_deleted_through_neutron_leaves_the_server_and_its_guest(
        servers: Servers, member: ApiSession, net: tuple[dict[str, Any], dict[str, Any]],
        target: Any) -> None:
    """Neutron's ``network-vif-deleted``: the server's interfaces and addresses lose the
    port, and its guest the NIC (both guests print the hot-plug event). A port unbound
    through Neutron leaves the interfaces too (Nova's cache heal), its NIC staying."""
    network, _ = net
    server = booted_guest(servers, member, target.backend)
    sid, base = server["id"], f"/servers/{server['id']}/os-interface"

    def console() -> str:
        return str(action(member, sid, {"os-getConsoleOutput": {}}).json()["output"])

    nics: dict[str, tuple[dict[str, Any], str]] = {}
    for which in ("mine", "unbound"):
        made = create(member, "ports", "port", network_id=network["id"])
        attached = member.compute("POST", base, json={"interfaceAttachment": {
            "port_id": made["id"]}})
        assert attached.status_code == 200, attached.text
        until(lambda m=made: f"added mac={m['mac_address']}" in console())
        nics[which] = (made, next(line.split()[1] for line in console().splitlines()
                                 if line.startswith("GUEST-NET") and made["mac_address"] in line))
    (mine, nic), (unbound, unbound_nic) = nics["mine"], nics["unbound"]
    ok(neutron(member, "PUT", f"/ports/{unbound['id']}", json={"port": {"device_id": ""}}))
    assert unbound["id"] not in [i["port_id"] for i in member.compute("GET", base).json()[
        "interfaceAttachments"]]
    address = mine["fixed_ips"][0]["ip_address"]
    shown = member.compute("GET", f"/servers/{sid}").json()["server"]
    assert address in [a["addr"] for a in shown["addresses"][network["name"]]]

    assert neutron(member, "DELETE", f"/ports/{mine['id']}").status_code == 204
    listed = member.compute("GET", base).json()["interfaceAttachments"]
    assert [i["port_id"] for i in listed] != [] and mine["id"] not in \
        [i["port_id"] for i in listed]
    assert network["name"] not in member.compute("GET", f"/servers/{sid}").json()["server"][
        "addresses"]
    assert member.compute("GET", f"{base}/{mine['id']}").status_code == 404
    until(lambda: f"GUEST-NET {nic} removed" in console())
    assert f"GUEST-NET {unbound_nic} removed" not in console()


def test_server_views_validate_with_ports(servers: Servers, member: ApiSession) -> None:
    server = servers.boot(member)
    response = member.compute("GET", f"/servers/{server['id']}")
    validate(response, base_schema.get_server)


def test_ports_stay_through_shelve_offload_and_unshelve(
        servers: Servers, member: ApiSession, admin: ApiSession) -> None:
    server = servers.boot(member, networks=[{"uuid": private_id(member)}])
    sid = server["id"]
    [before] = ports_of(member, sid)
    assert port(admin, before["id"])["binding:host_id"]
    assert action(member, sid, {"shelve": None}).status_code == 202
    wait_for(member, sid, "SHELVED_OFFLOADED")
    [offloaded] = ports_of(member, sid)
    assert offloaded["id"] == before["id"] and offloaded["fixed_ips"] == before["fixed_ips"]
    assert port(admin, before["id"])["binding:host_id"] == ""
    assert action(member, sid, {"unshelve": None}).status_code == 202
    wait_for(member, sid, "ACTIVE")
    host = admin.compute("GET", f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    assert port(admin, before["id"])["binding:host_id"] == host
    shown = member.compute("GET", f"/servers/{sid}").json()["server"]
    assert shown["addresses"]["private"][0]["addr"] == before["fixed_ips"][0]["ip_address"]


def test_the_port_quota_cuts_a_multi_create(servers: Servers, member: ApiSession,
                                            admin: ApiSession) -> None:
    project = member.project_id
    held = ok(neutron(admin, "GET", f"/quotas/{project}/details"))["quota"]["port"]["used"]
    ok(neutron(admin, "PUT", f"/quotas/{project}", json={"quota": {"port": held + 1}}))
    try:
        response = servers.post(member, servers.body(min_count=2, max_count=2))
        assert response.status_code == 403
        assert message(response) == "Maximum number of ports exceeded"
        name = unique("cut")
        response = servers.post(member, servers.body(name=name, min_count=1, max_count=3,
                                                     return_reservation_id=True))
        assert response.status_code == 202, response.text
        listed = member.compute("GET", "/servers",
                                params={"reservation_id": response.json()["reservation_id"]})
        assert len(listed.json()["servers"]) == 1
    finally:
        assert neutron(admin, "DELETE", f"/quotas/{project}").status_code == 204


def test_a_networks_tag_is_the_interfaces(servers: Servers, member: ApiSession) -> None:
    server = servers.boot(member, version="2.42",
                          networks=[{"uuid": private_id(member), "tag": "boot-nic"}])
    listed = member.compute("GET", f"/servers/{server['id']}/os-interface", version="2.70")
    assert [i["tag"] for i in listed.json()["interfaceAttachments"]] == ["boot-nic"]
