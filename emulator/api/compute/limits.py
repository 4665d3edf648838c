"""Absolute limits (``GET /limits``): the caller's project's quotas and usage, per
microversion; ``rate`` from the request-rate limiter.

| version | change |
|---|---|
| 2.36 | the network limits (``maxSecurityGroup*``, ``maxTotalFloatingIps``, usage) gone |
| 2.39 | ``maxImageMeta`` gone |
| 2.57 | ``maxPersonality`` and ``maxPersonalitySize`` gone |
| 2.75 | unknown query parameters -> 400 (before: ignored, ``reserved`` among them) |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from emulator.api.compute import common
from emulator.api.compute.common import V
from emulator.api.compute.quotas import hidden_quotas
from emulator.api.routing import Call, json_response
from emulator.compute.quotas import Detail, QuotaService
from emulator.context import RequestContext

#: ``rate_limits(ctx)``: the request-rate limits that apply to the caller, in Nova's old
#: ``rate`` shape (``[{"uri", "regex", "limit": [{"verb", "value", "remaining", "unit",
#: "next-available"}]}]``). The rate limiter provides it; without one the list is empty,
#: as Nova's today.
RateLimits = Callable[[RequestContext], list[dict[str, Any]]]


def no_rate_limits(_ctx: RequestContext) -> list[dict[str, Any]]:
    return []


#: Quota resource -> its absolute limits' names (Nova's ``ViewBuilder.limit_names``).
LIMIT_NAMES: Mapping[str, tuple[str, ...]] = {
    "ram": ("maxTotalRAMSize",),
    "instances": ("maxTotalInstances",),
    "cores": ("maxTotalCores",),
    "key_pairs": ("maxTotalKeypairs",),
    "floating_ips": ("maxTotalFloatingIps",),
    "metadata_items": ("maxServerMeta", "maxImageMeta"),
    "injected_files": ("maxPersonality",),
    "injected_file_content_bytes": ("maxPersonalitySize",),
    "security_groups": ("maxSecurityGroups",),
    "security_group_rules": ("maxSecurityGroupRules",),
    "server_groups": ("maxServerGroups",),
    "server_group_members": ("maxServerGroupMembers",),
}
#: Usage shown -> the resource counted.
USED_NAMES: Mapping[str, str] = {
    "totalRAMUsed": "ram",
    "totalCoresUsed": "cores",
    "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips",
    "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}


def absolute_view(call: Call, quotas: Mapping[str, Detail]) -> dict[str, int]:
    # NOTE: the limits drop what the quota sets drop, at the same versions.
    hidden = hidden_quotas(call)
    view: dict[str, int] = {}
    for resource, names in LIMIT_NAMES.items():
        if resource in hidden:
            continue
        for name in names:
            if name == "maxImageMeta" and call.version >= V(2, 39):
                continue
            view[name] = quotas[resource].limit
    for name, resource in USED_NAMES.items():
        if resource not in hidden:
            view[name] = quotas[resource].in_use
    return view


class LimitsController:
    def __init__(self, quotas: QuotaService,
                 rate_limits: RateLimits = no_rate_limits) -> None:
        self.quotas = quotas
        #: Where ``rate`` comes from (the rate limiter is wired in here).
        self.rate_limits = rate_limits

    async def index(self, call: Call) -> Response:
        common.check_query(call, "limits_query")
        ctx = common.context(call)
        # NOTE: as Nova, naming ``tenant_id`` at all needs the admin rule (the last value).
        tenant_id = (common.last_value(call, "tenant_id")
                     if "tenant_id" in call.request.query_params else None)
        quotas = self.quotas.absolute(ctx, tenant_id)
        return json_response({"limits": {"rate": self.rate_limits(ctx),
                                         "absolute": absolute_view(call, quotas)}})
