"""Neutron as Nova's compute side uses it: the calls of Nova's ``nova/network/neutron.py``
API (``validate_networks``, ``allocate_for_instance``, ``deallocate_for_instance``,
``get_instance_nw_info``, fixed and floating IPs, security groups of an instance), each
given a ``Session`` so that the compute domain commits them with its own rows.

Neutron's own errors are turned into Nova's (the messages Nova's API shows); the compute
domain never sees a Neutron fault. Ports are made and bound with an admin context in the
instance's project, as Nova's admin client does."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.db import table_of
from emulator.errors import Conflict, EmulatorError, InvalidInput, NotFound, OverQuota
from emulator.network import (
    fixed_ips,
    networks,
    ports,
    quotas,
)
from emulator.network.models import (
    NeutronFloatingIP,
    NeutronIPAllocation,
    NeutronNetwork,
    NeutronPort,
    NeutronSubnet,
)
from emulator.reads import KeyedRead, Reader


@dataclass(frozen=True)
class Request:
    """One entry of a create's ``networks`` (Nova's ``NetworkRequest``)."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class Vif:
    """A port of an instance as Nova's network info holds it."""

    port_id: str
    mac: str
    network_id: str
    network_name: str
    status: str
    #: (address, subnet id) of each fixed IP, in the port's order.
    fixed_ips: tuple[tuple[str, str], ...]
    #: Floating IPs associated with the port.
    floating_ips: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(address for address, _ in self.fixed_ips)


def admin(project_id: str) -> RequestContext:
    """Nova's admin client, acting in the instance's project."""
    return RequestContext(user_id="nova", project_id=project_id,
                          roles=frozenset({"admin"}))


def requests(requested: Any) -> list[Request]:
    """A create's ``networks`` (a list) as requests; [] for None/"auto"/"none"."""
    if not isinstance(requested, list):
        return []
    return [Request(network_id=n.get("uuid") or None, port_id=n.get("port") or None,
                    fixed_ip=n.get("fixed_ip"), tag=n.get("tag")) for n in requested]


# -- networks a project may use ----------------------------------------------------------


_NETWORK = table_of(NeutronNetwork)
#: Nova's ``_get_available_networks`` read: the project's own networks, then the shared ones
#: (each in creation order); external ones are left out.
_AVAILABLE = KeyedRead(lambda match: sa_select(_NETWORK.c.id).where(
    _NETWORK.c.external.is_(False), or_(_NETWORK.c.shared.is_(True), match(_NETWORK.c.project_id)))
    .order_by(_NETWORK.c.shared, _NETWORK.c.created_at))


def available_networks(s: Session, project_id: str) -> list[str]:
    """Nova's ``_get_available_networks`` without ids: the ids of the project's own
    networks, then of the shared ones.

    NOTE: external networks are left out (Nova would offer a project's own external
    network and then refuse it, or find two networks for the admin project that owns the
    seeded ``public``): a server asking for no network lands on ``private``."""
    return [row.id for row in _AVAILABLE(s, [project_id])]


def _auto_network(s: Session, project_id: str) -> str | None:
    """The id of the only network the project can use (None: there is none)."""
    nets = available_networks(s, project_id)
    if len(nets) > 1:
        raise Conflict("Multiple possible networks found, use a Network ID to be more "
                       "specific.")
    return nets[0] if nets else None


def _has_subnet(s: Session, network_id: str) -> bool:
    return s.exec(select(NeutronSubnet.id).where(
        NeutronSubnet.network_id == network_id)).first() is not None


def _visible_port(s: Session, ctx: RequestContext, port_id: str) -> NeutronPort:
    try:
        return ports.visible_row(s, ctx, port_id)
    except NotFound:
        raise InvalidInput(f"Port id {port_id} could not be found.") from None


def validate_networks(s: Session, ctx: RequestContext, requested: Any, max_count: int) -> int:
    """Nova's ``_check_requested_networks`` and ``validate_networks`` for a create:
    the ports exist and are free, the networks exist (visible to the caller) and have a
    subnet, a fixed IP is free; with no network asked for, one network at most. How many
    of ``max_count`` servers the project's port quota leaves room for."""
    if requested == "none":
        return max_count
    _check_requests(s, ctx, requested, max_count)
    asked = requests(requested)
    needed = sum(1 for r in asked if not r.port_id) if asked else 1
    return _room_for(s, ctx.project_id or "", needed, max_count)


