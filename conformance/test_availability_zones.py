"""Availability zones: the public list, the admin detail, Nova's envelope names."""

from __future__ import annotations

import pytest
from tempest.lib.api_schema.response.compute.v2_1 import availability_zone as az_schema

from conformance.cli import openstack_json
from conformance.client import ApiSession
from conformance.conftest import Target
from conformance.schemas import validate


@pytest.mark.parametrize("version", [None, "2.1", "latest"])
def test_member_lists_zones(member: ApiSession, version: str | None) -> None:
    response = member.compute("GET", "/os-availability-zone", version=version)
    body = validate(response, az_schema.list_availability_zone_list)
    zones = body["availabilityZoneInfo"]
    assert zones, "at least one zone"
    names = [z["zoneName"] for z in zones]
    assert len(names) == len(set(names))
    assert "internal" not in names
    for zone in zones:
        assert zone["hosts"] is None
        assert isinstance(zone["zoneState"]["available"], bool)


#: The zones each backend starts with: the simulated cloud's two (4 hosts each), and the
#: one host the qemu backend runs on (this machine), in Nova's default zone.
DEFAULT_ZONES = {"simulated": ["az2", "nova"], "qemu": ["nova"]}


@pytest.mark.emulator_only
def test_default_zones_of_the_backend(member: ApiSession, target: Target) -> None:
    body = member.compute("GET", "/os-availability-zone").json()
    names = sorted(z["zoneName"] for z in body["availabilityZoneInfo"])
    assert names == DEFAULT_ZONES[target.backend]


def test_admin_detail_lists_hosts_and_services(admin: ApiSession) -> None:
    response = admin.compute("GET", "/os-availability-zone/detail")
    body = validate(response, az_schema.list_availability_zone_list_detail)
    zones = {z["zoneName"]: z for z in body["availabilityZoneInfo"]}
    assert "internal" in zones
    compute_zones = [z for name, z in zones.items() if name != "internal"]
    assert compute_zones
    for zone in compute_zones:
        if zone["zoneState"]["available"]:
            for services in zone["hosts"].values():
                assert "nova-compute" in services


def test_member_cannot_see_detail(member: ApiSession) -> None:
    response = member.compute("GET", "/os-availability-zone/detail")
    assert response.status_code == 403
    assert response.json()["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed.")


@pytest.mark.parametrize("version", ["2.1", "2.85", "2.101"])
def test_unknown_query_ignored_before_2_102(member: ApiSession, target: Target,
                                            version: str) -> None:
    """An unknown query parameter changes nothing (the same zones, with no hosts listed:
    hosts are the admin detail's); from 2.102 it is a 400."""
    schema = az_schema.list_availability_zone_list
    plain = validate(member.compute("GET", "/os-availability-zone", version=version), schema)
    queried = validate(member.compute("GET", "/os-availability-zone", params={"x": "1"},
                                      version=version), schema)
    assert queried == plain
    zones = queried["availabilityZoneInfo"]
    assert zones and all(z["hosts"] is None for z in zones)
    if target.emulator is not None:  # its zones are known: all up
        assert sorted(zones, key=lambda z: z["zoneName"]) == [
            {"zoneName": name, "zoneState": {"available": True}, "hosts": None}
            for name in DEFAULT_ZONES[target.backend]]
    refused = member.compute("GET", "/os-availability-zone", params={"x": "1"},
                             version="2.102")
    assert refused.status_code == 400, refused.text
    assert refused.json() == {"badRequest": {"code": 400, "message": (
        "Additional properties are not allowed ('x' was unexpected)")}}


def test_openstacksdk_lists_zones(conn: object) -> None:
    zones = list(conn.compute.availability_zones())  # type: ignore[attr-defined]
    assert zones and all(z.name for z in zones)


def test_openstack_cli_lists_zones(member: ApiSession) -> None:
    zones = openstack_json(member.account, "availability", "zone", "list", "--compute")
    assert zones and all(z["Zone Status"] == "available" for z in zones)
    listed = {z["Zone Name"] for z in zones}
    api = {z["zoneName"] for z in
           member.compute("GET", "/os-availability-zone").json()["availabilityZoneInfo"]}
    assert listed == api
