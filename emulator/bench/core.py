"""The engine of the emulator's placement core (``emulator.placement``): one resource
provider per host of the layout, the scheduler the policy describes (its filters and
weighers found as ``[scheduler]`` finds them: built in, entry point or dotted path)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from emulator.bench.engine import Request, Unplaceable
from emulator.bench.layout import Layout, Policy
from emulator.placement import (
    GroupSpec,
    Inventory,
    NoValidHost,
    Placement,
    RequestSpec,
    Scheduler,
    SchedulerConfig,
)
from emulator.placement.plugins import load_filters, load_weighers


class CoreEngine:
    def __init__(self, layout: Layout, policy: Policy) -> None:
        self.placement = Placement()
        for host in layout.hosts():
            reserved, ratios = host.shape.reserved(), host.shape.ratios()
            self.placement.add_provider(host.name, {
                rc: Inventory(total, reserved=reserved[rc], allocation_ratio=ratios[rc])
                for rc, total in host.shape.totals().items()},
                zone=host.zone, aggregates=host.aggregates)
        self.scheduler = Scheduler(
            self.placement,
            SchedulerConfig(filters=policy.filters, weighers=policy.weighers,
                            max_placement_results=policy.max_placement_results,
                            host_subset_size=policy.host_subset_size, seed=policy.seed),
            filters=load_filters(policy.filters),
            weighers=load_weighers(name for name, _ in policy.weighers))
        for name, metadata in layout.metadata.items():
            self.scheduler.aggregate_metadata[name] = dict(metadata)

    def place(self, servers: Sequence[str], request: Request) -> list[str]:
        group = request.group
        spec = RequestSpec(
            {rc: n for rc, n in request.resources.items() if n}, zone=request.zone,
            group=None if group is None else GroupSpec(
                group.name, group.policy, group.members, group.max_server_per_host),
            same_host=request.same_host, different_host=request.different_host,
            flavor_extra_specs=request.extra_specs, ignore_hosts=request.ignore_hosts)
        try:
            return [s.host for s in self.scheduler.schedule(servers, spec)]
        except NoValidHost as exc:
            raise Unplaceable(exc.message) from None

    def hold(self, consumer: str, host: str, resources: Mapping[str, int]) -> None:
        self.placement.allocate(consumer, host, resources)

    def release(self, consumer: str) -> None:
        self.placement.release(consumer)


def core_engine(layout: Layout, policy: Policy) -> CoreEngine:
    return CoreEngine(layout, policy)