def _room_for(s: Session, project_id: str, needed: int, max_count: int) -> int:
    """Nova's port quota check of ``validate_networks``."""
    if not needed:
        return max_count
    limit = quotas.limits(s, project_id)["port"]
    if limit == quotas.UNLIMITED:
        return max_count
    held = quotas.used(s, project_id, "port")
    free = limit - held
    if free < 0:
        raise OverQuota(f"The number of defined ports: {held} is over the limit: {limit}")
    return max_count if free >= needed * max_count else free // needed


def _check_requests(s: Session, ctx: RequestContext, requested: Any, max_count: int) -> None:
    asked = requests(requested)
    if max_count > 1:
        if any(r.fixed_ip for r in asked):
            raise InvalidInput("Failed to launch instances: Unable to launch multiple "
                               "instances with a single configured fixed IP. Please launch "
                               "your instance one by one with different fixed IP addresses.")
        if any(r.port_id for r in asked):
            raise InvalidInput("Failed to launch instances: Unable to launch multiple "
                               "instances with a single configured port ID. Please launch "
                               "your instance one by one with different ports.")
    if not asked:
        _auto_network(s, ctx.project_id or "")
        return
    for request in asked:
        if request.port_id:
            port = _visible_port(s, ctx, request.port_id)
            if port.device_id:
                raise Conflict(f"Port {port.id} is still in use.")
            if not fixed_ips.held(s, port.id):
                raise InvalidInput(f"Port {port.id} requires a FixedIP in order to be used.")
            continue
        assert request.network_id is not None
        try:
            network = networks.visible_row(s, ctx, request.network_id)
        except NotFound:
            raise InvalidInput(f"Network {request.network_id} could not be found.") from None
        if not _has_subnet(s, network.id):
            raise InvalidInput(f"Network {network.id} requires a subnet in order to boot "
                               "instances on.")
        if request.fixed_ip:
            holder = s.exec(select(NeutronPort.device_id).join(
                NeutronIPAllocation, col(NeutronIPAllocation.port_id) == col(NeutronPort.id))
                .where(NeutronIPAllocation.network_id == network.id,
                       NeutronIPAllocation.ip_address == request.fixed_ip)).first()
            if holder is not None:
                raise InvalidInput(f"Fixed IP address {request.fixed_ip} is already in use on "
                                   f"instance {holder}.")


# -- ports of instances -------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """Where an instance's ports are bound: the instance, its project, host and zone."""

    instance_uuid: str
    project_id: str
    host: str
    zone: str

    @property
    def owner(self) -> str:
        return f"compute:{self.zone}"


def nova_error(exc: EmulatorError, network_id: str, fixed_ip: str | None) -> EmulatorError:
    """Nova's ``_create_port_minimal`` translations of Neutron's errors."""
    kind = getattr(exc, "kind", "")
    if kind in ("InvalidIpForNetwork", "InvalidIpForSubnet"):
        return InvalidInput(f"Fixed IP {fixed_ip} is not a valid ip address for network "
                            f"{network_id}.")
    if kind == "IpAddressInUse":
        return InvalidInput(f"Fixed IP {fixed_ip} is already in use.")
    if kind == "IpAddressGenerationFailure":
        return InvalidInput(f"No fixed IP addresses available for network: {network_id}")
    if kind == "OverQuota":
        return OverQuota("Maximum number of ports exceeded")
    return exc


def create_port(s: Session, binding: Binding, network_id: str, fixed_ip: str | None = None,
                group_ids: Sequence[str] | None = None,
                fixed: list[dict[str, str]] | None = None) -> str:
    """A port for the instance on ``network_id`` (Nova's ``_create_port_minimal`` and
    its binding update in one)."""
    ctx = admin(binding.project_id)
    found = _NETWORK_ROW(s, [network_id])
    if not found:
        raise InvalidInput(f"Network {network_id} could not be found.")
    network = found[0]
    values: dict[str, Any] = {
        "project_id": binding.project_id, "device_id": binding.instance_uuid,
        "device_owner": binding.owner, "binding:host_id": binding.host, "name": "",
        "admin_state_up": True}
    if fixed_ip:
        values["fixed_ips"] = [{"ip_address": fixed_ip}]
    elif fixed:
        values["fixed_ips"] = fixed
    if group_ids:
        values["security_groups"] = list(group_ids)
    try:
        return str(ports.make(s, ctx, network, values)["id"])
    except EmulatorError as exc:
        raise nova_error(exc, network_id, fixed_ip) from None


