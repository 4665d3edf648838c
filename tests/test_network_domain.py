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
