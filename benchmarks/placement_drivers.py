"""Drive the placement core (``emulator.placement``) and the Nova-style reference with the
same requests, and time every decision.

A driver turns a workload ``Request`` into what its engine takes, keeps each group's
members in arrival order (a refused member stays a member, as in Nova) and records where
every consumer went, for the validator (``placement_workloads.violations``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks.nova_reference import NoValidHost as ReferenceNoValidHost
from benchmarks.nova_reference import NovaReference
from benchmarks.placement_workloads import (
    RESOURCE_CLASSES,
    Group,
    Layout,
    Request,
    Workload,
    usage_mismatches,
    usage_of,
    violations,
)
from emulator.placement import (
    GroupSpec,
    Inventory,
    NoValidHost,
    Placement,
    RequestSpec,
    Scheduler,
    SchedulerConfig,
)

#: The filters of the benchmarks: Nova's that the workloads exercise (resources are
#: placement's prefilter in the core, RAM/Core/DiskFilter in the reference).
FILTERS = ("ComputeFilter", "AvailabilityZoneFilter", "AggregateInstanceExtraSpecsFilter",
           "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter")
SPREAD = (("RAMWeigher", 1.0),)
PACK = (("RAMWeigher", -1.0),)
#: S3: spread, and soft anti-affinity with Nova's default multiplier.
SPREAD_SOFT = (("RAMWeigher", 1.0), ("ServerGroupSoftAntiAffinityWeigher", 1.0))


class Core:
    """The placement core over a layout: one ``Placement``, one ``Scheduler``."""

    refusal: type[Exception] = NoValidHost

    def __init__(self, layout: Layout, weighers: Sequence[tuple[str, float]],
                 groups: Mapping[str, Group], *, filters: Sequence[str] = FILTERS,
                 host_subset_size: int = 1, seed: int = 0) -> None:
        self.placement = Placement()
        for host in layout.hosts:
            self.placement.add_provider(
                host.name, {rc: Inventory(total=inv.total, reserved=inv.reserved,
                                          allocation_ratio=inv.allocation_ratio)
                            for rc, inv in host.inventories.items()},
                zone=host.zone, aggregates=host.aggregates, enabled=host.enabled)
        self.scheduler = Scheduler(self.placement, SchedulerConfig(
            filters=tuple(filters), weighers=tuple(weighers),
            host_subset_size=host_subset_size, seed=seed))
        self.scheduler.aggregate_metadata = {
            name: dict(meta) for name, meta in layout.aggregate_metadata.items()}
        self.groups = groups
        self.members: dict[str, list[str]] = defaultdict(list)
        self.placed: dict[str, str] = {}

    def join(self, request: Request) -> None:
        """A group member is one from its request on, placed or refused (as in Nova)."""
        if request.group is not None:
            self.members[request.group].append(request.consumer)

    def spec(self, request: Request) -> RequestSpec:
        """The request as the core takes it, with its group's members as they are now."""
        group = None
        if request.group is not None:
            known = self.groups[request.group]
            group = GroupSpec(known.uuid, known.policy, tuple(self.members[request.group]),
                              known.max_server_per_host)
        return RequestSpec(resources=request.resources, zone=request.zone, group=group,
                           flavor_extra_specs=request.extra_specs)

    def schedule(self, request: Request) -> str:
        self.join(request)
        [selection] = self.scheduler.schedule([request.consumer], self.spec(request))
        self.placed[request.consumer] = selection.host
        return selection.host

    def release(self, consumer: str) -> None:
        self.placement.release(consumer)
        del self.placed[consumer]

    def usage(self) -> dict[str, dict[str, int]]:
        """host -> resource class -> used, as the core keeps it."""
        return {p.name: {rc: p.used.get(rc, 0) for rc in RESOURCE_CLASSES}
                for p in self.placement.providers()}


class Reference(NovaReference):
    refusal: type[Exception] = ReferenceNoValidHost


@dataclass
class Run:
    """What one pass of a request stream did."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    @property
    def decisions(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.decisions / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(engine: Core | Reference, requests: Iterable[Request],
        budget: float | None = None) -> Run:
    """Schedule each request in turn (a refusal is a decision too); with ``budget``
    (seconds), stop at the first decision that starts after it is spent."""
    done = Run()
    clock = time.perf_counter
    schedule, refusal = engine.schedule, engine.refusal
    started = clock()
    for request in requests:
        before = clock()
        if budget is not None and before - started > budget:
            break
        try:
            schedule(request)
        except refusal:
            done.refused.append(request.consumer)
        done.latencies.append(clock() - before)
    done.seconds = clock() - started
    return done


def check(layout: Layout, engine: Core | Reference, workload: Workload,
          disabled_ok: Iterable[str] = ()) -> None:
    """The validator on ``engine``'s placements, and (the core) its own usage against the
    validator's sum; fails the benchmark on any finding."""
    requests = {r.consumer: r for r in workload.requests}
    wrong = violations(layout, engine.placed, requests, workload.groups,
                       disabled_ok=disabled_ok)
    assert not wrong, f"{len(wrong)} violations, e.g. {wrong[:5]}"
    if isinstance(engine, Core):
        expected = usage_of(engine.placed, requests)
        mismatched = usage_mismatches(expected, engine.usage())
        assert not mismatched, f"{len(mismatched)} hosts, e.g. {mismatched[:5]}"