def bind_port(s: Session, binding: Binding, port_id: str) -> None:
    """A port the user made, now the instance's: device, owner, host."""
    port = s.get(NeutronPort, port_id)
    if port is None:
        raise InvalidInput(f"Port id {port_id} could not be found.")
    if port.device_id and port.device_id != binding.instance_uuid:
        raise Conflict(f"Port {port_id} is still in use.")
    port.device_id, port.device_owner = binding.instance_uuid, binding.owner
    port.binding_host_id, port.status = binding.host, "ACTIVE"
    s.add(port)


def allocate_for_instance(s: Session, binding: Binding, requested: Any,
                          group_ids: Sequence[str]) -> list[str]:
    """Nova's ``allocate_for_instance``: the ports of the request (made, or the user's
    bound), or one on the only network the project can use, in the security groups
    ``group_ids`` (none: the project's default); their ids in the request's order."""
    if requested == "none":
        return []
    asked = requests(requested)
    if not asked:
        network = _auto_network(s, binding.project_id)
        asked = [] if network is None else [Request(network_id=network)]
    plugged = []
    for request in asked:
        if request.port_id:
            bind_port(s, binding, request.port_id)
            plugged.append(request.port_id)
            continue
        assert request.network_id is not None
        plugged.append(create_port(s, binding, request.network_id, request.fixed_ip,
                                   group_ids))
    s.flush()
    return plugged


def bind_host(s: Session, instance_uuids: Iterable[str], host: str) -> None:
    """Point the instances' ports at a new host (a move, an unshelve); "" unbinds."""
    for port in ports_of(s, list(instance_uuids)):
        if port.binding_host_id != host:
            port.binding_host_id = host
            port.status = "ACTIVE" if host else "DOWN"
            s.add(port)


def deallocate_for_instance(s: Session, instance_uuid: str, preserve: Iterable[str]) -> None:
    """Nova's ``deallocate_for_instance``: the ports it made are deleted (their floating
    IPs let go, not deleted); the user's (``preserve``) unbound and kept."""
    keep = set(preserve)
    for row in _PORT_IDS(s, [instance_uuid]):
        if row.id in keep:
            port = s.get(NeutronPort, row.id)
            assert port is not None
            unbind(s, port)
        else:
            ports.drop(s, row.id)
    s.flush()


def unbind(s: Session, port: NeutronPort) -> None:
    port.device_id = port.device_owner = port.binding_host_id = ""
    port.binding_profile = {}
    port.status = "DOWN"
    s.add(port)


_PORT = table_of(NeutronPort)
_PORT_IDS = KeyedRead(lambda match: sa_select(_PORT.c.id).where(match(_PORT.c.device_id)))


def has_ports(s: Reader, instance_uuid: str) -> bool:
    """Whether a port is bound to the instance (a read of one index)."""
    return bool(_PORT_IDS(s, [instance_uuid]))


def ports_of(s: Session, instance_uuids: list[str]) -> list[NeutronPort]:
    if not instance_uuids:
        return []
    return list(s.exec(select(NeutronPort).where(
        col(NeutronPort.device_id).in_(instance_uuids))
        .order_by(col(NeutronPort.created_at), col(NeutronPort.id))))


_ALLOCATION, _FLOATING = table_of(NeutronIPAllocation), table_of(NeutronFloatingIP)
#: ``instance_vifs``' reads (every build and every port change refreshes an info cache).
_VIF_PORTS = KeyedRead(lambda match: sa_select(
    _PORT.c.id, _PORT.c.device_id, _PORT.c.network_id, _PORT.c.mac_address, _PORT.c.status)
    .where(match(_PORT.c.device_id)).order_by(_PORT.c.created_at, _PORT.c.id))
_FIXED_OF = KeyedRead(lambda match: sa_select(
    _ALLOCATION.c.port_id, _ALLOCATION.c.ip_address, _ALLOCATION.c.subnet_id)
    .where(match(_ALLOCATION.c.port_id)).order_by(_ALLOCATION.c.position))
