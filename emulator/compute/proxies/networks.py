"""Nova's network proxies over Neutron (``nova.network.neutron.API`` and the controllers
``floating_ips``, ``floating_ip_pools``, ``networks``, ``tenant_networks``): floating IPs
in Nova's shape (``pool`` is the external network's name, ``instance_id`` the device of
the port it is on), the external networks as pools, and networks as nova-network showed
them (every field but the id and label now empty)."""

from __future__ import annotations

from typing import Any

from emulator.compute.proxies.policy import FIP, authorize
from emulator.context import RequestContext
from emulator.errors import Conflict, EmulatorError, Forbidden, InvalidInput, NotFound
from emulator.network.attributes import is_uuid
from emulator.network.listing import Record
from emulator.network.service import NetworkService

FLOATING_IPS = "floatingips"
NETWORKS = "networks"
#: NOTE: devstack's ``[neutron] default_floating_pool``, the seeded external network
#: (Nova's own default is ``nova``).
DEFAULT_FLOATING_POOL = "public"

#: ``networks.network_dict``: what everyone sees, and what admins see besides (the
#: nova-network fields; all but ``id`` and ``label`` are None since nova-network left).
NETWORK_FIELDS = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2",
                  "cidr_v6", "gateway_v6", "label", "netmask_v6")
ADMIN_NETWORK_FIELDS = (
    "created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan",
    "vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start",
    "project_id", "host", "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu",
    "dhcp_server", "enable_dhcp", "share_address")

#: Neutron's refusals of a floating IP create, by kind -> (Nova's error, its message
#: with the pool). ``allocate_floating_ip`` and the controller.
ALLOCATE_ERRORS: dict[str, tuple[type[EmulatorError], str]] = {
    "IpAddressGenerationFailure": (NotFound, "No more floating IPs in pool %s."),
    "ExternalIpAddressExhausted": (NotFound, "No more floating IPs in pool %s."),
    "OverQuota": (Forbidden, "IP allocation over quota in pool %s."),
}


def floating_ip_view(fip: Record, network: Record) -> dict[str, Any]:
    port = fip.get("port_details")
    return {"fixed_ip": fip["fixed_ip_address"], "id": fip["id"],
            "instance_id": port["device_id"] if port else None,
            "ip": fip["floating_ip_address"], "pool": network["name"] or network["id"]}


def network_view(network: Record, admin: bool) -> dict[str, Any]:
    fields = NETWORK_FIELDS + (ADMIN_NETWORK_FIELDS if admin else ())
    values = {"id": network["id"], "label": network["name"]}
    return {name: values.get(name) for name in fields}


def tenant_network_view(network: Record) -> dict[str, Any]:
    # NOTE: Nova's ``cidr`` is the string "None" here, as it always answered over Neutron.
    return {"id": network["id"], "cidr": str(None), "label": network["name"]}


class NetworkProxy:
    """``/os-floating-ips``, ``/os-floating-ip-pools``, ``/os-networks`` and
    ``/os-tenant-networks`` over ``NetworkService``."""

    def __init__(self, network: NetworkService) -> None:
        self.network = network

    def _network(self, ctx: RequestContext, network_id: str) -> Record:
        try:
            return self.network.show(ctx, NETWORKS, network_id, [])
        except NotFound:
            raise NotFound(f"Network {network_id} could not be found.") from None

    def _floating_ip(self, ctx: RequestContext, fip_id: str) -> Record:
        try:
            return self.network.show(ctx, FLOATING_IPS, fip_id, [])
        except NotFound:
            raise NotFound(f"Floating IP not found for ID {fip_id}") from None

    # -- floating IPs ----------------------------------------------------------------------

    def list_floating_ips(self, ctx: RequestContext) -> list[dict[str, Any]]:
        authorize(ctx, f"{FIP}:list")
        found = self.network.index(ctx, FLOATING_IPS,
                                   [("tenant_id", ctx.project_id or "")]).items
        networks: dict[str, Record] = {}
        for fip in found:
            net_id = fip["floating_network_id"]
            if net_id not in networks:
                networks[net_id] = self._network(ctx, net_id)
        return [floating_ip_view(f, networks[f["floating_network_id"]]) for f in found]

    def get_floating_ip(self, ctx: RequestContext, fip_id: str) -> dict[str, Any]:
        authorize(ctx, f"{FIP}:show")
        return self._view(ctx, self._floating_ip(ctx, fip_id))

    def _view(self, ctx: RequestContext, fip: Record) -> dict[str, Any]:
        return floating_ip_view(fip, self._network(ctx, fip["floating_network_id"]))

    def _pool_id(self, ctx: RequestContext, pool: str) -> str:
        key = "id" if is_uuid(pool) else "name"
        found = self.network.index(ctx, NETWORKS,
                                   [("router:external", "True"), (key, pool)]).items
        if not found:
            raise NotFound("Floating IP pool not found.")
        if len(found) > 1:
            # NOTE: a 500 in Nova (a bare NovaException); a 409 here.
            raise Conflict(f"Multiple floating IP pools matches found for name '{pool}'")
        return str(found[0]["id"])

    def allocate(self, ctx: RequestContext, pool: str | None) -> dict[str, Any]:
        """A floating IP from ``pool`` (an external network's name or id)."""
        authorize(ctx, f"{FIP}:create")
        pool = pool or DEFAULT_FLOATING_POOL
        body = {"floatingip": {"floating_network_id": self._pool_id(ctx, pool)}}
        try:
            (fip,) = self.network.create(ctx, FLOATING_IPS, body)
        except (Conflict, InvalidInput) as error:
            kind = getattr(error, "kind", "")
            if kind in ALLOCATE_ERRORS:
                nova_kind, message = ALLOCATE_ERRORS[kind]
                raise nova_kind(message % pool) from error
            if isinstance(error, InvalidInput):
                raise InvalidInput("The floating IP request failed with a BadRequest") \
                    from error
            raise
        return self._view(ctx, fip)

    def release(self, ctx: RequestContext, fip_id: str) -> None:
        """Disassociate (if it is on a port) and delete."""
        authorize(ctx, f"{FIP}:delete")
        fip = self._floating_ip(ctx, fip_id)
        try:
            self.network.delete(ctx, FLOATING_IPS, fip["id"])
        except NotFound:
            raise NotFound("Floating IP not found for address "
                           f"{fip['floating_ip_address']}.") from None

    def pools(self, ctx: RequestContext) -> list[dict[str, str]]:
        authorize(ctx, "os_compute_api:os-floating-ip-pools")
        found = self.network.index(ctx, NETWORKS, [("router:external", "True")]).items
        return [{"name": n["name"] or n["id"]} for n in found]

    # -- networks --------------------------------------------------------------------------

    def list_networks(self, ctx: RequestContext, api: str) -> list[Record]:
        """The networks Neutron shows the caller; ``api`` names the policy (``NET`` for
        ``/os-networks``, ``TNET`` for ``/os-tenant-networks``)."""
        authorize(ctx, f"{api}:list")
        return self.network.index(ctx, NETWORKS, []).items

    def get_network(self, ctx: RequestContext, network_id: str, api: str) -> Record:
        authorize(ctx, f"{api}:show")
        try:
            return self.network.show(ctx, NETWORKS, network_id, [])
        except NotFound:
            raise NotFound("Network not found") from None
