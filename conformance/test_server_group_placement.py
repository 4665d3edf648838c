"""Server group policies steer placement, on every backend: anti-affinity puts each member
on its own host until the zone's hosts run out (then Nova's NoValidHost, for a whole
multi-create at once), 2.64's ``max_server_per_host`` lets that many share, affinity keeps
members together, and the soft policies never refuse.

The zone's hosts come from the admin's zone detail: four in the simulated cloud's ``nova``,
one on QEMU (where anti-affinity's second server is refused)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from conformance.bios_image import boot_image
from conformance.cli import openstack_json
from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts
from conformance.polling import settle
from conformance.test_scheduler_hints import NOT_ENOUGH, hosts_by_zone, servers  # noqa: F401
from conformance.test_server_groups import Groups, groups  # noqa: F401
from conformance.test_servers import Servers, gone, image_id, unique  # noqa: F401


def zone_of(admin: ApiSession) -> tuple[str, list[str]]:
    """The zone with the most hosts, and its hosts."""
    zones = hosts_by_zone(admin)
    name = max(zones, key=lambda z: (len(zones[z]), z))
    return name, zones[name]


@pytest.fixture
def zone(admin: ApiSession) -> tuple[str, list[str]]:
    return zone_of(admin)


def boot(servers: Servers, session: ApiSession, group_id: str, zone: str,  # noqa: F811
         count: int = 1) -> list[str]:
    """Create ``count`` servers in the group (one request); their ids."""
    response = servers.post(session, servers.body(
        name=unique("sgp"), availability_zone=zone, min_count=count, max_count=count,
        return_reservation_id=count > 1), **{"os:scheduler_hints": {"group": group_id}})
    assert response.status_code == 202, response.text
    if count == 1:
        return [response.json()["server"]["id"]]
    reservation = response.json()["reservation_id"]
    listed = servers.admin.compute("GET", "/servers", params={
        "all_tenants": "1", "reservation_id": reservation}).json()["servers"]
    return [s["id"] for s in listed]


def settled(admin: ApiSession, ids: list[str], status: str) -> list[dict[str, Any]]:
    return [settle(admin, server_id, status) for server_id in ids]


def host(shown: dict[str, Any]) -> str:
    return str(shown["OS-EXT-SRV-ATTR:host"])


def hosts(shown: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(s["OS-EXT-SRV-ATTR:host"]) for s in shown)


def refused(shown: dict[str, Any]) -> None:
    assert shown["status"] == "ERROR"
    assert shown["fault"]["code"] == 500
    assert shown["fault"]["message"] == NOT_ENOUGH
    assert shown["OS-EXT-SRV-ATTR:host"] is None


def test_anti_affinity_with_the_cli_until_the_hosts_run_out(
        member: ApiSession, admin: ApiSession, servers: Servers, image_id: str,  # noqa: F811
        zone: tuple[str, list[str]]) -> None:
    name, zone_hosts = zone
    group = openstack_json(member.account, "server", "group", "create", "--policy",
                           "anti-affinity", unique("cli-anti"))
    try:
        made = []
        for _ in range(len(zone_hosts) + 1):
            created = openstack_json(member.account, "server", "create", "--image", image_id,
                                     "--flavor", "m1.tiny", "--availability-zone", name,
                                     "--hint", f"group={group['id']}", unique("cli-anti"))
            servers.made.append(created["id"])
            made.append(created["id"])
            # One at a time, as a user would: each is placed before the next is asked.
            last = settle(admin, created["id"], "ERROR" if len(made) > len(zone_hosts)
                          else "ACTIVE")
        placed = settled(admin, made[:-1], "ACTIVE")
        assert hosts(placed) == Counter(dict.fromkeys(zone_hosts, 1))
        refused(last)
        shown = openstack_json(member.account, "server", "show", made[-1])
        assert shown["status"] == "ERROR"
        assert shown["fault"]["message"] == NOT_ENOUGH
    finally:
        servers.remove()
        servers.made.clear()
        member.compute("DELETE", f"/os-server-groups/{group['id']}")


def test_anti_affinity_refuses_a_multi_create_whole(
        member: ApiSession, admin: ApiSession, servers: Servers, groups: Groups,  # noqa: F811
        zone: tuple[str, list[str]]) -> None:
    name, zone_hosts = zone
    group = groups.create(member, "2.64", "anti-affinity")
    made = boot(servers, member, group["id"], name, count=len(zone_hosts) + 1)
    for shown in settled(admin, made, "ERROR"):
        refused(shown)
    # The same group (its members gone) takes one per host.
    servers.remove()
    servers.made.clear()
    made = boot(servers, member, group["id"], name, count=len(zone_hosts))
    assert hosts(settled(admin, made, "ACTIVE")) == Counter(dict.fromkeys(zone_hosts, 1))


def test_max_server_per_host_lets_that_many_share(
        member: ApiSession, admin: ApiSession, servers: Servers, groups: Groups,  # noqa: F811
        zone: tuple[str, list[str]]) -> None:
    name, zone_hosts = zone
    group = groups.create(member, "2.64", "anti-affinity", rules={"max_server_per_host": 2})
    made = boot(servers, member, group["id"], name, count=2)
    assert max(hosts(settled(admin, made, "ACTIVE")).values()) <= 2
    if len(zone_hosts) == 1:
        refused(settle(admin, boot(servers, member, group["id"], name)[0], "ERROR"))


def test_affinity_keeps_members_together(
        member: ApiSession, admin: ApiSession, servers: Servers, groups: Groups,  # noqa: F811
        zone: tuple[str, list[str]]) -> None:
    name, _hosts = zone
    group = groups.create(member, "2.1", "affinity")
    first = boot(servers, member, group["id"], name)
    second = boot(servers, member, group["id"], name)
    assert len(hosts(settled(admin, first + second, "ACTIVE"))) == 1


def test_soft_anti_affinity_spreads_and_never_refuses(
        member: ApiSession, admin: ApiSession, servers: Servers, groups: Groups,  # noqa: F811
        zone: tuple[str, list[str]]) -> None:
    name, zone_hosts = zone
    group = groups.create(member, "2.15", "soft-anti-affinity")
    made = boot(servers, member, group["id"], name, count=len(zone_hosts) + 1)
    placed = hosts(settled(admin, made, "ACTIVE"))
    assert set(placed) == set(zone_hosts)  # every host used before any takes two
    assert max(placed.values()) == (2 if len(zone_hosts) > 1 else len(made))


def test_placement_is_rebuilt_after_a_restart(target: Target, durable_state: str,
                                              http: httpx.Client) -> None:
    """Where servers are outlives the process: after a restart an anti-affinity group
    whose members fill the zone still refuses another, until one of them is deleted."""
    with dedicated_emulator(target, state=durable_state) as process:
        accounts = seeded_accounts(process.url)
        member, admin = (ApiSession(accounts[r], http) for r in ("member", "admin"))
        name, zone_hosts = zone_of(admin)
        servers = Servers(admin, boot_image(member, admin, process.backend)["id"])
        group = Groups().create(member, "2.64", "anti-affinity")
        made = boot(servers, member, group["id"], name, count=len(zone_hosts))
        settled(admin, made, "ACTIVE")

        process.restart()

        refused(settle(admin, boot(servers, member, group["id"], name)[0], "ERROR"))
        freed = host(admin.compute("GET", f"/servers/{made[0]}").json()["server"])
        assert member.compute("DELETE", f"/servers/{made[0]}").status_code == 204
        gone(member, made[0])
        # The only host without a member is the one just freed.
        again = settle(admin, boot(servers, member, group["id"], name)[0], "ACTIVE")
        assert host(again) == freed