_FLOATING_OF = KeyedRead(lambda match: sa_select(
    _FLOATING.c.fixed_port_id, _FLOATING.c.floating_ip_address)
    .where(match(_FLOATING.c.fixed_port_id)).order_by(_FLOATING.c.created_at))
#: What a port made for a server reads of its network.
_NETWORK_ROW = KeyedRead(lambda match: sa_select(
    _NETWORK.c.id, _NETWORK.c.port_security_enabled).where(match(_NETWORK.c.id)))
_NETWORK_NAMES = KeyedRead(lambda match: sa_select(_NETWORK.c.id, _NETWORK.c.name)
                           .where(match(_NETWORK.c.id)))


def instance_vifs(s: Session, instance_uuids: Sequence[str]) -> dict[str, list[Vif]]:
    """Nova's ``get_instance_nw_info`` for many instances at once (a few queries, not a
    pass per instance): each instance's ports with fixed and floating IPs."""
    found: dict[str, list[Vif]] = {u: [] for u in instance_uuids}
    rows = _VIF_PORTS(s, list(instance_uuids))
    if not rows:
        return found
    ids = [p.id for p in rows]
    addresses: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
    for port_id, address, subnet_id in _FIXED_OF(s, ids):
        addresses[port_id].append((address, subnet_id))
    floating: dict[str, list[str]] = {i: [] for i in ids}
    for port_id, address in _FLOATING_OF(s, ids):
        floating[port_id].append(address)
    names = dict(_NETWORK_NAMES(s, list({p.network_id for p in rows})))
    for p in rows:
        if p.device_id in found:
            found[p.device_id].append(Vif(
                port_id=p.id, mac=p.mac_address, network_id=p.network_id,
                network_name=names.get(p.network_id, ""), status=p.status,
                fixed_ips=tuple(addresses[p.id]), floating_ips=tuple(floating[p.id])))
    return found


# -- interfaces ------------------------------------------------------------------------------


def attach_port(s: Session, ctx: RequestContext, binding: Binding, port_id: str | None,
                network_id: str | None, fixed: list[str]) -> str:
    """Nova's ``allocate_for_instance`` for one interface attach: the user's port bound,
    or a new one on the network (the project's only network when neither is given), with
    ``os-interface``'s codes (an ambiguous network is a 400 there, a fixed IP in use 409)."""
    if port_id:
        port = _visible_port_404(s, ctx, port_id)
        if port.device_id:
            raise Conflict(f"Port {port_id} is still in use.")
        bind_port(s, binding, port_id)
        return port_id
    if network_id is None:
        nets = available_networks(s, binding.project_id)
        if not nets:
            raise InvalidInput("No specific network was requested and none are available "
                               f"for project '{binding.project_id}'.")
        if len(nets) > 1:
            raise InvalidInput("Multiple possible networks found, use a Network ID to be "
                               "more specific.")
        network_id = nets[0]
    try:
        networks.visible_row(s, ctx, network_id)
    except NotFound:
        raise NotFound(f"Network {network_id} could not be found.") from None
    fixed_ip = fixed[0] if fixed else None
    try:
        return create_port(s, binding, network_id, fixed_ip)
    except InvalidInput as exc:
        if fixed_ip and exc.message == f"Fixed IP {fixed_ip} is already in use.":
            raise Conflict(exc.message) from None
        raise


def _visible_port_404(s: Session, ctx: RequestContext, port_id: str) -> NeutronPort:
    try:
        return ports.visible_row(s, ctx, port_id)
    except NotFound:
        raise NotFound(f"Port {port_id} could not be found.") from None


def instance_port(s: Session, instance_uuid: str, port_id: str) -> NeutronPort:
    port = s.get(NeutronPort, port_id)
    if port is None or port.device_id != instance_uuid:
        raise NotFound(f"Port {port_id} is not attached")
    return port


def detach_port(s: Session, instance_uuid: str, port_id: str, preserve: bool) -> None:
    """The port leaves the instance: deleted when Nova made it, else unbound."""
    port = instance_port(s, instance_uuid, port_id)
    if preserve:
        unbind(s, port)
    else:
        ports.remove(s, port)
    s.flush()


def version_of(address: str) -> int:
    return ipaddress.ip_address(address).version
