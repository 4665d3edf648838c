"""Nova's network proxies until 2.35 (the route table answers 404 after it):
``/os-floating-ips`` (list, show, allocate from a pool, release: 200/200/200/202),
``/os-floating-ip-pools`` (the external networks), and the read side of
``/os-networks`` and ``/os-tenant-networks`` (their write routes are gone: ``removed``)."""

from __future__ import annotations

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.routing import Call, empty_response, json_response
from emulator.compute.proxies.networks import NetworkProxy, network_view, tenant_network_view
from emulator.compute.proxies.policy import NET, TNET


class NetworkProxiesController:
    def __init__(self, proxy: NetworkProxy) -> None:
        self.proxy = proxy

    async def floating_ip_index(self, call: Call) -> Response:
        found = self.proxy.list_floating_ips(common.context(call))
        return json_response({"floating_ips": found})

    async def floating_ip_show(self, call: Call) -> Response:
        fip = self.proxy.get_floating_ip(common.context(call), call.params["fip_id"])
        return json_response({"floating_ip": fip})

    async def floating_ip_create(self, call: Call) -> Response:
        body = common.check_body(call, "floating_ip_create")
        pool = body.get("pool") if body else None
        fip = self.proxy.allocate(common.context(call), pool)
        return json_response({"floating_ip": fip})

    async def floating_ip_delete(self, call: Call) -> Response:
        self.proxy.release(common.context(call), call.params["fip_id"])
        return empty_response(202)

    async def pool_index(self, call: Call) -> Response:
        return json_response({"floating_ip_pools": self.proxy.pools(common.context(call))})

    async def network_index(self, call: Call) -> Response:
        ctx = common.context(call)
        return json_response({"networks": [network_view(n, ctx.is_admin)
                                           for n in self.proxy.list_networks(ctx, NET)]})

    async def network_show(self, call: Call) -> Response:
        ctx = common.context(call)
        network = self.proxy.get_network(ctx, call.params["network_id"], NET)
        return json_response({"network": network_view(network, ctx.is_admin)})

    async def tenant_network_index(self, call: Call) -> Response:
        found = self.proxy.list_networks(common.context(call), TNET)
        return json_response({"networks": [tenant_network_view(n) for n in found]})

    async def tenant_network_show(self, call: Call) -> Response:
        network = self.proxy.get_network(common.context(call), call.params["network_id"],
                                         TNET)
        return json_response({"network": tenant_network_view(network)})
