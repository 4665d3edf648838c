"""A server's network: its Neutron ports (``emulator.network.nova_client``) and Nova's info
cache of their addresses (``InstanceAddress`` rows, what the ``ip``/``ip6`` list filters
search), written again whenever the server's ports change.

Ports the user passed (a create's ``port``, an interface attached by ``port_id``) are
recorded as ``preserve_on_delete`` (Nova keeps it in the info cache; here a system
metadata key per port): a delete unbinds them instead of deleting them."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import bindparam, delete, insert
from sqlalchemy import select as sa_select  # sqlmodel's takes at most 4 columns
from sqlmodel import Session, col, select

from backends.base import VifSpec
from emulator.compute.models import Instance, InstanceAddress, InstanceSystemMetadata
from emulator.db import Database, table_of
from emulator.errors import NotFound
from emulator.network import nova_client, nova_security_groups
from emulator.network.nova_client import Binding, Vif
from emulator.network.seeding import PRIVATE_CIDR, PRIVATE_ID
from emulator.reads import KeyedRead, KeyedRow, Prebuilt, Reader, connection_of

#: The shared network servers land on when they ask for none (the seeded ``private``).
DEFAULT_NETWORK = "private"
DEFAULT_NETWORK_ID = PRIVATE_ID
DEFAULT_SUBNET = ipaddress.IPv4Network(PRIVATE_CIDR)
PRESERVE = "preserve_on_delete:"
#: A port's place among the server's (Nova's network info is a list in request order;
#: Neutron's timestamps have whole seconds, too coarse to order by).
ORDER = "vif_order:"
#: A port's device tag (2.32 ``networks`` tags, 2.49 ``os-interface`` tags).
TAG = "vif_tag:"


@dataclass(frozen=True)
class Address:
    """One entry of a server's ``addresses``."""

    network_name: str
    address: str
    version: int
    mac_address: str
    kind: str = "fixed"


def addresses_of(vifs: Sequence[Vif]) -> tuple[Address, ...]:
    """Each port's fixed IPs, then its floating IPs (Nova's order in ``addresses``)."""
    found: list[Address] = []
    for vif in vifs:
        for address in vif.addresses:
            found.append(Address(vif.network_name, address, nova_client.version_of(address),
                                 vif.mac))
        for address in vif.floating_ips:
            found.append(Address(vif.network_name, address, nova_client.version_of(address),
                                 vif.mac, "floating"))
    return tuple(found)


_ADDRESS, _SYSTEM_METADATA = table_of(InstanceAddress), table_of(InstanceSystemMetadata)
_FORGET_ADDRESSES = Prebuilt(delete(_ADDRESS).where(
    _ADDRESS.c.instance_uuid == bindparam("server")))
_CACHE_ADDRESS = Prebuilt(insert(_ADDRESS))
_REMEMBER = Prebuilt(insert(_SYSTEM_METADATA))
_FORGET_ORDER = Prebuilt(delete(_SYSTEM_METADATA).where(
    _SYSTEM_METADATA.c.instance_uuid == bindparam("server"),
    _SYSTEM_METADATA.c.key.startswith(ORDER, autoescape=True)))
_INSTANCE = table_of(Instance)
#: What a build's networking reads of its server.
_BUILDING = KeyedRead(lambda match: sa_select(
    _INSTANCE.c.uuid, _INSTANCE.c.project_id, _INSTANCE.c.host, _INSTANCE.c.availability_zone,
    _INSTANCE.c.requested_networks, _INSTANCE.c.security_groups).where(match(_INSTANCE.c.uuid)))
_ORDERS = KeyedRead(lambda match: sa_select(
    _SYSTEM_METADATA.c.instance_uuid, _SYSTEM_METADATA.c.key, _SYSTEM_METADATA.c.value)
    .where(match(_SYSTEM_METADATA.c.instance_uuid),
           _SYSTEM_METADATA.c.key.startswith(ORDER, autoescape=True)))


