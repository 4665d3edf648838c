"""A port's fixed IPs: the addresses a create or update asks for (by subnet, by address,
or neither: one from the network's first subnet of each IP version with room), checked as
Neutron's IPAM checks them, allocated, and released. Also MAC addresses."""

from __future__ import annotations

import ipaddress
import itertools
import weakref
from collections.abc import Collection
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import delete as sa_delete
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from emulator.db import table_of
from emulator.ids import random_bytes
from emulator.network import ipam
from emulator.network.errors import fail, invalid_input
from emulator.network.models import NeutronIPAllocation, NeutronPort, NeutronSubnet
from emulator.reads import KeyedRead, KeyedRow, Prebuilt, connection_of

#: OpenStack's MAC prefix (Neutron's ``base_mac``).
BASE_MAC = "fa:16:3e"
ROUTER_OWNERS = ("network:router_interface", "network:router_gateway",
                 "network:router_interface_distributed", "network:ha_router_replicated_interface")


def new_mac(s: Session, network_id: str) -> str:
    """A MAC nothing on the network has (``fa:16:3e:xx:xx:xx``)."""
    while True:
        mac = BASE_MAC + "".join(f":{b:02x}" for b in random_bytes(3))
        if mac_free(s, network_id, mac):
            return mac


_PORT, _SUBNET = table_of(NeutronPort), table_of(NeutronSubnet)
#: The reads every port made for a server takes (built once).
_MAC_TAKEN = KeyedRead(lambda match: sa_select(_PORT.c.id).where(
    match(_PORT.c.network_id), _PORT.c.mac_address == bindparam("mac")).limit(1))
_SUBNETS = KeyedRead(lambda match: sa_select(
    _SUBNET.c.id, _SUBNET.c.network_id, _SUBNET.c.ip_version, _SUBNET.c.cidr,
    _SUBNET.c.allocation_pools).where(match(_SUBNET.c.network_id))
    .order_by(_SUBNET.c.created_at, _SUBNET.c.id))


def mac_free(s: Session, network_id: str, mac: str) -> bool:
    return not _MAC_TAKEN(s, [network_id], mac=mac)


def subnets_of(s: Session, network_id: str) -> list[KeyedRow]:
    """The network's subnets in the order they were made, as rows of what addresses are
    planned with (id, network, IP version, CIDR, pools)."""
    return _SUBNETS(s, [network_id])


def in_use(s: Session, subnet_id: str, address: str) -> bool:
    """Whether ``address`` is allocated on the subnet (one lookup by its key)."""
    return s.get(NeutronIPAllocation, (subnet_id, address)) is not None


_ALLOCATED = table_of(NeutronIPAllocation)
#: Per database and subnet: an offset into the subnet's pool addresses below which every
#: address was taken when last looked (a release resets it). A hint only: every candidate
#: is checked against the allocations, and the search wraps around to the first address.
_LOW: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()
#: Candidates checked per query.
_BATCH = 64
_TAKEN = KeyedRead(lambda match: sa_select(_ALLOCATED.c.ip_address).where(
    _ALLOCATED.c.subnet_id == bindparam("subnet"), match(_ALLOCATED.c.ip_address)))


def next_free(s: Session, subnet: NeutronSubnet, besides: Collection[str] = ()) -> str | None:
    """The subnet's lowest free address in its pools, other than ``besides`` (Neutron's
    IPAM picks any free one). The search starts at the low-water mark (``_LOW``) and checks
    candidates a batch per indexed query, so the n-th address of a busy subnet costs a
    query, not a read of all n allocations. The first batch is the first candidate alone
    (a quiet subnet's answer: one lookup, no batch of addresses made)."""
    lows = _LOW.setdefault(s.get_bind(), {})
    low = lows.get(subnet.id, 0)
    for start in (low, 0) if low else (0,):
        candidates = ipam.pool_addresses(subnet.allocation_pools, start)
        offset = start
        size = 1
        while batch := list(itertools.islice(candidates, size)):
            size = _BATCH
            used = {row.ip_address for row in _TAKEN(s, batch, subnet=subnet.id)}
            for index, address in enumerate(batch):
                if address not in used and address not in besides:
                    lows[subnet.id] = offset + index
                    return address
            offset += len(batch)
    return None


