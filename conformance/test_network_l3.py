"""Routers, floating IPs, the auto-allocated topology and quotas: a router with a gateway
on the external network and an interface on a subnet, a floating IP from the external
network's pool associated with a port behind it (and refused without such a router),
disassociated, and released; per-project quotas, enforced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.client import ApiSession
from conformance.network import (
    FLOATING_IP_KEYS,
    ROUTER_KEYS,
    create,
    delete,
    name,
    network_with_subnet,
    neutron,
    neutron_error,
    ok,
    public_prefix,
)


def _public(session: ApiSession) -> dict[str, Any]:
    networks = ok(neutron(session, "GET", "/networks",
                          params={"router:external": "True"}))["networks"]
    assert networks, "no external network"
    return networks[0]  # type: ignore[no-any-return]


@pytest.fixture
def routed(member: ApiSession) -> Iterator[dict[str, Any]]:
    """A network, subnet and port of the member's, and a router joining the subnet to the
    external network."""
    with network_with_subnet(member, "192.168.100.0/24") as (network, subnet):
        router = create(member, "routers", "router", name=name("r"),
                        external_gateway_info={"network_id": _public(member)["id"]})
        port = create(member, "ports", "port", network_id=network["id"])
        try:
            yield {"network": network, "subnet": subnet, "router": router, "port": port}
        finally:
            for fip in ok(neutron(member, "GET", "/floatingips"))["floatingips"]:
                delete(member, "floatingips", fip["id"])
            neutron(member, "PUT", f"/routers/{router['id']}/remove_router_interface",
                    json={"subnet_id": subnet["id"]})
            delete(member, "routers", router["id"])


def test_router_with_gateway(member: ApiSession, admin: ApiSession) -> None:
    public = _public(member)
    router = create(member, "routers", "router", name=name("gw"),
                    external_gateway_info={"network_id": public["id"]})
    try:
        assert set(router) >= ROUTER_KEYS
        info = router["external_gateway_info"]
        assert info["network_id"] == public["id"] and info["enable_snat"] is True
        [fixed] = info["external_fixed_ips"]
        assert fixed["ip_address"].startswith(public_prefix(member))
        snat = neutron(member, "PUT", f"/routers/{router['id']}", json={"router": {
            "external_gateway_info": {"network_id": public["id"], "enable_snat": False}}})
        neutron_error(snat, 403, "PolicyNotAuthorized")
        cleared = ok(neutron(member, "PUT", f"/routers/{router['id']}", json={"router": {
            "external_gateway_info": {}}}))["router"]
        assert cleared["external_gateway_info"] is None
        gateway_ports = ok(neutron(admin, "GET", "/ports", params={
            "device_id": router["id"], "device_owner": "network:router_gateway"}))["ports"]
        assert gateway_ports == []
    finally:
        delete(member, "routers", router["id"])


def test_gateway_must_be_external(member: ApiSession) -> None:
    with network_with_subnet(member, "192.168.101.0/24") as (network, _subnet):
        response = neutron(member, "POST", "/routers", json={"router": {
            "external_gateway_info": {"network_id": network["id"]}}})
        assert neutron_error(response, 400, "BadRequest") == \
            f"Bad router request: Network {network['id']} is not an external network."


def test_router_interfaces(member: ApiSession, routed: dict[str, Any]) -> None:
    router, subnet = routed["router"], routed["subnet"]
    base = f"/routers/{router['id']}"
    added = ok(neutron(member, "PUT", f"{base}/add_router_interface",
                       json={"subnet_id": subnet["id"]}))
    assert added["subnet_id"] == subnet["id"] and added["id"] == router["id"]
    port = ok(neutron(member, "GET", f"/ports/{added['port_id']}"))["port"]
    assert port["device_owner"] == "network:router_interface"
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "192.168.100.1"}]
    again = neutron(member, "PUT", f"{base}/add_router_interface",
                    json={"subnet_id": subnet["id"]})
    neutron_error(again, 400, "BadRequest")
    neutron_error(neutron(member, "DELETE", f"/ports/{port['id']}"), 409, "L3PortInUse")
    neutron_error(neutron(member, "DELETE", f"/routers/{router['id']}"), 409, "RouterInUse")
    neutron_error(neutron(member, "PUT", f"{base}/add_router_interface", json={}), 400,
                  "BadRequest")
    removed = ok(neutron(member, "PUT", f"{base}/remove_router_interface",
                         json={"subnet_id": subnet["id"]}))
    assert removed["port_id"] == port["id"]
    neutron_error(neutron(member, "PUT", f"{base}/remove_router_interface",
                          json={"subnet_id": subnet["id"]}), 404,
                  "RouterInterfaceNotFoundForSubnet")
    by_port = ok(neutron(member, "PUT", f"{base}/add_router_interface",
                         json={"port_id": routed["port"]["id"]}))
    assert by_port["port_id"] == routed["port"]["id"]
    ok(neutron(member, "PUT", f"{base}/remove_router_interface",
               json={"port_id": routed["port"]["id"]}))
    neutron_error(neutron(member, "GET", f"/ports/{routed['port']['id']}"), 404,
                  "PortNotFound")


def test_floating_ip_lifecycle(member: ApiSession, routed: dict[str, Any]) -> None:
    public, port, subnet = _public(member), routed["port"], routed["subnet"]
    fip = create(member, "floatingips", "floatingip", floating_network_id=public["id"])
    assert set(fip) >= FLOATING_IP_KEYS
    assert fip["floating_ip_address"].startswith(public_prefix(member))
    assert (fip["port_id"], fip["router_id"], fip["status"]) == (None, None, "DOWN")
    # No router has an interface on the port's subnet yet.
    response = neutron(member, "PUT", f"/floatingips/{fip['id']}",
                       json={"floatingip": {"port_id": port["id"]}})
    message = neutron_error(response, 404, "ExternalGatewayForFloatingIPNotFound")
    assert message == (f"External network {public['id']} is not reachable from subnet "
                       f"{subnet['id']}.  Therefore, cannot associate Port {port['id']} "
                       "with a Floating IP.")
    ok(neutron(member, "PUT", f"/routers/{routed['router']['id']}/add_router_interface",
               json={"subnet_id": subnet["id"]}))
    associated = ok(neutron(member, "PUT", f"/floatingips/{fip['id']}",
                            json={"floatingip": {"port_id": port["id"]}}))["floatingip"]
    assert associated["port_id"] == port["id"]
    assert associated["fixed_ip_address"] == port["fixed_ips"][0]["ip_address"]
    assert associated["router_id"] == routed["router"]["id"]
    assert associated["status"] == "ACTIVE"
    assert associated["port_details"]["mac_address"] == port["mac_address"]
    by_port = ok(neutron(member, "GET", "/floatingips", params={"port_id": port["id"]}))
    assert [f["id"] for f in by_port["floatingips"]] == [fip["id"]]
    second = neutron(member, "POST", "/floatingips", json={"floatingip": {
        "floating_network_id": public["id"], "port_id": port["id"]}})
    neutron_error(second, 409, "FloatingIPPortAlreadyAssociated")
    interface = neutron(member, "PUT",
                        f"/routers/{routed['router']['id']}/remove_router_interface",
                        json={"subnet_id": subnet["id"]})
    neutron_error(interface, 409, "RouterInterfaceInUseByFloatingIP")
    released = ok(neutron(member, "PUT", f"/floatingips/{fip['id']}",
                          json={"floatingip": {"port_id": None}}))["floatingip"]
    assert (released["port_id"], released["fixed_ip_address"], released["router_id"],
            released["status"]) == (None, None, None, "DOWN")
    assert ok(neutron(member, "DELETE", f"/floatingips/{fip['id']}"), 204) is None
    neutron_error(neutron(member, "GET", f"/floatingips/{fip['id']}"), 404,
                  "FloatingIPNotFound")


def test_floating_ip_refusals(member: ApiSession, alt: ApiSession) -> None:
    with network_with_subnet(member, "192.168.102.0/24") as (network, _subnet):
        inner = neutron(member, "POST", "/floatingips", json={"floatingip": {
            "floating_network_id": network["id"]}})
        assert neutron_error(inner, 400, "BadRequest") == (
            f"Bad floatingip request: Network {network['id']} is not a valid external "
            "network.")
    chosen = neutron(member, "POST", "/floatingips", json={"floatingip": {
        "floating_network_id": _public(member)["id"],
        "floating_ip_address": public_prefix(member) + "77"}})
    neutron_error(chosen, 403, "PolicyNotAuthorized")
    fip = create(member, "floatingips", "floatingip",
                 floating_network_id=_public(member)["id"])
    try:
        neutron_error(neutron(alt, "GET", f"/floatingips/{fip['id']}"), 404,
                      "FloatingIPNotFound")
        assert fip["id"] not in {f["id"] for f in
                                 ok(neutron(alt, "GET", "/floatingips"))["floatingips"]}
    finally:
        delete(member, "floatingips", fip["id"])


def test_auto_allocated_topology(alt: ApiSession) -> None:
    path = f"/auto-allocated-topology/{alt.project_id}"
    dry = ok(neutron(alt, "GET", path, params={"fields": "dry-run"}))
    assert dry["auto_allocated_topology"]["id"] == "dry-run=pass"
    made = ok(neutron(alt, "GET", path))["auto_allocated_topology"]
    assert made["project_id"] == alt.project_id
    network = ok(neutron(alt, "GET", f"/networks/{made['id']}"))["network"]
    assert network["name"] == "auto_allocated_network" and len(network["subnets"]) == 1
    routers = ok(neutron(alt, "GET", "/routers",
                         params={"name": "auto_allocated_router"}))["routers"]
    assert len(routers) == 1 and routers[0]["external_gateway_info"]
    assert ok(neutron(alt, "GET", path))["auto_allocated_topology"]["id"] == made["id"]
    assert ok(neutron(alt, "DELETE", path), 204) is None
    neutron_error(neutron(alt, "GET", f"/networks/{made['id']}"), 404, "NetworkNotFound")
    assert ok(neutron(alt, "GET", "/routers",
                      params={"name": "auto_allocated_router"}))["routers"] == []


# -- quotas --------------------------------------------------------------------------------

DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
            "security_group": 10, "security_group_rule": 100}


def test_quota_defaults_and_policy(member: ApiSession, alt: ApiSession,
                                   admin: ApiSession) -> None:
    own = ok(neutron(member, "GET", f"/quotas/{member.project_id}"))["quota"]
    assert own == DEFAULTS
    defaults = ok(neutron(member, "GET", f"/quotas/{member.project_id}/default"))["quota"]
    assert defaults == DEFAULTS
    details = ok(neutron(member, "GET", f"/quotas/{member.project_id}/details"))["quota"]
    assert set(details["network"]) == {"limit", "used", "reserved"}
    assert details["security_group"]["used"] >= 1  # the default group
    assert neutron_error(neutron(member, "GET", f"/quotas/{alt.project_id}"), 403,
                         "PolicyNotAuthorized") == "rule:get_quota is disallowed by policy"
    neutron_error(neutron(member, "PUT", f"/quotas/{member.project_id}",
                          json={"quota": {"network": 1}}), 403, "PolicyNotAuthorized")
    bad = neutron(admin, "PUT", f"/quotas/{alt.project_id}", json={"quota": {"network": -2}})
    assert neutron_error(bad, 400, "HTTPBadRequest") == \
        "Invalid input for network. Reason: '-2' is too small - must be at least '-1'."
    unknown = neutron(admin, "PUT", f"/quotas/{alt.project_id}",
                      json={"quota": {"widgets": 1}})
    neutron_error(unknown, 400, "HTTPBadRequest")


def test_quota_is_enforced(alt: ApiSession, admin: ApiSession) -> None:
    used = ok(neutron(alt, "GET", f"/quotas/{alt.project_id}/details"))["quota"]
    path = f"/quotas/{alt.project_id}"
    set_to = used["network"]["used"] + 1
    try:
        assert ok(neutron(admin, "PUT", path, json={"quota": {"network": set_to}}))[
            "quota"]["network"] == set_to
        listed = ok(neutron(admin, "GET", "/quotas"))["quotas"]
        assert any(q["project_id"] == alt.project_id for q in listed)
        first = create(alt, "networks", "network", name=name("q"))
        over = neutron(alt, "POST", "/networks", json={"network": {"name": name("q")}})
        assert neutron_error(over, 409, "OverQuota") == \
            "Quota exceeded for resources: ['network']."
        below = neutron(admin, "PUT", path, json={"quota": {"network": set_to - 1}})
        neutron_error(below, 400, "HTTPBadRequest")
        delete(alt, "networks", first["id"])
    finally:
        assert ok(neutron(admin, "DELETE", path), 204) is None
    assert ok(neutron(alt, "GET", path))["quota"] == DEFAULTS
