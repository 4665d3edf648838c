"""A server's network after its build: interfaces (``os-interface``), fixed IPs (multinic),
floating IPs and security groups (the server actions), each changing the server's ports
in Neutron (``emulator.network.nova_client``) and its info cache in one transaction, then
telling the backend (``attach_interface``/``detach_interface``/``update_interface``).

NOTE: as Nova's compute manager does for these calls, the backend is called within the
request (Nova's RPC ``call``), not in the background."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from backends.base import BackendError, ComputeBackend, DeviceNotFound, VifSpec
from emulator.compute.addresses import (
    binding,
    forget_port,
    port_tags,
    preserve,
    preserved,
    refresh_cache,
    remember_order,
    remembered_ports,
    server_vifs,
    tag_port,
    vif_spec,
)
from emulator.compute.backend_errors import failure_message
from emulator.compute.instance_actions import InstanceActions, start_action
from emulator.compute.models import Instance, InstanceAddress
from emulator.compute.policy import authorize
from emulator.compute.records import check_lock, now, visible_instance
from emulator.compute.specs import instance_spec
from emulator.compute.states import VmState
from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import BackendFailure, Conflict, InvalidInput, NotFound
from emulator.network import nova_addresses, nova_client, nova_security_groups
from emulator.network.models import NeutronPort
from emulator.network.nova_client import Vif

#: ``background(server_id, work)``: run ``work`` for the server in the background.
Background = Callable[[str, Coroutine[Any, Any, None]], None]
DETACH_EVENT = "compute_detach_interface"

#: Nova's ``check_instance_state`` on ``attach_interface``/``detach_interface``.
INTERFACE_STATES = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED})


@dataclass(frozen=True)
class Interface:
    """An ``interfaceAttachment``."""

    port_id: str
    net_id: str
    mac_addr: str
    port_state: str
    fixed_ips: tuple[dict[str, str], ...]
    tag: str | None = None


def _interface(vif: Vif, tags: dict[str, str]) -> Interface:
    return Interface(port_id=vif.port_id, net_id=vif.network_id, mac_addr=vif.mac,
                     port_state=vif.status,
                     fixed_ips=tuple({"subnet_id": subnet, "ip_address": address}
                                     for address, subnet in vif.fixed_ips),
                     tag=tags.get(vif.port_id))


class ServerNetworking:
    def __init__(self, db: Database, backend: ComputeBackend, actions: InstanceActions,
                 background: Background) -> None:
        self.db = db
        self.backend = backend
        self.actions = actions
        #: Runs a server's work in the background (the lifecycle's ``aside``).
        self.background = background

    @staticmethod
    def _server(s: Session, ctx: RequestContext, server_id: str, rule: str) -> Instance:
        row = visible_instance(s, ctx, server_id)
        authorize(ctx, rule, row.project_id)
        return row

    @staticmethod
    def _vifs(s: Session, server_id: str) -> list[Vif]:
        return server_vifs(s, [server_id])[server_id]

    # -- os-interface --------------------------------------------------------------------

    def interfaces(self, ctx: RequestContext, server_id: str) -> list[Interface]:
        with self.db.session() as s:
            self._server(s, ctx, server_id, "os_compute_api:os-attach-interfaces:list")
            tags = port_tags(s, server_id)
            return [_interface(v, tags) for v in self._vifs(s, server_id)]

    def interface(self, ctx: RequestContext, server_id: str, port_id: str) -> Interface:
        with self.db.session() as s:
            self._server(s, ctx, server_id, "os_compute_api:os-attach-interfaces:show")
            for vif in self._vifs(s, server_id):
                if vif.port_id == port_id:
                    return _interface(vif, port_tags(s, server_id))
        raise NotFound(f"Instance {server_id} does not have a port {port_id}.")

    @staticmethod
    def _check_state(row: Instance, action: str) -> None:
        if row.vm_state not in INTERFACE_STATES:
            raise Conflict(f"Cannot '{action}' instance {row.uuid} while it is in vm_state "
                           f"{row.vm_state}")
        if row.task_state is not None:
            raise Conflict(f"Cannot '{action}' instance {row.uuid} while it is in task_state "
                           f"{row.task_state}")

    async def attach(self, ctx: RequestContext, server_id: str, port_id: str | None,
                     net_id: str | None, fixed_ips: list[str],
                     tag: str | None = None) -> Interface:
        """Nova's ``attach_interface``: the port made or bound, plugged by the backend;
        the port is let go again if the backend refuses."""
        with self.db.session() as s:
            row = self._server(s, ctx, server_id, "os_compute_api:os-attach-interfaces:create")
            check_lock(ctx, row)
            self._check_state(row, "attach_interface")
            attached = nova_client.attach_port(s, ctx, binding(row), port_id, net_id, fixed_ips)
            if port_id:
                preserve(s, server_id, attached)
            remember_order(s, server_id, [attached])
            tag_port(s, server_id, attached, tag)
            s.flush()
            refresh_cache(s, server_id)
            start_action(s, ctx, server_id, "attach_interface", now())
            vif = next(v for v in self._vifs(s, server_id) if v.port_id == attached)
        self.actions.start_event(server_id, ctx.request_id, "compute_attach_interface",
                                 row.host)
        try:
            await self.backend.attach_interface(instance_spec(row), vif_spec(vif))
        except BackendError as exc:
            with self.db.session() as s:
                nova_client.detach_port(s, server_id, attached, preserve=bool(port_id))
                forget_port(s, server_id, attached)
                refresh_cache(s, server_id)
            self.actions.finish_event(server_id, ctx.request_id, "compute_attach_interface",
                                      "Error", failure_message(exc))
            raise BackendFailure(f"Failed to attach network adapter device to {server_id}") \
                from None
        self.actions.finish_event(server_id, ctx.request_id, "compute_attach_interface",
                                  "Success")
        return _interface(vif, {attached: tag} if tag else {})

    def detach(self, ctx: RequestContext, server_id: str, port_id: str) -> None:
        """Nova's ``detach_interface``: checked and acknowledged here; the backend unplugs
        it in the background (Nova's RPC ``cast``), then the port is deleted (Nova's) or
        unbound. A failed unplug leaves the port attached, its event in error."""
        with self.db.session() as s:
            row = self._server(s, ctx, server_id, "os_compute_api:os-attach-interfaces:delete")
            check_lock(ctx, row)
            self._check_state(row, "detach_interface")
            vif = next((v for v in self._vifs(s, server_id) if v.port_id == port_id), None)
            if vif is None:
                raise NotFound(f"Port {port_id} is not attached")
            start_action(s, ctx, server_id, "detach_interface", now())
        self.background(server_id, self._detach(row, ctx.request_id, vif))

    async def _detach(self, row: Instance, request_id: str, vif: Vif) -> None:
        server_id, port_id = row.uuid, vif.port_id
        self.actions.start_event(server_id, request_id, DETACH_EVENT, row.host)
        try:
            await self.backend.detach_interface(instance_spec(row), vif_spec(vif))
        except DeviceNotFound:
            # NOTE: a port the guest booted with that the backend did not plug as a device
            # of its own: nothing to unplug, the port still leaves the server.
            pass
        except BackendError as exc:
            self.actions.finish_event(server_id, request_id, DETACH_EVENT, "Error",
                                      failure_message(exc))
            return
        with self.db.session() as s:
            nova_client.detach_port(s, server_id, port_id,
                                    preserve=port_id in preserved(s, server_id))
            forget_port(s, server_id, port_id)
            refresh_cache(s, server_id)
        self.actions.finish_event(server_id, request_id, DETACH_EVENT, "Success")

    # -- the server actions ------------------------------------------------------------------

    async def _changed(self, row: Instance, before: dict[str, Vif], after: list[Vif]) -> None:
        """Tell the backend of each port of a running server whose addresses changed."""
        if row.vm_state in INTERFACE_STATES and row.host:
            await self._tell(row, [v for v in after if (old := before.get(v.port_id)) is None
                                   or (old.fixed_ips, old.floating_ips)
                                   != (v.fixed_ips, v.floating_ips)])

    async def _change(self, ctx: RequestContext, server_id: str, rule: str, locked: bool,
                      change: Callable[..., str | None], *args: Any) -> None:
        """``change(s, *args)`` the server's ports (refused on a locked server when
        ``locked``, as Nova's multinic), then tell the backend. ``change`` returns the id
        of another server it took an address from (a floating IP moved), or None: that
        one's cache is written again and its guest told first, so that the address is
        free when this one's takes it. NOTE: as in Nova, these record no instance action."""
        with self.db.session() as s:
            row = self._server(s, ctx, server_id, rule)
            if locked:
                check_lock(ctx, row)
            before = {v.port_id: v for v in self._vifs(s, server_id)}
            previous: str | None = change(s, *args)
            s.flush()
            after = refresh_cache(s, server_id)
            other = None if previous is None else s.exec(
                select(Instance).where(Instance.uuid == previous)).first()
            other_vifs = [] if previous is None else refresh_cache(s, previous)
        if other is not None:
            await self._changed(other, {}, other_vifs)
        await self._changed(row, before, after)

    async def add_fixed_ip(self, ctx: RequestContext, server_id: str, network_id: str) -> None:
        await self._change(ctx, server_id, "os_compute_api:os-multinic:add", True,
                           nova_addresses.add_fixed_ip, server_id, network_id)

    async def remove_fixed_ip(self, ctx: RequestContext, server_id: str, address: str) -> None:
        await self._change(ctx, server_id, "os_compute_api:os-multinic:remove", True,
                           nova_addresses.remove_fixed_ip, server_id, address)

    async def add_floating_ip(self, ctx: RequestContext, server_id: str, address: str,
                              fixed_address: str | None) -> None:
        """Nova's ``addFloatingIp`` checks against the server's fixed IPs, then
        ``associate_floating_ip``."""
        with self.db.session() as s:
            self._server(s, ctx, server_id, "os_compute_api:os-floating-ips:add")
            fixed = [a for v in self._vifs(s, server_id) for a in v.addresses]
        if not fixed:
            raise InvalidInput("No fixed IPs associated to instance")
        if fixed_address is not None and fixed_address not in fixed:
            raise InvalidInput("Specified fixed address not assigned to instance")
        if fixed_address is None:
            fixed_address = next((a for a in fixed if nova_client.version_of(a) == 4), None)
            if fixed_address is None:
                raise InvalidInput(f"Unable to associate floating IP {address} to any fixed "
                                   f"IPs for instance {server_id}. Instance has no fixed "
                                   "IPv4 addresses to associate.")

        def associate(s: Session) -> str | None:
            return nova_addresses.associate_floating_ip(s, ctx, server_id, address,
                                                        str(fixed_address)) or None

        await self._change(ctx, server_id, "os_compute_api:os-floating-ips:add", False,
                           associate)

    async def remove_floating_ip(self, ctx: RequestContext, server_id: str,
                                 address: str) -> None:
        await self._change(ctx, server_id, "os_compute_api:os-floating-ips:remove", False,
                           lambda s: nova_addresses.disassociate_floating_ip(
                               s, ctx, server_id, address))

    def add_security_group(self, ctx: RequestContext, server_id: str, name: str) -> None:
        with self.db.session() as s:
            row = self._server(s, ctx, server_id, "os_compute_api:os-security-groups:add")
            nova_security_groups.add_security_group(s, ctx, server_id, name)
            if name not in row.security_groups:
                row.security_groups = [*row.security_groups, name]
                s.add(row)

    def remove_security_group(self, ctx: RequestContext, server_id: str, name: str) -> None:
        with self.db.session() as s:
            row = self._server(s, ctx, server_id, "os_compute_api:os-security-groups:remove")
            nova_security_groups.remove_security_group(s, ctx, server_id, name)
            row.security_groups = [g for g in row.security_groups if g != name]
            s.add(row)

    def security_groups(self, ctx: RequestContext, server_id: str) -> list[dict[str, Any]]:
        with self.db.session() as s:
            self._server(s, ctx, server_id, "os_compute_api:os-security-groups:list")
            return nova_security_groups.instance_security_groups(s, server_id)

    def vif_of(self, server_id: str, port_id: str) -> VifSpec | None:
        with self.db.session() as s:
            return next((vif_spec(v) for v in self._vifs(s, server_id)
                         if v.port_id == port_id), None)

    # -- Neutron's events ------------------------------------------------------------------

    def network_changed(self, server_ids: set[str]) -> None:
        """Neutron's ``network-changed`` event for each server (a floating IP associated,
        moved or released, a port's fixed IPs changed through Neutron's own API) and its
        ``network-vif-deleted`` (a port of the server deleted there): its info cache
        written again from its ports, a gone port forgotten, and each guest that runs told
        in the background: a deleted port's NIC unplugged (``detach_interface``), the
        others' addresses told (``update_interface``), first to the servers that lost an
        address, so that one moved between servers is free when its new guest takes it.
        NOTE: a port unbound through Neutron (its device id cleared) leaves the cache at
        once, as Nova's periodic ``_heal_instance_info_cache`` has it later; its NIC stays
        (Neutron sends no event Nova unplugs on)."""
        told: list[tuple[bool, Instance, list[Vif], set[str]]] = []
        for server_id in sorted(server_ids):
            with self.db.session() as s:
                row = s.exec(select(Instance).where(
                    Instance.uuid == server_id, Instance.deleted == False)).first()  # noqa: E712
                if row is None:
                    continue
                before = set(s.exec(select(InstanceAddress.address).where(
                    InstanceAddress.instance_uuid == server_id)))
                vifs = refresh_cache(s, server_id)
                gone = remembered_ports(s, server_id) - {v.port_id for v in vifs}
                for port_id in gone:
                    forget_port(s, server_id, port_id)
                deleted = {p for p in gone if s.get(NeutronPort, p) is None}
            after = {a for v in vifs for a in (*(ip for ip, _ in v.fixed_ips), *v.floating_ips)}
            if row.vm_state in INTERFACE_STATES and row.host:
                told.append((not before - after, row, vifs, deleted))
        if told:
            told.sort(key=lambda item: item[0])  # losers (False) first
            with contextlib.suppress(RuntimeError):  # no event loop: nothing to tell
                self.background(told[0][1].uuid, self._tell_each(told))

    async def _tell_each(self, told: list[tuple[bool, Instance, list[Vif], set[str]]]) -> None:
        for _, row, vifs, deleted in told:
            for port_id in sorted(deleted):  # NOTE: the port is gone: its id is all there is
                with contextlib.suppress(BackendError):
                    await self.backend.detach_interface(instance_spec(row),
                                                        VifSpec(port_id=port_id, mac=""))
            await self._tell(row, vifs)

    async def _tell(self, row: Instance, vifs: list[Vif]) -> None:
        """``update_interface`` for each of ``vifs``. NOTE: it raises only InstanceNotFound:
        the guest is gone, nothing to tell."""
        for vif in vifs:
            with contextlib.suppress(BackendError):
                await self.backend.update_interface(instance_spec(row), vif_spec(vif))
