"""Subnets and ports as Neutron's IPAM makes them: gateways and allocation pools from the
CIDR (IPv4 and IPv6), the CIDRs and pools Neutron refuses, fixed IPs allocated from a
subnet's pools or asked for, addresses in use, an exhausted pool, MACs, and who may put a
subnet or a port on whose network."""

from __future__ import annotations

import re

import pytest

from conformance.client import ApiSession
from conformance.network import (
    BINDING_KEYS,
    PORT_KEYS,
    SUBNET_KEYS,
    create,
    delete,
    name,
    network_with_subnet,
    neutron,
    neutron_error,
    ok,
)


def _subnet(session: ApiSession, network_id: str, **attributes: object):  # type: ignore[no-untyped-def]
    return neutron(session, "POST", "/subnets", json={"subnet": {
        "network_id": network_id, "ip_version": 4, **attributes}})


@pytest.fixture
def network(member: ApiSession):  # type: ignore[no-untyped-def]
    made = create(member, "networks", "network", name=name("ipam"))
    yield made
    for port in ok(neutron(member, "GET", "/ports",
                           params={"network_id": made["id"]}))["ports"]:
        delete(member, "ports", port["id"])
    delete(member, "networks", made["id"])


def test_ipv4_subnet_defaults(member: ApiSession, network: dict[str, str]) -> None:
    subnet = ok(_subnet(member, network["id"], cidr="10.20.30.0/24"), 201)["subnet"]
    assert SUBNET_KEYS <= set(subnet)
    assert subnet["gateway_ip"] == "10.20.30.1"
    assert subnet["allocation_pools"] == [{"start": "10.20.30.2", "end": "10.20.30.254"}]
    assert subnet["enable_dhcp"] is True and subnet["ip_version"] == 4
    assert subnet["dns_nameservers"] == [] and subnet["host_routes"] == []
    shown = ok(neutron(member, "GET", f"/networks/{network['id']}"))["network"]
    assert shown["subnets"] == [subnet["id"]]


def test_gateway_pools_dns_and_routes(member: ApiSession, network: dict[str, str]) -> None:
    subnet = ok(_subnet(member, network["id"], cidr="10.21.0.5/24", gateway_ip="10.21.0.254",
                        allocation_pools=[{"start": "10.21.0.10", "end": "10.21.0.20"},
                                          {"start": "10.21.0.30", "end": "10.21.0.40"}],
                        dns_nameservers=["8.8.8.8"],
                        host_routes=[{"destination": "10.99.0.0/16",
                                      "nexthop": "10.21.0.1"}]), 201)["subnet"]
    assert subnet["cidr"] == "10.21.0.0/24"  # host bits cleared
    assert subnet["gateway_ip"] == "10.21.0.254"
    assert len(subnet["allocation_pools"]) == 2
    assert subnet["dns_nameservers"] == ["8.8.8.8"]
    updated = ok(neutron(member, "PUT", f"/subnets/{subnet['id']}", json={"subnet": {
        "name": "renamed", "dns_nameservers": [], "enable_dhcp": False}}))["subnet"]
    assert (updated["name"], updated["dns_nameservers"], updated["enable_dhcp"]) == \
        ("renamed", [], False)
    no_gateway = ok(_subnet(member, network["id"], cidr="10.22.0.0/29", gateway_ip=None),
                    201)["subnet"]
    assert no_gateway["gateway_ip"] is None
    assert no_gateway["allocation_pools"] == [{"start": "10.22.0.1", "end": "10.22.0.6"}]


def test_ipv6_subnet(member: ApiSession, network: dict[str, str]) -> None:
    subnet = ok(_subnet(member, network["id"], ip_version=6, cidr="fd00:0:0:1::/64",
                        ipv6_ra_mode="slaac", ipv6_address_mode="slaac"), 201)["subnet"]
    assert subnet["cidr"] == "fd00:0:0:1::/64"
    assert subnet["gateway_ip"] == "fd00:0:0:1::1"
    assert subnet["allocation_pools"] == [
        {"start": "fd00:0:0:1::2", "end": "fd00::1:ffff:ffff:ffff:ffff"}]
    assert subnet["ipv6_ra_mode"] == subnet["ipv6_address_mode"] == "slaac"


