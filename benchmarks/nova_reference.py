"""The in-run reference of the placement benchmarks: Nova's scheduler as it was before
placement's prefilter, written plainly.

For every request it builds a ``HostState`` per compute node from the "database" (the
node's inventory, its usage, its zone and aggregates, the instances on it), runs every
enabled filter over every host one filter at a time (Nova's ``get_filtered_objects``),
weighs the survivors with Nova's normalisation (each weigher's values scaled to 0..1 over
the candidates, times its multiplier, summed), takes the best (``host_subset_size`` 1; a
stable sort keeps host order among equals) and claims it. That is the per-request cost
CERN did not want to pay at 10,000 nodes (nova-specs ocata
``resource-providers-scheduler-db-filters``): the benchmarks' ratios are against it.

It shares nothing with ``emulator.placement`` but the workload's data, and its placements
go through the same validator (``placement_workloads.violations``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from benchmarks.placement_workloads import (
    DISK_GB,
    EXTRA_SPEC_SCOPE,
    MEMORY_MB,
    RESOURCE_CLASSES,
    VCPU,
    Group,
    Layout,
    Request,
)


class NoValidHost(Exception):
    pass


@dataclass
class HostState:
    """What Nova's filters and weighers see of one compute node (nova.scheduler.host_manager)."""

    host: str
    enabled: bool
    zone: str
    aggregates_metadata: list[Mapping[str, str]]
    total_usable_vcpus: int
    vcpus_used: int
    total_usable_ram_mb: int
    free_ram_mb: int
    total_usable_disk_gb: int
    free_disk_gb: int
    #: Server ids on the host (``HostState.instances``).
    instances: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Spec:
    """The request as Nova's ``RequestSpec`` holds it for the filters."""

    resources: Mapping[str, int]
    zone: str | None
    extra_specs: Mapping[str, str]
    group: Group | None
    #: Hosts of the group's members (``RequestSpec.instance_group.hosts``).
    group_hosts: frozenset[str]
    members: frozenset[str]


# --- filters: (name, host_passes) -----------------------------------------------------------

def compute_filter(host: HostState, _spec: Spec) -> bool:
    return host.enabled


def availability_zone_filter(host: HostState, spec: Spec) -> bool:
    return spec.zone is None or host.zone == spec.zone


def ram_filter(host: HostState, spec: Spec) -> bool:
    return host.free_ram_mb >= spec.resources[MEMORY_MB]


def core_filter(host: HostState, spec: Spec) -> bool:
    return host.total_usable_vcpus - host.vcpus_used >= spec.resources[VCPU]


def disk_filter(host: HostState, spec: Spec) -> bool:
    return host.free_disk_gb >= spec.resources[DISK_GB]


def anti_affinity_filter(host: HostState, spec: Spec) -> bool:
    if spec.group is None or spec.group.policy != "anti-affinity":
        return True
    return len(host.instances & spec.members) < (spec.group.max_server_per_host or 1)


def affinity_filter(host: HostState, spec: Spec) -> bool:
    if spec.group is None or spec.group.policy != "affinity" or not spec.group_hosts:
        return True
    return host.host in spec.group_hosts


def aggregate_extra_specs_filter(host: HostState, spec: Spec) -> bool:
    for key, wanted in spec.extra_specs.items():
        if not key.startswith(EXTRA_SPEC_SCOPE):
            continue
        name = key[len(EXTRA_SPEC_SCOPE):]
        if not any(meta.get(name) == wanted for meta in host.aggregates_metadata):
            return False
    return True


Filter = Callable[[HostState, Spec], bool]
FILTERS: tuple[tuple[str, Filter], ...] = (
    ("ComputeFilter", compute_filter),
    ("AvailabilityZoneFilter", availability_zone_filter),
    ("RamFilter", ram_filter),
    ("CoreFilter", core_filter),
    ("DiskFilter", disk_filter),
    ("ServerGroupAntiAffinityFilter", anti_affinity_filter),
    ("ServerGroupAffinityFilter", affinity_filter),
    ("AggregateInstanceExtraSpecsFilter", aggregate_extra_specs_filter),
)


# --- weighers: (name, raw weight) -----------------------------------------------------------

def ram_weigher(host: HostState, _spec: Spec) -> float:
    return float(host.free_ram_mb)


def soft_anti_affinity_weigher(host: HostState, spec: Spec) -> float:
    if spec.group is None or spec.group.policy != "soft-anti-affinity":
        return 0.0
    return -float(len(host.instances & spec.members))


