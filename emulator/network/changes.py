"""Which servers a Neutron API call changed: Neutron tells Nova ``network-changed`` for
a server whose port got or lost a floating IP or a fixed IP, and ``network-vif-deleted``
for one whose port was deleted (an unbound one is found too: see
``ServerNetworking.network_changed``); Nova refreshes the server's addresses (its
info cache) and tells the hypervisor (a deleted port's NIC is unplugged). Here the network
service finds those servers; the compute side (``ServerNetworking.network_changed``) does
the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlmodel import Session, col, select

from emulator.network.models import NeutronFloatingIP, NeutronPort

#: Told the ids of the servers a call changed, after its transaction committed.
NetworkChanged = Callable[[set[str]], None]

#: The collections whose changes can change a server's addresses.
WATCHED = frozenset({"floatingips", "ports"})


def ports_of(s: Session, collection: str, resource_ids: Iterable[str]) -> set[str]:
    """The ports whose addresses depend on these resources now: a floating IP's fixed
    port, or the port itself."""
    ids = [i for i in resource_ids if i]
    if not ids:
        return set()
    if collection == "ports":
        return set(ids)
    return {f.fixed_port_id for f in s.exec(select(NeutronFloatingIP).where(
        col(NeutronFloatingIP.id).in_(ids))) if f.fixed_port_id}


def servers_of(s: Session, port_ids: set[str]) -> set[str]:
    """The servers (ports a compute service owns) among ``port_ids``' devices."""
    if not port_ids:
        return set()
    return {p.device_id for p in s.exec(select(NeutronPort).where(
        col(NeutronPort.id).in_(port_ids))) if p.device_id
        and p.device_owner.startswith("compute:")}