REFUSED = [
    ({"cidr": "10.0.0.0/33"}, 400, "HTTPBadRequest",
     "Invalid input for cidr. Reason: '10.0.0.0/33' is not a valid IP subnet."),
    ({"cidr": "banana"}, 400, "HTTPBadRequest",
     "Invalid input for cidr. Reason: 'banana' is not a valid IP subnet."),
    ({"cidr": "fd00::/64"}, 400, "InvalidInput",
     "Invalid input for operation: cidr 'fd00::/64' does not match the ip_version '4'."),
    ({"cidr": "10.30.0.0/24", "ip_version": 5}, 400, "HTTPBadRequest",
     "Invalid input for ip_version. Reason: 5 is not in [4, 6]."),
    ({}, 400, "BadRequest",
     "Bad subnets request: a subnetpool must be specified in the absence of a cidr."),
    ({"cidr": "10.30.0.0/31"}, 400, "InvalidInput", "Invalid input for operation: Subnet has "
     "a prefix length that is incompatible with DHCP service enabled."),
    ({"cidr": "10.30.0.0/24", "gateway_ip": "10.30.0.0"}, 400, "InvalidInput",
     "Invalid input for operation: Gateway is not valid on subnet."),
    ({"cidr": "10.30.0.0/24", "allocation_pools": [
        {"start": "10.30.0.10", "end": "10.30.0.50"},
        {"start": "10.30.0.40", "end": "10.30.0.60"}]}, 409, "OverlappingAllocationPools",
     "Found overlapping allocation pools: 10.30.0.10-10.30.0.50 10.30.0.40-10.30.0.60 for "
     "subnet 10.30.0.0/24."),
    ({"cidr": "10.30.0.0/24", "allocation_pools": [
        {"start": "10.30.0.200", "end": "10.30.1.5"}]}, 400, "OutOfBoundsAllocationPool",
     "The allocation pool 10.30.0.200-10.30.1.5 spans beyond the subnet cidr 10.30.0.0/24."),
    ({"cidr": "10.30.0.0/24", "allocation_pools": [
        {"start": "10.30.0.1", "end": "10.30.0.9"}]}, 409,
     "GatewayConflictWithAllocationPools",
     "Gateway ip 10.30.0.1 conflicts with allocation pool 10.30.0.1-10.30.0.9."),
    ({"cidr": "10.30.0.0/24", "allocation_pools": [
        {"start": "10.30.0.9", "end": "10.30.0.3"}]}, 400, "InvalidAllocationPool",
     "The allocation pool 10.30.0.9-10.30.0.3 is not valid."),
    ({"cidr": "10.30.0.0/24", "dns_nameservers": ["1.1.1.1"] * 2}, 400, "HTTPBadRequest",
     "Invalid input for dns_nameservers. Reason: Duplicate nameserver '1.1.1.1'."),
    ({"cidr": "10.30.0.0/24", "dns_nameservers": [f"1.1.1.{i}" for i in range(6)]}, 400,
     "DNSNameServersExhausted", "Unable to complete operation for new subnet. The number "
     "of DNS nameservers exceeds the limit 5."),
]


@pytest.mark.parametrize(("attributes", "status", "kind", "message"), REFUSED)
def test_refused_subnets(member: ApiSession, network: dict[str, str],
                         attributes: dict[str, object], status: int, kind: str,
                         message: str) -> None:
    response = _subnet(member, network["id"], **attributes)
    assert neutron_error(response, status, kind) == message
    shown = ok(neutron(member, "GET", f"/networks/{network['id']}"))["network"]
    assert shown["subnets"] == []  # nothing half-made


