"""Neutron's IPAM for a subnet: the default gateway and allocation pools of a CIDR, the
checks of pools asked for (``ipam_backend_mixin``), and the next free address of a
subnet's pools. Addresses are handed out lowest first: Neutron picks among free ones, and
a client may not count on which."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence

from emulator.network.errors import fail, invalid_input

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Pool = tuple[Address, Address]


def network(cidr: str) -> Network:
    return ipaddress.ip_network(cidr, strict=False)


def usable(net: Network) -> tuple[int, int]:
    """The first and last address a pool may hold: not the network address (IPv4's /31
    and /32 aside), not IPv4's broadcast, not IPv6's subnet-router anycast."""
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4:
        return (first + 1, last - 1) if net.prefixlen <= 30 else (first, last)
    return first + 1, last


def default_gateway(net: Network) -> str:
    return str(net.network_address + 1)


def gateway_invalid(net: Network, gateway: str) -> bool:
    """neutron's ``check_gateway_invalid_in_subnet``: the network address, or IPv4's
    broadcast, of the subnet."""
    address = ipaddress.ip_address(gateway)
    if address not in net:
        return False
    if address == net.network_address and not (net.version == 4 and net.prefixlen >= 31):
        return True
    return net.version == 4 and net.prefixlen < 31 and address == net.broadcast_address


def _address(net: Network, value: int) -> Address:
    return ipaddress.ip_address(value) if net.version == 4 else ipaddress.IPv6Address(value)


def default_pools(net: Network, gateway: str | None) -> list[Pool]:
    """The usable range of the CIDR, the gateway cut out of it (``generate_pools``)."""
    first, last = usable(net)
    holes = sorted({int(ipaddress.ip_address(gateway))} if gateway else set())
    pools: list[Pool] = []
    start = first
    for hole in holes:
        if first <= hole <= last:
            if start < hole:
                pools.append((_address(net, start), _address(net, hole - 1)))
            start = hole + 1
    if start <= last:
        pools.append((_address(net, start), _address(net, last)))
    return pools


def _pool_text(pool: Pool) -> str:
    return f"{pool[0]}-{pool[1]}"


def checked_pools(net: Network, cidr: str, asked: Sequence[dict[str, str]],
                  gateway: str | None) -> list[Pool]:
    """Pools a create or update asks for: ordered, of the subnet's version, within its
    usable range, not overlapping, the gateway outside each."""
    first, last = usable(net)
    pools: list[Pool] = []
    for raw in asked:
        start, end = ipaddress.ip_address(raw["start"]), ipaddress.ip_address(raw["end"])
        text = f"{raw['start']}-{raw['end']}"
        if start.version != net.version or end.version != net.version or int(start) > int(end):
            raise fail("InvalidAllocationPool", pool=text)
        if int(start) < first or int(end) > last:
            raise fail("OutOfBoundsAllocationPool", pool=text, subnet_cidr=cidr)
        pools.append((start, end))
    for i, left in enumerate(pools):
        for right in pools[i + 1:]:
            if int(left[0]) <= int(right[1]) and int(right[0]) <= int(left[1]):
                raise fail("OverlappingAllocationPools", pool_1=_pool_text(left),
                           pool_2=_pool_text(right), subnet_cidr=cidr)
    if gateway:
        address = int(ipaddress.ip_address(gateway))
        for pool in pools:
            if int(pool[0]) <= address <= int(pool[1]):
                raise fail("GatewayConflictWithAllocationPools", pool=_pool_text(pool),
                           ip_address=gateway)
    return pools


def as_dicts(pools: Iterable[Pool]) -> list[dict[str, str]]:
    return [{"start": str(a), "end": str(b)} for a, b in pools]


def from_dicts(pools: Iterable[dict[str, str]]) -> list[Pool]:
    return [(ipaddress.ip_address(p["start"]), ipaddress.ip_address(p["end"])) for p in pools]


def in_pools(address: str, pools: Iterable[dict[str, str]]) -> bool:
    value = int(ipaddress.ip_address(address))
    return any(int(start) <= value <= int(end) for start, end in from_dicts(pools))


def pool_addresses(pools: Iterable[dict[str, str]], offset: int = 0) -> Iterator[str]:
    """The pools' addresses from the ``offset``-th on, lowest first."""
    for first, last in from_dicts(pools):
        size = int(last) - int(first) + 1
        if offset >= size:
            offset -= size
            continue
        kind = type(first)
        for value in range(int(first) + offset, int(last) + 1):
            yield str(kind(value))
        offset = 0


def valid_for_subnet(cidr: str, address: str, router_owned: bool = False) -> bool:
    """neutron's ``check_subnet_ip``: in the CIDR, not its network address (unless IPv6
    and a router's), not IPv4's broadcast."""
    net = network(cidr)
    value = ipaddress.ip_address(address)
    if value.version != net.version or value not in net:
        return False
    if net.version == 6:
        return value != net.network_address or router_owned
    if net.prefixlen >= 31:
        return True
    return value not in (net.network_address, net.broadcast_address)


def check_version(ip_version: int, value: str, name: str) -> None:
    """``_validate_ip_version``: an address or CIDR of the subnet's version."""
    if network(value).version != ip_version:
        raise invalid_input(f"{name} '{value}' does not match the ip_version '{ip_version}'")