def forget_addresses(s: Reader, server_id: str) -> None:
    """The server's info cache emptied (one statement built once)."""
    _FORGET_ADDRESSES(connection_of(s), {"server": server_id})


def server_vifs(s: Session, server_ids: Sequence[str]) -> dict[str, list[Vif]]:
    """The servers' ports in the order they were plugged (a few queries for all)."""
    found = nova_client.instance_vifs(s, server_ids)
    if not any(found.values()):
        return found
    places: dict[tuple[str, str], str] = {
        (uuid, key[len(ORDER):]): value for uuid, key, value in _ORDERS(s, server_ids)}

    def place(server_id: str, vif: Vif) -> str:
        return places.get((server_id, vif.port_id), "~")

    return {uuid: sorted(vifs, key=partial(place, uuid)) for uuid, vifs in found.items()}


def remember_order(s: Session, server_id: str, port_ids: Sequence[str],
                   first: bool = False) -> None:
    """Record ``port_ids`` as the server's next ports, in that order (``first``: its
    first ones, at its build: what an earlier try of the build recorded, one cut short by
    a restart, is replaced)."""
    if first:
        connection = connection_of(s)
        _FORGET_ORDER(connection, {"server": server_id})
        if not port_ids:
            return
        _REMEMBER(connection, [
            {"instance_uuid": server_id, "key": ORDER + port_id, "value": f"{place:08d}"}
            for place, port_id in enumerate(port_ids)])
        return
    taken = s.exec(select(InstanceSystemMetadata.key).where(
        InstanceSystemMetadata.instance_uuid == server_id,
        col(InstanceSystemMetadata.key).startswith(ORDER))).all()
    for place, port_id in enumerate(port_ids, start=len(taken)):
        s.merge(InstanceSystemMetadata(instance_uuid=server_id, key=ORDER + port_id,
                                       value=f"{place:08d}"))


def remembered_ports(s: Session, server_id: str) -> set[str]:
    """The ports the server was given (its build's and those attached since), as recorded
    (``remember_order``), whether or not they still exist."""
    return {key[len(ORDER):] for key in s.exec(select(InstanceSystemMetadata.key).where(
        InstanceSystemMetadata.instance_uuid == server_id,
        col(InstanceSystemMetadata.key).startswith(ORDER))).all()}


_CACHED = KeyedRead(lambda match: (
    sa_select(_ADDRESS.c.instance_uuid, _ADDRESS.c.network_name, _ADDRESS.c.address,
              _ADDRESS.c.version, _ADDRESS.c.mac_address, _ADDRESS.c.kind)
    .where(match(_ADDRESS.c.instance_uuid)).order_by(_ADDRESS.c.id)))


def cached_addresses(s: Reader, server_ids: Sequence[str]) -> dict[str, tuple[Address, ...]]:
    """The servers' addresses as their info caches hold them (one query for all): what
    Nova's views show (``instance.info_cache``), written again from the ports at every
    change the compute side makes or Neutron's events tell (``refresh_cache``)."""
    found: dict[str, list[Address]] = {uuid: [] for uuid in server_ids}
    for uuid, *fields in _CACHED(s, server_ids):
        found[uuid].append(Address(*fields))
    return {uuid: tuple(addresses) for uuid, addresses in found.items()}


def refresh_cache(s: Session, server_id: str) -> list[Vif]:
    """Write the server's info cache again from its ports; the ports."""
    connection = connection_of(s)
    _FORGET_ADDRESSES(connection, {"server": server_id})
    vifs = server_vifs(s, [server_id])[server_id]
    cached = [{"instance_uuid": server_id, "network_name": a.network_name,
               "address": a.address, "version": a.version, "mac_address": a.mac_address,
               "kind": a.kind} for a in addresses_of(vifs)]
    if cached:
        _CACHE_ADDRESS(connection, cached)
    return vifs


def binding(row: Instance | KeyedRow) -> Binding:
    return Binding(instance_uuid=row.uuid, project_id=row.project_id, host=row.host or "",
                   zone=row.availability_zone or "nova")


