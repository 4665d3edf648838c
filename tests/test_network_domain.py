"""The Neutron domain without HTTP: seeding is idempotent and agrees with the compute
stand-in, IPAM's pools at the edges of a CIDR, and a failed create leaves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.compute.addresses import DEFAULT_NETWORK_ID, DEFAULT_SUBNET
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict
from emulator.network import ipam
from emulator.network.seeding import PRIVATE_CIDR, PRIVATE_ID
from emulator.network.service import NetworkService

ADMIN = RequestContext(user_id="u", project_id="admin-project", roles=frozenset({"admin"}))
MEMBER = RequestContext(user_id="m", project_id="p1", roles=frozenset({"member"}))


def test_seeding_twice_adds_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    for _ in range(2):
        db = Database(url)
        network = NetworkService(db)
        network.seed("admin-project")
        names = sorted(n["name"] for n in network.index(ADMIN, "networks", []).items)
        assert names == ["private", "public"]
        assert [r["name"] for r in network.index(ADMIN, "routers", []).items] == ["router1"]
        db.close()


def test_seeded_private_network_is_the_stand_in() -> None:
    assert PRIVATE_ID == DEFAULT_NETWORK_ID
    assert PRIVATE_CIDR == str(DEFAULT_SUBNET)


@pytest.mark.parametrize(("cidr", "gateway", "pools"), [
    ("10.0.0.0/24", "10.0.0.1", [("10.0.0.2", "10.0.0.254")]),
    ("10.0.0.0/24", "10.0.0.100", [("10.0.0.1", "10.0.0.99"), ("10.0.0.101", "10.0.0.254")]),
    ("10.0.0.0/31", None, [("10.0.0.0", "10.0.0.1")]),
    ("10.0.0.0/32", None, [("10.0.0.0", "10.0.0.0")]),
    ("fd00::/126", "fd00::1", [("fd00::2", "fd00::3")]),
])
def test_default_pools(cidr: str, gateway: str | None, pools: list[tuple[str, str]]) -> None:
    made = ipam.as_dicts(ipam.default_pools(ipam.network(cidr), gateway))
    assert made == [{"start": a, "end": b} for a, b in pools]


def test_failed_bulk_create_leaves_nothing() -> None:
    network = NetworkService(Database("sqlite://"))
    network.seed("admin-project")
    with pytest.raises(Conflict):
        network.create(MEMBER, "security_groups", {"security_groups": [
            {"name": "fine"}, {"name": "default"}]})
    names = [g["name"] for g in network.index(MEMBER, "security_groups", []).items]
    assert names == ["default"]


def test_ports_get_the_lowest_free_address_past_a_batch_and_after_releases() -> None:
    """IPAM's search from its low-water mark: the lowest free address, across more than one
    batch of candidates, a released one taken again first, a pool of two pools, an
    exhausted subnet."""
    network = NetworkService(Database("sqlite://"))
    network.seed("admin-project")
    [made] = network.create(MEMBER, "networks", {"network": {"name": "n"}})
    network.create(MEMBER, "subnets", {"subnet": {
        "network_id": made["id"], "cidr": "10.9.0.0/24", "ip_version": 4,
        "allocation_pools": [{"start": "10.9.0.2", "end": "10.9.0.90"},
                             {"start": "10.9.0.200", "end": "10.9.0.209"}]}})

    def port() -> tuple[str, str]:
        [body] = network.create(MEMBER, "ports", {"port": {"network_id": made["id"]}})
        return str(body["id"]), str(body["fixed_ips"][0]["ip_address"])

    ports = [port() for _ in range(99)]  # 89 + 10: both pools, full
    assert [a for _, a in ports] == [f"10.9.0.{n}" for n in [*range(2, 91), *range(200, 210)]]
    with pytest.raises(Conflict, match="No more IP addresses available"):
        port()
    for port_id, _ in (ports[70], ports[3]):
        network.delete(MEMBER, "ports", port_id)
    assert [port()[1], port()[1]] == ["10.9.0.5", "10.9.0.72"]
