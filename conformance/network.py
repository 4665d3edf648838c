"""What the Neutron tests share: requests to the ``network`` endpoint of the catalog,
Neutron's error body, resources made for one test and removed after it, and the attributes
each resource shows (neutron-lib's API definitions with the extensions the cloud lists)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from conformance.client import ApiSession

#: Every network attribute a member sees (``network`` + ``external-net``, ``net-mtu``,
#: ``port-security``, ``network_availability_zone``, ``auto-allocated-topology`` and
#: the standard attributes); an admin also sees the ``provider`` ones.
NETWORK_KEYS = {"id", "name", "subnets", "admin_state_up", "status", "tenant_id",
                "project_id", "shared", "router:external", "mtu", "port_security_enabled",
                "availability_zone_hints", "availability_zones", "description", "tags",
                "created_at", "updated_at", "revision_number", "is_default"}
PROVIDER_KEYS = {"provider:network_type", "provider:physical_network",
                 "provider:segmentation_id"}
SUBNET_KEYS = {"id", "name", "tenant_id", "project_id", "network_id", "ip_version",
               "subnetpool_id", "cidr", "gateway_ip", "allocation_pools", "dns_nameservers",
               "host_routes", "enable_dhcp", "ipv6_ra_mode", "ipv6_address_mode",
               "description", "tags", "created_at", "updated_at", "revision_number"}
PORT_KEYS = {"id", "name", "network_id", "tenant_id", "project_id", "mac_address",
             "admin_state_up", "status", "device_id", "device_owner", "fixed_ips",
             "security_groups", "port_security_enabled", "binding:vnic_type", "description",
             "tags", "created_at", "updated_at", "revision_number"}
BINDING_KEYS = {"binding:host_id", "binding:profile", "binding:vif_type",
                "binding:vif_details"}
SECURITY_GROUP_KEYS = {"id", "name", "tenant_id", "project_id", "description",
                       "security_group_rules", "stateful", "tags", "created_at",
                       "updated_at", "revision_number"}
RULE_KEYS = {"id", "tenant_id", "project_id", "security_group_id", "direction", "ethertype",
             "protocol", "port_range_min", "port_range_max", "remote_ip_prefix",
             "remote_group_id", "description", "created_at", "updated_at",
             "revision_number"}
ROUTER_KEYS = {"id", "name", "tenant_id", "project_id", "admin_state_up", "status",
               "external_gateway_info", "description", "tags", "created_at", "updated_at",
               "revision_number"}
FLOATING_IP_KEYS = {"id", "tenant_id", "project_id", "floating_ip_address",
                    "floating_network_id", "router_id", "port_id", "fixed_ip_address",
                    "status", "description", "tags", "created_at", "updated_at",
                    "revision_number"}


def neutron(session: ApiSession, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """``<network endpoint>/v2.0<path>``."""
    return session.request(method, f"{session.endpoint('network')}/v2.0{path}", **kwargs)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def neutron_error(response: httpx.Response, status: int, kind: str) -> str:
    """Neutron's body ``{"NeutronError": {"type", "message", "detail"}}`` with ``kind`` as
    its type; its message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"NeutronError"}, body
    error = body["NeutronError"]
    assert set(error) == {"type", "message", "detail"}, error
    assert error["type"] == kind, error
    assert error["detail"] == ""
    return str(error["message"])


def public_prefix(session: ApiSession) -> str:
    """The seeded ``public-subnet``'s /24 as an address prefix (``172.24.4.``; on the qemu
    backend ``127.24.4.``: floating IPs this machine can reach)."""
    subnets = ok(neutron(session, "GET", "/subnets", params={"name": "public-subnet"}))
    cidr = str(subnets["subnets"][0]["cidr"])
    return cidr.rsplit(".", 1)[0] + "."


def name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(session: ApiSession, collection: str, member: str, **attributes: Any) -> Any:
    response = neutron(session, "POST", f"/{collection}", json={member: attributes})
    return ok(response, 201)[member]


def delete(session: ApiSession, collection: str, resource_id: str) -> None:
    response = neutron(session, "DELETE", f"/{collection}/{resource_id}")
    assert response.status_code in (204, 404), response.text


@contextmanager
def network_with_subnet(session: ApiSession, cidr: str = "192.168.77.0/24",
                        **subnet: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """A network of the session's project with one subnet; both gone afterwards (with
    every port left on the network)."""
    network = create(session, "networks", "network", name=name("net"))
    try:
        made = create(session, "subnets", "subnet", network_id=network["id"], cidr=cidr,
                      ip_version=subnet.pop("ip_version", 4), **subnet)
        yield network, made
    finally:
        ports = neutron(session, "GET", "/ports", params={"network_id": network["id"]})
        for port in ports.json().get("ports", []):
            delete(session, "ports", port["id"])
        delete(session, "networks", network["id"])


def lift_port_quota(admin: ApiSession, project_id: str) -> None:
    """No limit on the project's ports (Neutron's default is 500; each server has one)."""
    ok(neutron(admin, "PUT", f"/quotas/{project_id}", json={"quota": {"port": -1}}))


def loopback_net() -> str:
    """A /24 of 127.0.0.0/8 (``127.<n>.<m>``) that nothing else in this run likely uses:
    a guest's addresses there answer SSH on this machine."""
    return f"127.{random.randrange(30, 250)}.{random.randrange(1, 250)}"