def _subnet_for(fixed: dict[str, Any], subnets: list[NeutronSubnet], network_id: str,
                device_owner: str) -> NeutronSubnet:
    """``_get_subnet_for_fixed_ip``."""
    if not subnets:
        raise invalid_input("IP allocation requires subnets for network")
    router = device_owner in ROUTER_OWNERS
    if "subnet_id" in fixed:
        subnet = next((n for n in subnets if n.id == fixed["subnet_id"]), None)
        if subnet is None:
            raise invalid_input(f"Failed to create port on network {network_id}, because "
                                f"fixed_ips included invalid subnet {fixed['subnet_id']}")
        if "ip_address" in fixed and not ipam.valid_for_subnet(subnet.cidr,
                                                               fixed["ip_address"], router):
            raise fail("InvalidIpForSubnet", ip_address=fixed["ip_address"])
        return subnet
    if "ip_address" not in fixed:
        raise invalid_input("IP allocation requires subnet_id or ip_address")
    for subnet in subnets:
        if ipam.valid_for_subnet(subnet.cidr, fixed["ip_address"], router):
            return subnet
    raise fail("InvalidIpForNetwork", ip_address=fixed["ip_address"])


def plan(s: Session, network_id: str, asked: Any, device_owner: str,
         keep: list[NeutronIPAllocation] | None = None) -> list[tuple[NeutronSubnet, str]]:
    """(subnet, address) for each fixed IP a port gets: ``asked`` (a list of
    ``{subnet_id, ip_address}``), or, when None, one address of each IP version. An
    address the port holds already (``keep``) stays its own."""
    subnets = subnets_of(s, network_id)
    held = {(a.subnet_id, a.ip_address) for a in keep or []}
    chosen: list[tuple[NeutronSubnet, str]] = []
    if asked is None:
        for version in (4, 6):
            candidates = [n for n in subnets if n.ip_version == version]
            if not candidates:
                continue
            for subnet in candidates:
                address = next_free(s, subnet)
                if address is not None:
                    chosen.append((subnet, address))
                    break
            else:
                raise fail("IpAddressGenerationFailure", net_id=network_id)
        return chosen
    for fixed in asked:
        subnet = _subnet_for(fixed, subnets, network_id, device_owner)
        if "ip_address" in fixed:
            address = str(ipaddress.ip_address(fixed["ip_address"]))
            if (subnet.id, address) not in held and in_use(s, subnet.id, address):
                raise fail("IpAddressInUse", net_id=network_id, ip_address=address)
        else:
            picked = next_free(s, subnet, {a for n, a in chosen if n.id == subnet.id})
            if picked is None:
                raise fail("IpAddressGenerationFailure", net_id=network_id)
            address = picked
        if any(a == address and n.id == subnet.id for n, a in chosen):
            raise fail("IpAddressInUse", net_id=network_id, ip_address=address)
        chosen.append((subnet, address))
    return chosen


def allocate(s: Session, port: NeutronPort, chosen: list[tuple[NeutronSubnet, str]]) -> None:
    """Give ``port`` the planned addresses (its old ones are released first)."""
    release(s, port.id)
    s.flush()
    give(s, port.id, port.network_id, chosen)


def give(s: Session, port_id: str, network_id: str,
         chosen: list[tuple[NeutronSubnet, str]]) -> None:
    """Record the planned addresses as the port's (a new port's: it holds none)."""
    if chosen:
        _ALLOCATE(connection_of(s), [
            {"subnet_id": subnet.id, "ip_address": address, "port_id": port_id,
             "network_id": network_id, "position": position}
            for position, (subnet, address) in enumerate(chosen)])


_SUBNETS_HELD = KeyedRead(lambda match: sa_select(_ALLOCATED.c.subnet_id)
                          .where(match(_ALLOCATED.c.port_id)))
_ALLOCATE = Prebuilt(sa_insert(_ALLOCATED))
_RELEASE = Prebuilt(sa_delete(_ALLOCATED).where(_ALLOCATED.c.port_id == bindparam("port")))


def release(s: Session, port_id: str) -> None:
    """The port's addresses are free again (two statements built once)."""
    lows = _LOW.get(s.get_bind(), {})
    for row in _SUBNETS_HELD(s, [port_id]):
        lows.pop(row.subnet_id, None)  # a lower address may be free now
    _RELEASE(connection_of(s), {"port": port_id})


def held(s: Session, port_id: str) -> list[NeutronIPAllocation]:
    return list(s.exec(select(NeutronIPAllocation).where(
        NeutronIPAllocation.port_id == port_id).order_by(col(NeutronIPAllocation.position))))


def of_ports(s: Session, port_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Each port's ``fixed_ips`` (one query)."""
    found: dict[str, list[dict[str, str]]] = {p: [] for p in port_ids}
    if not port_ids:
        return found
    for allocation in s.exec(select(NeutronIPAllocation).where(
            col(NeutronIPAllocation.port_id).in_(port_ids))
            .order_by(col(NeutronIPAllocation.position))):
        found[allocation.port_id].append({"subnet_id": allocation.subnet_id,
                                          "ip_address": allocation.ip_address})
    return found
