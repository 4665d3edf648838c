"""Neutron as Nova's compute side uses it (``emulator.network.nova_client``) and a server's
ports as the compute domain keeps them (``emulator.compute.addresses``), without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from emulator.compute.addresses import remember_order, server_vifs
from emulator.compute.models import Instance
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, InvalidInput
from emulator.network import nova_client, nova_security_groups
from emulator.network.models import NeutronFloatingIP, NeutronPort
from emulator.network.nova_client import Binding
from emulator.network.seeding import PRIVATE_ID, PUBLIC_ID
from emulator.network.service import NetworkService

MEMBER = RequestContext(user_id="m", project_id="p1", roles=frozenset({"member"}))


@pytest.fixture
def network() -> Iterator[NetworkService]:
    service = NetworkService(Database("sqlite://"))
    service.seed("admin-project")
    yield service
    service.db.close()


def binding(server_id: str = "server-1") -> Binding:
    return Binding(instance_uuid=server_id, project_id="p1", host="host-a", zone="nova")


def own_network(network: NetworkService, cidr: str = "192.168.5.0/24") -> str:
    made = network.create(MEMBER, "networks", {"network": {"name": "mine"}})[0]
    network.create(MEMBER, "subnets", {"subnet": {
        "network_id": made["id"], "cidr": cidr, "ip_version": 4}})
    return str(made["id"])


def test_auto_is_a_port_on_private_bound_to_the_host(network: NetworkService) -> None:
    with network.db.session() as s:
        [port_id] = nova_client.allocate_for_instance(s, binding(), None, [])
        port = s.get(NeutronPort, port_id)
        assert port is not None
        assert (port.network_id, port.device_id, port.device_owner, port.binding_host_id) == \
            (PRIVATE_ID, "server-1", "compute:nova", "host-a")
        [vif] = nova_client.instance_vifs(s, ["server-1"])["server-1"]
        assert vif.network_name == "private" and vif.addresses[0].startswith("10.0.")
    with network.db.session() as s:
        assert nova_client.allocate_for_instance(s, binding("s2"), "none", []) == []


def test_auto_with_an_own_network_and_the_shared_one_is_ambiguous(
        network: NetworkService) -> None:
    own_network(network)
    with network.db.session() as s, pytest.raises(Conflict, match="Multiple possible"):
        nova_client.validate_networks(s, MEMBER, "auto", 1)


def test_external_networks_are_not_offered_for_auto(network: NetworkService) -> None:
    with network.db.session() as s:
        assert nova_client.available_networks(s, "admin-project") == [PRIVATE_ID]
        assert PUBLIC_ID not in nova_client.available_networks(s, "p1")


def test_delete_removes_novas_ports_unbinds_the_users_and_lets_floating_ips_go(
        network: NetworkService) -> None:
    mine = network.create(MEMBER, "ports", {"port": {"network_id": PRIVATE_ID}})[0]
    fip = network.create(MEMBER, "floatingips", {"floatingip": {
        "floating_network_id": PUBLIC_ID}})[0]
    with network.db.session() as s:
        made = nova_client.allocate_for_instance(
            s, binding(), [{"port": mine["id"]}, {"uuid": PRIVATE_ID}], [])
    assert made[0] == mine["id"]
    network.update(MEMBER, "floatingips", fip["id"], {"floatingip": {"port_id": made[1]}})
    with network.db.session() as s:
        nova_client.deallocate_for_instance(s, "server-1", preserve={mine["id"]})
    with network.db.session() as s:
        kept = s.get(NeutronPort, mine["id"])
        assert kept is not None and (kept.device_id, kept.binding_host_id) == ("", "")
        assert s.get(NeutronPort, made[1]) is None
        left = s.get(NeutronFloatingIP, fip["id"])
        assert left is not None and left.fixed_port_id is None


def test_ports_keep_the_order_they_were_plugged_in(network: NetworkService) -> None:
    """Neutron's timestamps have whole seconds: ports made together tie."""
    with network.db.session() as s:
        s.add(Instance(uuid="server-1", display_name="s", hostname="s", project_id="p1",
                       user_id="m", flavor_id="1", vm_state="active",
                       created_at=datetime.now(UTC)))
        s.flush()
        plugged = nova_client.allocate_for_instance(
            s, binding(), [{"uuid": PRIVATE_ID}] * 6, [])
        remember_order(s, "server-1", list(reversed(plugged)))
    with network.db.session() as s:
        vifs = server_vifs(s, ["server-1"])["server-1"]
        assert [v.port_id for v in vifs] == list(reversed(plugged))


def test_the_port_quota_leaves_room_for_fewer_servers(network: NetworkService) -> None:
    project = MEMBER.project_id or ""
    with network.db.session() as s:
        for _ in range(2):
            nova_client.create_port(s, binding(), PRIVATE_ID)
    network.update_quota(RequestContext("a", "admin-project", frozenset({"admin"})), project,
                         {"quota": {"port": 7}})
    with network.db.session() as s:
        assert nova_client.validate_networks(s, MEMBER, [{"uuid": PRIVATE_ID}] * 2, 9) == 2
        assert nova_client.validate_networks(s, MEMBER, "none", 9) == 9
    network.update_quota(RequestContext("a", "admin-project", frozenset({"admin"})), project,
                         {"quota": {"port": 2}})
    with network.db.session() as s:
        assert nova_client.validate_networks(s, MEMBER, "auto", 3) == 0


def test_security_groups_by_name_or_id(network: NetworkService) -> None:
    group = network.create(MEMBER, "security_groups", {"security_group": {"name": "web"}})[0]
    with network.db.session() as s:
        assert nova_security_groups.security_group_ids(s, "p1", []) == []
        assert nova_security_groups.security_group_ids(s, "p1", ["web"]) == [group["id"]]
        assert nova_security_groups.security_group_ids(s, "p1", [group["id"]]) == [group["id"]]
        with pytest.raises(InvalidInput, match=r"Security group nope not found\."):
            nova_security_groups.security_group_ids(s, "p1", ["nope"])
    network.create(MEMBER, "security_groups", {"security_group": {"name": "web"}})
    with network.db.session() as s, pytest.raises(Conflict, match="Multiple security groups"):
        nova_security_groups.security_group_ids(s, "p1", ["web"])


def test_an_exhausted_subnet_fails_with_novas_words(network: NetworkService) -> None:
    tiny = own_network(network, "192.168.6.0/30")  # one address after the gateway
    with network.db.session() as s:
        nova_client.create_port(s, binding(), tiny)
    with network.db.session() as s, pytest.raises(InvalidInput, match="No fixed IP addresses"):
        nova_client.create_port(s, binding("s2"), tiny)


def test_bind_host_moves_every_port(network: NetworkService) -> None:
    with network.db.session() as s:
        nova_client.allocate_for_instance(s, binding(), [{"uuid": PRIVATE_ID}] * 2, [])
    with network.db.session() as s:
        nova_client.bind_host(s, ["server-1"], "host-b")
    with Session(network.db.engine) as s:
        hosts = {p.binding_host_id for p in s.exec(select(NeutronPort).where(
            NeutronPort.device_id == "server-1"))}
    assert hosts == {"host-b"}