def test_overlapping_subnets_on_one_network(member: ApiSession,
                                            network: dict[str, str]) -> None:
    ok(_subnet(member, network["id"], cidr="10.40.0.0/16"), 201)
    response = _subnet(member, network["id"], cidr="10.40.5.0/24")
    assert neutron_error(response, 400, "InvalidInput") == (
        "Invalid input for operation: Requested subnet with cidr: 10.40.5.0/24 for network: "
        f"{network['id']} overlaps with another subnet.")


def test_subnets_on_other_projects_networks(member: ApiSession, alt: ApiSession,
                                            network: dict[str, str]) -> None:
    neutron_error(_subnet(alt, network["id"], cidr="10.50.0.0/24"), 404, "NetworkNotFound")
    private = next(n for n in ok(neutron(alt, "GET", "/networks"))["networks"]
                   if n["shared"] and not n["router:external"])
    response = _subnet(alt, private["id"], cidr="10.51.0.0/24")
    assert neutron_error(response, 403, "PolicyNotAuthorized") == \
        "rule:create_subnet is disallowed by policy"


# -- ports ---------------------------------------------------------------------------------

MAC = re.compile(r"fa:16:3e(:[0-9a-f]{2}){3}")


def test_port_gets_an_address_mac_and_default_group(member: ApiSession,
                                                    admin: ApiSession) -> None:
    with network_with_subnet(member, "192.168.80.0/24") as (network, subnet):
        port = create(member, "ports", "port", network_id=network["id"], name="p1",
                      device_id="dev-1", device_owner="compute:nova")
        assert set(port) >= PORT_KEYS and not set(port) & BINDING_KEYS
        assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "192.168.80.2"}]
        assert MAC.fullmatch(port["mac_address"])
        assert port["status"] == "DOWN"
        groups = ok(neutron(member, "GET", "/security-groups",
                            params={"name": "default"}))["security_groups"]
        assert port["security_groups"] == [groups[0]["id"]]
        as_admin = ok(neutron(admin, "GET", f"/ports/{port['id']}"))["port"]
        assert set(as_admin) >= BINDING_KEYS
        assert as_admin["binding:vif_type"] == "unbound"
        second = create(member, "ports", "port", network_id=network["id"])
        assert second["fixed_ips"][0]["ip_address"] == "192.168.80.3"
        by_ip = ok(neutron(member, "GET", "/ports", params={
            "fixed_ips": "ip_address=192.168.80.3"}))["ports"]
        assert [p["id"] for p in by_ip] == [second["id"]]
        by_device = ok(neutron(member, "GET", "/ports", params={"device_id": "dev-1"}))
        assert [p["id"] for p in by_device["ports"]] == [port["id"]]


