"""Scheduler hints on create, on every backend: ``same_host`` and ``different_host`` (with
the filters the emulator enables, as devstack does), hints of filters that are off doing
nothing (``query`` without JsonFilter, ``build_near_host_ip`` without
SimpleCIDRAffinityFilter), and malformed hints refused with Nova's 400.

On a one-host cloud (QEMU) ``different_host`` has nowhere to go: the server is ERROR with
Nova's NoValidHost fault."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from conformance.client import ApiSession
from conformance.polling import settle
from conformance.test_servers import Servers, image_id, message, unique  # noqa: F401

NOT_ENOUGH = "No valid host was found. There are not enough hosts available."


@pytest.fixture
def servers(admin: ApiSession, image_id: str) -> Iterator[Servers]:  # noqa: F811
    created = Servers(admin, image_id)
    yield created
    created.remove()


def hosts_by_zone(admin: ApiSession) -> dict[str, list[str]]:
    detail = admin.compute("GET", "/os-availability-zone/detail").json()
    return {zone["zoneName"]: sorted(zone["hosts"] or {})
            for zone in detail["availabilityZoneInfo"] if zone["zoneName"] != "internal"}


def boot(servers: Servers, member: ApiSession, admin: ApiSession, hints: dict[str, Any],
         status: str = "ACTIVE", **fields: Any) -> dict[str, Any]:
    response = servers.post(member, servers.body(name=unique("hint"), **fields),
                            **{"os:scheduler_hints": hints})
    assert response.status_code == 202, response.text
    return settle(admin, response.json()["server"]["id"], status)


def host(server: dict[str, Any]) -> str:
    return str(server["OS-EXT-SRV-ATTR:host"])


def test_same_host_goes_where_the_named_servers_are(servers: Servers, member: ApiSession,
                                                    admin: ApiSession) -> None:
    first = settle(admin, servers.boot(member)["id"], "ACTIVE")
    for hint in (first["id"], [first["id"]]):  # one id, or a list
        second = boot(servers, member, admin, {"same_host": hint})
        assert host(second) == host(first)


def test_different_host_avoids_them_or_finds_no_host(servers: Servers, member: ApiSession,
                                                     admin: ApiSession) -> None:
    first = settle(admin, servers.boot(member)["id"], "ACTIVE")
    zone = first["OS-EXT-AZ:availability_zone"]
    others = [h for h in hosts_by_zone(admin)[zone] if h != host(first)]
    if others:
        second = boot(servers, member, admin, {"different_host": [first["id"]]},
                      availability_zone=zone)
        assert host(second) in others
        third = boot(servers, member, admin, {"different_host": first["id"],
                                              "same_host": second["id"]})
        assert host(third) == host(second)
    else:  # one host (QEMU): nowhere else to go
        refused = boot(servers, member, admin, {"different_host": [first["id"]]},
                       status="ERROR")
        assert refused["fault"]["message"] == NOT_ENOUGH
        assert refused["fault"]["code"] == 500
        assert refused["OS-EXT-SRV-ATTR:host"] is None


def test_hints_of_filters_that_are_off_do_nothing(servers: Servers, member: ApiSession,
                                                  admin: ApiSession) -> None:
    # No host passes this query, but JsonFilter is not enabled (as in Nova's default).
    boot(servers, member, admin, {"query": '["<", "$free_ram_mb", 0]'})
    boot(servers, member, admin, {"query": {"any": "object"}})
    # Nor SimpleCIDRAffinityFilter: an address far from every host changes nothing.
    boot(servers, member, admin, {"build_near_host_ip": "192.0.2.1", "cidr": "/32"})
    # Hints no filter reads are passed on unchecked.
    boot(servers, member, admin, {"my_own_hint": ["anything", 1]})


@pytest.mark.parametrize("hints", [
    {"different_host": "not-a-uuid"},
    {"different_host": ["not-a-uuid"]},
    {"same_host": ["not-a-uuid"]},
    {"same_host": 7},
    {"group": "not-a-uuid"},
    {"query": 5},
    {"build_near_host_ip": "not-an-address"},
    {"cidr": "24"},
    {"different_cell": 3},
], ids=lambda h: next(iter(h)))
def test_malformed_hints_are_400(servers: Servers, member: ApiSession,
                                 hints: dict[str, Any]) -> None:
    response = servers.post(member, servers.body(), **{"os:scheduler_hints": hints})
    assert response.status_code == 400, response.text
    assert "Invalid input for field/attribute" in message(response)
