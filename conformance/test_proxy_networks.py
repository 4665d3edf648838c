"""Nova's network proxies until 2.35, over Neutron: floating IPs (allocated from an
external network by name or id, ``pool`` its name, ``fixed_ip``/``instance_id`` from the
port it is on), the pools (external networks), and the networks a project sees as
``/os-networks`` (nova-network's fields, empty but the id and label; more for admins) and
``/os-tenant-networks`` show them; each project's floating IPs its own; a 404 from 2.36."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import floating_ips as tempest_fip
from tempest.lib.api_schema.response.compute.v2_1 import tenant_networks as tempest_tn

from conformance.client import ApiSession
from conformance.network import create, delete, network_with_subnet, neutron, ok
from conformance.schemas import validate
from conformance.test_aggregates import fault

V = "2.35"
NETWORK_FIELDS = {"id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2",
                  "cidr_v6", "gateway_v6", "label", "netmask_v6"}


def external(session: ApiSession) -> list[dict[str, Any]]:
    return ok(neutron(session, "GET", "/networks",  # type: ignore[no-any-return]
                      params={"router:external": "True"}))["networks"]


def allocate(session: ApiSession, body: Any = None) -> Any:
    return session.compute("POST", "/os-floating-ips", version=V, json=body)


def test_pools_are_the_external_networks(member: ApiSession) -> None:
    response = member.compute("GET", "/os-floating-ip-pools", version=V)
    assert response.status_code == 200, response.text
    pools = response.json()["floating_ip_pools"]
    assert pools == [{"name": n["name"] or n["id"]} for n in external(member)]
    assert {"name": "public"} in pools


def test_allocate_show_list_release(member: ApiSession, alt: ApiSession) -> None:
    public = next(n for n in external(member) if n["name"] == "public")
    fip = validate(allocate(member, {"pool": "public"}),
                   tempest_fip.create_get_floating_ip)["floating_ip"]
    assert fip["pool"] == "public"
    assert (fip["fixed_ip"], fip["instance_id"]) == (None, None)
    neutron_fip = ok(neutron(member, "GET", f"/floatingips/{fip['id']}"))["floatingip"]
    assert neutron_fip["floating_ip_address"] == fip["ip"]
    assert neutron_fip["floating_network_id"] == public["id"]
    by_id = validate(allocate(member, {"pool": public["id"]}),
                     tempest_fip.create_get_floating_ip)["floating_ip"]
    default = validate(allocate(member), tempest_fip.create_get_floating_ip)["floating_ip"]
    assert by_id["pool"] == default["pool"] == "public"
    shown = validate(member.compute("GET", f"/os-floating-ips/{fip['id']}", version=V),
                     tempest_fip.create_get_floating_ip)["floating_ip"]
    assert shown == fip
    listed = validate(member.compute("GET", "/os-floating-ips", version=V),
                      tempest_fip.list_floating_ips)["floating_ips"]
    assert {fip["id"], by_id["id"], default["id"]} <= {f["id"] for f in listed}
    theirs = alt.compute("GET", "/os-floating-ips", version=V).json()["floating_ips"]
    assert fip["id"] not in {f["id"] for f in theirs}
    assert fault(alt.compute("GET", f"/os-floating-ips/{fip['id']}", version=V), 404) == (
        f"Floating IP not found for ID {fip['id']}")
    assert fault(alt.compute("DELETE", f"/os-floating-ips/{fip['id']}", version=V), 404)
    for made in (fip, by_id, default):
        released = member.compute("DELETE", f"/os-floating-ips/{made['id']}", version=V)
        assert released.status_code == 202, released.text
    assert fault(member.compute("GET", f"/os-floating-ips/{fip['id']}", version=V), 404)


def test_fixed_ip_and_instance_from_the_port(member: ApiSession) -> None:
    with network_with_subnet(member, cidr="192.168.91.0/24") as (network, subnet):
        router = create(member, "routers", "router",
                        external_gateway_info={"network_id": external(member)[0]["id"]})
        ok(neutron(member, "PUT", f"/routers/{router['id']}/add_router_interface",
                   json={"subnet_id": subnet["id"]}))
        device = str(uuid.uuid4())
        port = create(member, "ports", "port", network_id=network["id"], device_id=device)
        fip = allocate(member, {"pool": "public"}).json()["floating_ip"]
        ok(neutron(member, "PUT", f"/floatingips/{fip['id']}",
                   json={"floatingip": {"port_id": port["id"]}}))
        shown = member.compute("GET", f"/os-floating-ips/{fip['id']}", version=V).json()
        assert shown["floating_ip"]["fixed_ip"] == port["fixed_ips"][0]["ip_address"]
        assert shown["floating_ip"]["instance_id"] == device
        released = member.compute("DELETE", f"/os-floating-ips/{fip['id']}", version=V)
        assert released.status_code == 202, released.text
        assert ok(neutron(member, "GET", "/floatingips",
                          params={"id": fip["id"]}))["floatingips"] == []
        delete(member, "ports", port["id"])
        ok(neutron(member, "PUT", f"/routers/{router['id']}/remove_router_interface",
                   json={"subnet_id": subnet["id"]}))
        delete(member, "routers", router["id"])


def test_allocate_errors(member: ApiSession) -> None:
    assert fault(allocate(member, {"pool": "no-such-pool"}), 404) == (
        "Floating IP pool not found.")
    assert fault(allocate(member, {"pool": str(uuid.uuid4())}), 404) == (
        "Floating IP pool not found.")
    # An internal network is not a pool.
    assert fault(allocate(member, {"pool": "private"}), 404)
    fault(allocate(member, {"pool": 5}), 400)
    missing = str(uuid.uuid4())
    assert fault(member.compute("DELETE", f"/os-floating-ips/{missing}", version=V),
                 404) == f"Floating IP not found for ID {missing}"


def test_networks(member: ApiSession, admin: ApiSession, alt: ApiSession) -> None:
    with network_with_subnet(member, cidr="192.168.92.0/24") as (network, _subnet):
        check_networks(member, admin, alt, network)


def check_networks(member: ApiSession, admin: ApiSession, alt: ApiSession,
                   network: dict[str, Any]) -> None:
    listed = member.compute("GET", "/os-networks", version=V)
    assert listed.status_code == 200, listed.text
    views = {n["id"]: n for n in listed.json()["networks"]}
    seen = {n["id"] for n in ok(neutron(member, "GET", "/networks"))["networks"]}
    assert set(views) == seen
    mine = views[network["id"]]
    assert set(mine) == NETWORK_FIELDS
    assert mine["label"] == network["name"]
    assert {k for k, v in mine.items() if v is not None} == {"id", "label"}
    shown = member.compute("GET", f"/os-networks/{network['id']}", version=V).json()
    assert shown["network"] == mine
    as_admin = admin.compute("GET", f"/os-networks/{network['id']}", version=V).json()
    assert set(as_admin["network"]) > NETWORK_FIELDS | {"project_id", "mtu"}
    assert as_admin["network"]["project_id"] is None
    assert fault(alt.compute("GET", f"/os-networks/{network['id']}", version=V),
                 404) == "Network not found"
    tenant = validate(member.compute("GET", "/os-tenant-networks", version=V),
                      tempest_tn.list_tenant_networks)["networks"]
    assert {"id": network["id"], "cidr": "None", "label": network["name"]} in tenant
    one = validate(member.compute("GET", f"/os-tenant-networks/{network['id']}", version=V),
                   tempest_tn.get_tenant_network)["network"]
    assert one == {"id": network["id"], "cidr": "None", "label": network["name"]}
    assert fault(alt.compute("GET", f"/os-tenant-networks/{network['id']}", version=V),
                 404) == "Network not found"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/os-floating-ips"), ("POST", "/os-floating-ips"),
    ("GET", f"/os-floating-ips/{uuid.UUID(int=1)}"),
    ("DELETE", f"/os-floating-ips/{uuid.UUID(int=1)}"),
    ("GET", "/os-floating-ip-pools"), ("GET", "/os-networks"),
    ("GET", f"/os-networks/{uuid.UUID(int=1)}"), ("GET", "/os-tenant-networks"),
    ("GET", f"/os-tenant-networks/{uuid.UUID(int=1)}"),
])
def test_gone_from_2_36(member: ApiSession, method: str, path: str) -> None:
    kwargs: dict[str, Any] = {"json": {}} if method == "POST" else {}
    fault(member.compute(method, path, version="2.36", **kwargs), 404)


def test_over_quota_and_exhausted_pools(admin: ApiSession, alt: ApiSession) -> None:
    """Neutron's ``OverQuota`` is Nova's 403 and an exhausted pool its 404, both naming the
    pool."""
    ok(neutron(admin, "PUT", f"/quotas/{alt.project_id}", json={"quota": {"floatingip": 0}}))
    try:
        assert fault(allocate(alt, {"pool": "public"}), 403) == (
            "IP allocation over quota in pool public.")
    finally:
        neutron(admin, "DELETE", f"/quotas/{alt.project_id}")
    tiny = create(admin, "networks", "network", name=f"tiny-{uuid.uuid4().hex[:6]}",
                  **{"router:external": True})
    try:
        create(admin, "subnets", "subnet", network_id=tiny["id"], cidr="192.168.94.0/30",
               ip_version=4)
        first = allocate(alt, {"pool": tiny["name"]})
        assert first.status_code == 200, first.text
        assert first.json()["floating_ip"]["pool"] == tiny["name"]
        assert fault(allocate(alt, {"pool": tiny["name"]}), 404) == (
            f"No more floating IPs in pool {tiny['name']}.")
        alt.compute("DELETE", f"/os-floating-ips/{first.json()['floating_ip']['id']}",
                    version=V)
    finally:
        delete(admin, "networks", tiny["id"])