def test_fixed_ips_asked_for(member: ApiSession, alt: ApiSession) -> None:
    with network_with_subnet(member, "192.168.81.0/24") as (network, subnet):
        port = create(member, "ports", "port", network_id=network["id"], fixed_ips=[
            {"subnet_id": subnet["id"], "ip_address": "192.168.81.50"}])
        assert port["fixed_ips"][0]["ip_address"] == "192.168.81.50"
        taken = neutron(member, "POST", "/ports", json={"port": {
            "network_id": network["id"], "fixed_ips": [{"ip_address": "192.168.81.50"}]}})
        assert neutron_error(taken, 409, "IpAddressInUse") == (
            f"Unable to complete operation for network {network['id']}. The IP address "
            "192.168.81.50 is in use.")
        outside = neutron(member, "POST", "/ports", json={"port": {
            "network_id": network["id"], "fixed_ips": [{"ip_address": "10.9.9.9"}]}})
        neutron_error(outside, 400, "InvalidIpForNetwork")
        moved = ok(neutron(member, "PUT", f"/ports/{port['id']}", json={"port": {
            "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "192.168.81.60"}]}}))
        assert moved["port"]["fixed_ips"][0]["ip_address"] == "192.168.81.60"
        no_ips = create(member, "ports", "port", network_id=network["id"], fixed_ips=[])
        assert no_ips["fixed_ips"] == []
        neutron_error(neutron(alt, "POST", "/ports", json={"port": {
            "network_id": network["id"]}}), 404, "NetworkNotFound")


def test_exhausted_pool(member: ApiSession) -> None:
    with network_with_subnet(member, "192.168.82.0/29", allocation_pools=[
            {"start": "192.168.82.2", "end": "192.168.82.3"}]) as (network, _subnet):
        for _ in range(2):
            create(member, "ports", "port", network_id=network["id"])
        response = neutron(member, "POST", "/ports", json={"port": {
            "network_id": network["id"]}})
        assert neutron_error(response, 409, "IpAddressGenerationFailure") == \
            f"No more IP addresses available on network {network['id']}."
        ports = ok(neutron(member, "GET", "/ports", params={"network_id": network["id"]}))
        assert len(ports["ports"]) == 2


def test_port_mac_and_bindings_by_role(member: ApiSession, admin: ApiSession) -> None:
    with network_with_subnet(member, "192.168.83.0/24") as (network, _subnet):
        port = create(member, "ports", "port", network_id=network["id"],
                      mac_address="FA:16:3E:00:00:01")
        assert port["mac_address"] == "fa:16:3e:00:00:01"
        again = neutron(member, "POST", "/ports", json={"port": {
            "network_id": network["id"], "mac_address": "fa:16:3e:00:00:01"}})
        neutron_error(again, 409, "MacAddressInUse")
        bad = neutron(member, "POST", "/ports", json={"port": {
            "network_id": network["id"], "mac_address": "nope"}})
        assert neutron_error(bad, 400, "HTTPBadRequest") == \
            "Invalid input for mac_address. Reason: 'nope' is not a valid MAC address."
        bound = neutron(member, "POST", "/ports", json={"port": {
            "network_id": network["id"], "binding:host_id": "compute-1"}})
        assert neutron_error(bound, 403, "PolicyNotAuthorized") == \
            "(rule:create_port and rule:create_port:binding:host_id) is disallowed by policy"
        as_admin = ok(neutron(admin, "PUT", f"/ports/{port['id']}", json={"port": {
            "binding:host_id": "compute-1"}}))["port"]
        assert as_admin["binding:host_id"] == "compute-1"
        assert as_admin["binding:vif_type"] == "ovs" and as_admin["status"] == "ACTIVE"


def test_ports_on_the_shared_network(member: ApiSession, alt: ApiSession) -> None:
    private = next(n for n in ok(neutron(alt, "GET", "/networks"))["networks"]
                   if n["shared"] and not n["router:external"])
    port = create(alt, "ports", "port", network_id=private["id"])
    try:
        assert port["project_id"] == alt.project_id and port["fixed_ips"]
        neutron_error(neutron(member, "GET", f"/ports/{port['id']}"), 404, "PortNotFound")
        assert port["id"] not in {p["id"] for p in ok(neutron(member, "GET", "/ports"))["ports"]}
        chosen = neutron(alt, "POST", "/ports", json={"port": {
            "network_id": private["id"], "fixed_ips": [{"ip_address": "10.0.200.200"}]}})
        neutron_error(chosen, 403, "PolicyNotAuthorized")
    finally:
        delete(alt, "ports", port["id"])


def test_subnet_in_use_and_delete(member: ApiSession) -> None:
    with network_with_subnet(member, "192.168.84.0/24") as (network, subnet):
        port = create(member, "ports", "port", network_id=network["id"])
        neutron_error(neutron(member, "DELETE", f"/subnets/{subnet['id']}"), 409,
                      "SubnetInUse")
        assert ok(neutron(member, "DELETE", f"/ports/{port['id']}"), 204) is None
        assert ok(neutron(member, "DELETE", f"/subnets/{subnet['id']}"), 204) is None
        neutron_error(neutron(member, "GET", f"/subnets/{subnet['id']}"), 404,
                      "SubnetNotFound")