def soft_affinity_weigher(host: HostState, spec: Spec) -> float:
    if spec.group is None or spec.group.policy != "soft-affinity":
        return 0.0
    return float(len(host.instances & spec.members))


Weigher = Callable[[HostState, Spec], float]
WEIGHERS: dict[str, Weigher] = {
    "RAMWeigher": ram_weigher,
    "ServerGroupSoftAntiAffinityWeigher": soft_anti_affinity_weigher,
    "ServerGroupSoftAffinityWeigher": soft_affinity_weigher,
}


def normalize(values: Sequence[float]) -> list[float]:
    """Nova's ``nova.weights.normalize``: 0..1 over the list; all equal: all 0."""
    low, high = min(values), max(values)
    if low == high:
        return [0.0] * len(values)
    span = high - low
    return [(v - low) / span for v in values]


class NovaReference:
    """A naive scheduler over its own records of the layout: per request, HostStates,
    every filter, weighers, the best host, a claim."""

    def __init__(self, layout: Layout, weighers: Sequence[tuple[str, float]],
                 groups: Mapping[str, Group]) -> None:
        self.layout = layout
        self.weighers = [(WEIGHERS[name], multiplier) for name, multiplier in weighers]
        self.groups = groups
        self.capacity = {h.name: h.capacity for h in layout.hosts}
        # The "database": usage per node, instances per node, every claim.
        self.used: dict[str, dict[str, int]] = {
            h.name: dict.fromkeys(RESOURCE_CLASSES, 0) for h in layout.hosts}
        self.instances: dict[str, set[str]] = defaultdict(set)
        self.placed: dict[str, str] = {}
        self.resources: dict[str, Mapping[str, int]] = {}
        self.members: dict[str, list[str]] = defaultdict(list)

    def host_states(self) -> list[HostState]:
        """One HostState per compute node, built afresh (Nova's ``get_all_host_states``)."""
        metadata = self.layout.aggregate_metadata
        states = []
        for host in self.layout.hosts:
            cap, used = self.capacity[host.name], self.used[host.name]
            states.append(HostState(
                host=host.name, enabled=host.enabled, zone=host.zone,
                aggregates_metadata=[metadata.get(a, {}) for a in host.aggregates],
                total_usable_vcpus=cap[VCPU], vcpus_used=used[VCPU],
                total_usable_ram_mb=cap[MEMORY_MB], free_ram_mb=cap[MEMORY_MB] - used[MEMORY_MB],
                total_usable_disk_gb=cap[DISK_GB], free_disk_gb=cap[DISK_GB] - used[DISK_GB],
                instances=self.instances[host.name]))
        return states

    def spec(self, request: Request) -> Spec:
        group, members = None, frozenset[str]()
        if request.group is not None:
            group, members = self.groups[request.group], frozenset(self.members[request.group])
        hosts = frozenset(self.placed[m] for m in members if m in self.placed)
        return Spec(request.resources, request.zone, request.extra_specs, group, hosts, members)

    def select(self, request: Request) -> str:
        """The host Nova would choose for ``request``; NoValidHost when none passes."""
        spec = self.spec(request)
        hosts = self.host_states()
        for name, passes in FILTERS:
            hosts = [h for h in hosts if passes(h, spec)]
            if not hosts:
                raise NoValidHost(f"No valid host was found. {name} returned 0 hosts")
        weights = [0.0] * len(hosts)
        for weigher, multiplier in self.weighers:
            for i, value in enumerate(normalize([weigher(h, spec) for h in hosts])):
                weights[i] += multiplier * value
        order = sorted(range(len(hosts)), key=lambda i: weights[i], reverse=True)
        return hosts[order[0]].host

    def claim(self, request: Request, host: str) -> None:
        for rc, amount in request.resources.items():
            self.used[host][rc] += amount
        self.instances[host].add(request.consumer)
        self.placed[request.consumer] = host
        self.resources[request.consumer] = request.resources

    def schedule(self, request: Request) -> str:
        """Select and claim; a group member counts as one whether placed or refused."""
        if request.group is not None:
            self.members[request.group].append(request.consumer)
        host = self.select(request)
        self.claim(request, host)
        return host

    def release(self, consumer: str) -> None:
        host = self.placed.pop(consumer)
        for rc, amount in self.resources.pop(consumer).items():
            self.used[host][rc] -= amount
        self.instances[host].discard(consumer)
