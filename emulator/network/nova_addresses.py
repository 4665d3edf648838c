"""Fixed and floating IPs of a server's ports as Nova's compute side changes them (Nova's
``add_fixed_ip_to_instance``, ``remove_fixed_ip_from_instance``,
``associate_floating_ip``/``disassociate_floating_ip``), with Nova's messages."""

from __future__ import annotations

from sqlmodel import Session, select

from emulator.context import RequestContext
from emulator.errors import Conflict, EmulatorError, InvalidInput, NotFound
from emulator.network import fixed_ips, floating_ips
from emulator.network.models import NeutronFloatingIP, NeutronPort
from emulator.network.nova_client import nova_error, ports_of


def add_fixed_ip(s: Session, instance_uuid: str, network_id: str) -> None:
    """Nova's ``add_fixed_ip_to_instance``: one more address, from the network's first
    subnet, on the instance's port on that network."""
    for port in ports_of(s, [instance_uuid]):
        if port.network_id != network_id:
            continue
        held = [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                for a in fixed_ips.held(s, port.id)]
        subnets = fixed_ips.subnets_of(s, network_id)
        if not subnets:
            break
        try:
            fixed_ips.allocate(s, port, fixed_ips.plan(
                s, network_id, [*held, {"subnet_id": subnets[0].id}], port.device_owner,
                keep=fixed_ips.held(s, port.id)))
        except EmulatorError as exc:
            raise nova_error(exc, network_id, None) from None
        s.flush()
        return
    raise InvalidInput(f"Network could not be found for instance {instance_uuid}.")


def remove_fixed_ip(s: Session, instance_uuid: str, address: str) -> None:
    """Nova's ``remove_fixed_ip_from_instance``."""
    for port in ports_of(s, [instance_uuid]):
        held = fixed_ips.held(s, port.id)
        if any(a.ip_address == address for a in held):
            keep = [a for a in held if a.ip_address != address]
            subnets = {n.id: n for n in fixed_ips.subnets_of(s, port.network_id)}
            for fip in s.exec(select(NeutronFloatingIP).where(
                    NeutronFloatingIP.fixed_port_id == port.id,
                    NeutronFloatingIP.fixed_ip_address == address)):
                fip.fixed_port_id = fip.fixed_ip_address = fip.router_id = None
                fip.status = "DOWN"
                s.add(fip)
            fixed_ips.allocate(s, port, [(subnets[a.subnet_id], a.ip_address) for a in keep])
            s.flush()
            return
    raise InvalidInput(f"Instance {instance_uuid} doesn't have fixed IP '{address}'.")


def floating_ip_by_address(s: Session, ctx: RequestContext, address: str) -> NeutronFloatingIP:
    found = s.exec(select(NeutronFloatingIP).where(
        NeutronFloatingIP.floating_ip_address == address)).first()
    if found is None or not (ctx.is_admin or found.project_id == ctx.project_id):
        raise NotFound("floating IP not found")
    return found


def associate_floating_ip(s: Session, ctx: RequestContext, instance_uuid: str, address: str,
                          fixed_address: str) -> str | None:
    """Nova's ``associate_floating_ip``: the floating IP now NATs to ``fixed_address`` of
    the instance; the instance it was on before (if another) is returned."""
    fip = floating_ip_by_address(s, ctx, address)
    port = next((p for p in ports_of(s, [instance_uuid])
                 if any(a.ip_address == fixed_address for a in fixed_ips.held(s, p.id))), None)
    if port is None:
        raise InvalidInput(f"Fixed IP associated with address {fixed_address} could not be "
                           "found.")
    before = s.get(NeutronPort, fip.fixed_port_id) if fip.fixed_port_id else None
    try:
        floating_ips.update(s, ctx, fip.id, {"port_id": port.id,
                                             "fixed_ip_address": fixed_address})
    except EmulatorError as exc:
        raise InvalidInput(f"Unable to associate floating IP {address} to fixed IP "
                           f"{fixed_address} for instance {instance_uuid}. Error: "
                           f"{exc.message}") from None
    return before.device_id if before is not None and before.device_id != instance_uuid \
        else None


def disassociate_floating_ip(s: Session, ctx: RequestContext, instance_uuid: str,
                             address: str) -> None:
    """Nova's ``removeFloatingIp``: the address must be on one of the instance's ports."""
    fip = floating_ip_by_address(s, ctx, address)
    port = s.get(NeutronPort, fip.fixed_port_id) if fip.fixed_port_id else None
    if port is None or port.device_id != instance_uuid:
        raise Conflict(f"Floating IP {address} is not associated with instance "
                       f"{instance_uuid}.")
    floating_ips.update(s, ctx, fip.id, {"port_id": None})