def preserve(s: Session, server_id: str, port_id: str) -> None:
    s.merge(InstanceSystemMetadata(instance_uuid=server_id, key=PRESERVE + port_id,
                                   value="True"))


_PRESERVED = KeyedRead(lambda match: sa_select(_SYSTEM_METADATA.c.key).where(
    match(_SYSTEM_METADATA.c.instance_uuid),
    _SYSTEM_METADATA.c.key.startswith(PRESERVE, autoescape=True)))


def preserved(s: Session, server_id: str) -> set[str]:
    """The user's ports the server was given (kept, unbound, at its delete)."""
    return {row.key[len(PRESERVE):] for row in _PRESERVED(s, [server_id])}


def tag_port(s: Session, server_id: str, port_id: str, tag: str | None) -> None:
    if tag:
        s.merge(InstanceSystemMetadata(instance_uuid=server_id, key=TAG + port_id, value=tag))


def port_tags(s: Session, server_id: str) -> dict[str, str]:
    return {m.key[len(TAG):]: m.value for m in s.exec(select(InstanceSystemMetadata).where(
        InstanceSystemMetadata.instance_uuid == server_id,
        col(InstanceSystemMetadata.key).startswith(TAG)))}


def forget_port(s: Session, server_id: str, port_id: str) -> None:
    """The port left the server: what was recorded of it goes."""
    for prefix in (PRESERVE, ORDER, TAG):
        found = s.get(InstanceSystemMetadata, (server_id, prefix + port_id))
        if found is not None:
            s.delete(found)


def allocate_address(db: Database, server_id: str) -> tuple[VifSpec, ...]:
    """Nova's ``allocate_for_instance`` at the build's networking step: the ports of the
    request made or bound on the server's host, the info cache written; an exhausted
    subnet or a port taken meanwhile raises (the build fails). The ports, as the backend
    plugs them."""
    with db.session() as s:
        found = _BUILDING(s, [server_id])
        if not found:
            raise NotFound(f"Instance {server_id} could not be found.")
        row = found[0]
        requested = row.requested_networks
        groups = nova_security_groups.security_group_ids(s, row.project_id,
                                                         row.security_groups)
        plugged = nova_client.allocate_for_instance(s, binding(row), requested, groups)
        remember_order(s, server_id, plugged, first=True)
        for request, port_id in zip(nova_client.requests(requested), plugged, strict=False):
            if request.port_id:
                preserve(s, server_id, request.port_id)
            tag_port(s, server_id, port_id, request.tag)
        s.flush()
        return tuple(vif_spec(v) for v in refresh_cache(s, server_id))


def release_ports(db: Database, server_id: str) -> None:
    """Nova's ``deallocate_for_instance`` when the server is deleted (or its build failed):
    its ports go, and its addresses with them. A server deleted before its build gave it a
    port costs a read and a statement."""
    with db.reading() as connection:
        ported = nova_client.has_ports(connection, server_id)
    if not ported:
        with db.writing() as connection:
            _FORGET_ADDRESSES(connection, {"server": server_id})
        return
    with db.session() as s:
        nova_client.deallocate_for_instance(s, server_id, preserved(s, server_id))
        _FORGET_ADDRESSES(s.connection(), {"server": server_id})


def vif_spec(vif: Vif) -> VifSpec:
    return VifSpec(port_id=vif.port_id, mac=vif.mac, fixed_ips=vif.addresses,
                   network=vif.network_name, floating_ips=vif.floating_ips)


def sync_bindings(db: Database, server_id: str) -> None:
    """The server's ports bound where it now is (Nova updates ``binding:host_id`` when a
    move, an unshelve or an evacuation lands it on a host; a shelve offload unbinds)."""
    with db.session() as s:
        row = s.exec(select(Instance).where(Instance.uuid == server_id)).first()
        if row is not None:
            nova_client.bind_host(s, [server_id], row.host or "")
