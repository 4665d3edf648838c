"""Host layouts, request streams and the independent validator of the placement benchmarks.

Layouts and mixes are those of the scheduling reference (``reference/scheduling.md``,
section 4): hosts of 64 cores (x 4.0 = 256 vCPU), 256 GiB and 2,000 GB in three zones,
every 10th host in an ``ssd`` aggregate; six flavors with fixed shares; half of the requests
pin a zone, 5 % ask for the SSD aggregate through a flavor extra spec, some join server
groups. Everything is seeded.

This module holds plain data only (no import of the code under test), so that the
validator (``violations``) judges the core and the Nova-style reference alike: it recomputes
every host's usage from the placements the benchmark recorded and checks capacity, zones,
aggregates and group policies on its own.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

VCPU, MEMORY_MB, DISK_GB = "VCPU", "MEMORY_MB", "DISK_GB"
RESOURCE_CLASSES = (VCPU, MEMORY_MB, DISK_GB)

#: The flavor extra spec that asks for the SSD aggregate, and the aggregate's metadata.
SSD_AGGREGATE = "ssd"
SSD_METADATA = {"ssd": "true"}
SSD_EXTRA_SPEC = {"aggregate_instance_extra_specs:ssd": "true"}
EXTRA_SPEC_SCOPE = "aggregate_instance_extra_specs:"


@dataclass(frozen=True)
class Inv:
    """One resource class of a host, as placement's inventory has it."""

    total: int
    allocation_ratio: float = 1.0
    reserved: int = 0

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)


@dataclass(frozen=True)
class Shape:
    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    cpu_allocation_ratio: float = 4.0

    def inventories(self) -> dict[str, Inv]:
        return {VCPU: Inv(self.vcpus, self.cpu_allocation_ratio),
                MEMORY_MB: Inv(self.memory_mb), DISK_GB: Inv(self.disk_gb)}


#: The reference's host (section 4), and the two other sizes of the mixed layout.
STANDARD = Shape("standard", 64, 262_144, 2_000)
SMALL = Shape("small", 32, 131_072, 1_000)
LARGE = Shape("large", 128, 524_288, 4_000)


@dataclass(frozen=True)
class Host:
    name: str
    zone: str
    aggregates: frozenset[str]
    inventories: Mapping[str, Inv]
    enabled: bool = True

    @property
    def capacity(self) -> dict[str, int]:
        return {rc: inv.capacity for rc, inv in self.inventories.items()}


@dataclass(frozen=True)
class Layout:
    hosts: tuple[Host, ...]
    zones: tuple[str, ...]
    #: aggregate name -> its metadata (what AggregateInstanceExtraSpecsFilter matches).
    aggregate_metadata: Mapping[str, Mapping[str, str]]

    def by_name(self) -> dict[str, Host]:
        return {host.name: host for host in self.hosts}


ZONES = ("az1", "az2", "az3")


def layout(count: int, shapes: Sequence[tuple[Shape, float]] = ((STANDARD, 1.0),), *,
           ssd_every: int = 10, disabled_every: int = 0, seed: int = 0) -> Layout:
    """``count`` hosts in three zones (round robin); every ``ssd_every``-th host in the SSD
    aggregate, every ``disabled_every``-th disabled (0: none); host sizes drawn by share."""
    rng = random.Random(seed)
    kinds = [shape for shape, _ in shapes]
    weights = [share for _, share in shapes]
    hosts = []
    for i in range(count):
        shape = kinds[0] if len(kinds) == 1 else rng.choices(kinds, weights)[0]
        ssd = ssd_every > 0 and i % ssd_every == ssd_every - 1
        hosts.append(Host(
            name=f"host-{i:06d}", zone=ZONES[i % len(ZONES)],
            aggregates=frozenset({SSD_AGGREGATE}) if ssd else frozenset(),
            inventories=shape.inventories(),
            enabled=not (disabled_every > 0 and i % disabled_every == disabled_every // 2)))
    return Layout(tuple(hosts), ZONES, {SSD_AGGREGATE: SSD_METADATA})


MIXED_SIZES: tuple[tuple[Shape, float], ...] = ((SMALL, 0.4), (STANDARD, 0.4), (LARGE, 0.2))


# --- requests -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Flavor:
    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int

    @property
    def resources(self) -> dict[str, int]:
        return {VCPU: self.vcpus, MEMORY_MB: self.memory_mb, DISK_GB: self.disk_gb}


#: Section 4's flavor mix: (flavor, share).
FLAVOR_MIX: tuple[tuple[Flavor, float], ...] = (
    (Flavor("f1", 1, 2_048, 20), 0.30),
    (Flavor("f2", 2, 4_096, 40), 0.30),
    (Flavor("f4", 4, 8_192, 80), 0.20),
    (Flavor("f8", 8, 16_384, 160), 0.10),
    (Flavor("f2-highmem", 2, 16_384, 40), 0.05),
    (Flavor("f16", 16, 32_768, 320), 0.05),
)
#: The two smallest flavors, even shares (S3: 50,000 servers on 1,000 hosts).
SMALL_FLAVORS: tuple[tuple[Flavor, float], ...] = (FLAVOR_MIX[0][0], 0.5), (FLAVOR_MIX[1][0], 0.5)


@dataclass(frozen=True)
class GroupMix:
    """Share of requests that join a group of ``policy``, and the group sizes (inclusive)."""

    policy: str
    share: float
    sizes: tuple[int, int]


@dataclass(frozen=True)
class Mix:
    flavors: tuple[tuple[Flavor, float], ...] = FLAVOR_MIX
    zone_pinned: float = 0.5
    ssd: float = 0.05
    groups: tuple[GroupMix, ...] = ()
    #: Groups filling at the same time, per policy (members of a group interleave).
    open_groups: int = 8


#: S1's mix (section 5): 20 % hard anti-affinity (groups 2-10), 5 % hard affinity (2-5).
S1_MIX = Mix(groups=(GroupMix("anti-affinity", 0.20, (2, 10)),
                     GroupMix("affinity", 0.05, (2, 5))))
#: S2: the flavor mix and zone pins, no groups and no aggregate (packing alone).
S2_MIX = Mix(ssd=0.0)
#: S3: every request in a group: hard anti-affinity (2-20), hard affinity (2-5), soft
#: anti-affinity (2-6); the two smallest flavors.
S3_MIX = Mix(flavors=SMALL_FLAVORS,
             groups=(GroupMix("anti-affinity", 0.35, (2, 20)),
                     GroupMix("affinity", 0.35, (2, 5)),
                     GroupMix("soft-anti-affinity", 0.30, (2, 6))))


@dataclass(frozen=True)
class Group:
    uuid: str
    policy: str
    size: int
    max_server_per_host: int | None = None


@dataclass(frozen=True)
class Request:
    """One server to place (one consumer)."""

    consumer: str
    flavor: Flavor
    zone: str | None = None
    extra_specs: Mapping[str, str] = field(default_factory=dict)
    group: str | None = None

    @property
    def resources(self) -> dict[str, int]:
        return self.flavor.resources


@dataclass
class Workload:
    requests: list[Request]
    groups: dict[str, Group]


def workload(mix: Mix, count: int, *, seed: int, zones: Sequence[str] = ZONES,
             prefix: str = "vm") -> Workload:
    """``count`` requests drawn from ``mix``. A group's members share its first member's
    flavor, zone and extra specs; up to ``mix.open_groups`` groups per policy fill at once."""
    rng = random.Random(seed)
    flavors = [f for f, _ in mix.flavors]
    shares = [s for _, s in mix.flavors]
    groups: dict[str, Group] = {}
    open_groups: dict[str, list[tuple[Group, Request, list[int]]]] = defaultdict(list)
    requests: list[Request] = []
    for i in range(count):
        consumer = f"{prefix}-{i:07d}"
        draw, chosen = rng.random(), None
        for kind in mix.groups:
            if draw < kind.share:
                chosen = kind
                break
            draw -= kind.share
        if chosen is not None:
            pending = open_groups[chosen.policy]
            if len(pending) < mix.open_groups:
                group = Group(f"{chosen.policy}-{len(groups):06d}", chosen.policy,
                              rng.randint(*chosen.sizes))
                groups[group.uuid] = group
                first = _single(rng, mix, flavors, shares, consumer, zones, group.uuid)
                requests.append(first)
                pending.append((group, first, [1]))
                continue
            slot = rng.randrange(len(pending))
            group, first, filled = pending[slot]
            requests.append(Request(consumer, first.flavor, first.zone, first.extra_specs,
                                    group.uuid))
            filled[0] += 1
            if filled[0] >= group.size:
                pending.pop(slot)
            continue
        requests.append(_single(rng, mix, flavors, shares, consumer, zones, None))
    return Workload(requests, groups)


def _single(rng: random.Random, mix: Mix, flavors: list[Flavor], shares: list[float],
            consumer: str, zones: Sequence[str], group: str | None) -> Request:
    flavor = rng.choices(flavors, shares)[0]
    zone = rng.choice(zones) if rng.random() < mix.zone_pinned else None
    specs = dict(SSD_EXTRA_SPEC) if rng.random() < mix.ssd else {}
    return Request(consumer, flavor, zone, specs, group)


def with_oversized(base: Workload, layout: Layout, count: int, *, extra: int, seed: int
                   ) -> Workload:
    """``base`` with ``count`` hard anti-affinity groups of more members than hosts they may
    use (a zone's SSD hosts, enabled, plus ``extra``), their members (the smallest flavor)
    spread through the stream at random, in order."""
    rng = random.Random(seed)
    flavor = min((f for f, _ in FLAVOR_MIX), key=lambda f: f.disk_gb)
    requests, groups = list(base.requests), dict(base.groups)
    for i in range(count):
        zone = layout.zones[i % len(layout.zones)]
        eligible = sum(1 for h in layout.hosts
                       if h.enabled and h.zone == zone and SSD_AGGREGATE in h.aggregates)
        group = Group(f"oversized-{i:04d}", "anti-affinity", eligible + extra)
        groups[group.uuid] = group
        spots = sorted(rng.sample(range(len(requests) + 1), group.size), reverse=True)
        for n, spot in enumerate(spots):
            member = Request(f"{group.uuid}-{group.size - 1 - n:03d}", flavor, zone,
                             dict(SSD_EXTRA_SPEC), group.uuid)
            requests.insert(spot, member)
    return Workload(requests, groups)


def eligible_hosts(layout: Layout, request: Request) -> list[Host]:
    """The enabled hosts of the request's zone and aggregate (resources aside)."""
    def fits(host: Host) -> bool:
        for key, value in request.extra_specs.items():
            if key.startswith(EXTRA_SPEC_SCOPE) and not any(
                    layout.aggregate_metadata.get(a, {}).get(key[len(EXTRA_SPEC_SCOPE):]) == value
                    for a in host.aggregates):
                return False
        return host.enabled and request.zone in (None, host.zone)
    return [h for h in layout.hosts if fits(h)]


def group_members(requests: Iterable[Request]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for request in requests:
        if request.group is not None:
            members[request.group].append(request.consumer)
    return members


# --- the validator --------------------------------------------------------------------------

def usage_of(placed: Mapping[str, str], requests: Mapping[str, Request]
             ) -> dict[str, dict[str, int]]:
    """host -> resource class -> amount, summed from the recorded placements."""
    used: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(RESOURCE_CLASSES, 0))
    for consumer, host in placed.items():
        for rc, amount in requests[consumer].resources.items():
            used[host][rc] += amount
    return used


def violations(layout: Layout, placed: Mapping[str, str], requests: Mapping[str, Request],
               groups: Mapping[str, Group], *, disabled_ok: Iterable[str] = ()) -> list[str]:
    """Everything wrong with ``placed`` (consumer -> host): overcommit of any resource class
    on any host, a zone or aggregate not as asked, a hard group policy broken, a disabled
    host chosen (unless in ``disabled_ok``: disabled after its servers went there). Empty
    when the placements are valid."""
    hosts = layout.by_name()
    wrong: list[str] = []
    for consumer, name in placed.items():
        if name not in hosts:
            wrong.append(f"{consumer} on unknown host {name}")
    if wrong:
        return wrong
    for name, used in usage_of(placed, requests).items():
        for rc, amount in used.items():
            if amount > hosts[name].capacity[rc]:
                wrong.append(f"{name} overcommitted: {rc} {amount} > {hosts[name].capacity[rc]}")
    allowed_disabled = set(disabled_ok)
    for consumer, host_name in placed.items():
        request, host = requests[consumer], hosts[host_name]
        if not host.enabled and host_name not in allowed_disabled:
            wrong.append(f"{consumer} on disabled host {host_name}")
        if request.zone is not None and host.zone != request.zone:
            wrong.append(f"{consumer} asked for zone {request.zone}, got {host.zone}")
        for key, value in request.extra_specs.items():
            if key.startswith(EXTRA_SPEC_SCOPE):
                spec = key[len(EXTRA_SPEC_SCOPE):]
                if not any(layout.aggregate_metadata.get(a, {}).get(spec) == value
                           for a in host.aggregates):
                    wrong.append(f"{consumer} needs {spec}={value}, {host_name} has no such "
                                 "aggregate")
    by_group: dict[str, list[str]] = defaultdict(list)
    for consumer, name in placed.items():
        member_of = requests[consumer].group
        if member_of is not None:
            by_group[member_of].append(name)
    for uuid, on in by_group.items():
        group = groups[uuid]
        if group.policy == "affinity" and len(set(on)) > 1:
            wrong.append(f"affinity group {uuid} on {len(set(on))} hosts")
        if group.policy == "anti-affinity":
            most = group.max_server_per_host or 1
            crowded = {h: n for h, n in Counter(on).items() if n > most}
            if crowded:
                wrong.append(f"anti-affinity group {uuid}: {crowded} (at most {most} a host)")
    return wrong


def usage_mismatches(expected: Mapping[str, Mapping[str, int]],
                     reported: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Hosts whose usage as the engine keeps it differs from the validator's sum."""
    wrong = []
    for host in set(expected) | set(reported):
        want = {rc: n for rc, n in expected.get(host, {}).items() if n}
        got = {rc: n for rc, n in reported.get(host, {}).items() if n}
        if want != got:
            wrong.append(f"{host}: engine says {got}, placements sum to {want}")
    return sorted(wrong)


# --- packing figures ------------------------------------------------------------------------

@dataclass(frozen=True)
class Packing:
    hosts_used: int
    #: The lower bound in hosts: demand over the used hosts' mean capacity, the binding
    #: resource class's (fractional; for identical hosts, demand / one host's capacity).
    lower_bound: float
    binding: str
    #: Free share of each resource class on the used hosts.
    stranded: dict[str, float]
    #: ``stranded`` minus the share the demand mix forces (what a perfect fill of the
    #: binding class would leave free of the others).
    excess_stranded: dict[str, float]
    #: Hosts a strict count bound needs (largest hosts first; equals ``lower_bound`` rounded
    #: up when every host is alike).
    strict_bound: int

    @property
    def density(self) -> float:
        return self.lower_bound / self.hosts_used if self.hosts_used else 1.0


def packing(layout: Layout, placed: Mapping[str, str], requests: Mapping[str, Request]
            ) -> Packing:
    hosts = layout.by_name()
    used = usage_of(placed, requests)
    used_hosts = [h for h, u in used.items() if any(u.values())]
    demand = {rc: sum(u[rc] for u in used.values()) for rc in RESOURCE_CLASSES}
    capacity = {rc: sum(hosts[h].capacity[rc] for h in used_hosts) for rc in RESOURCE_CLASSES}
    fill = {rc: demand[rc] / capacity[rc] if capacity[rc] else 0.0 for rc in RESOURCE_CLASSES}
    binding = max(RESOURCE_CLASSES, key=lambda rc: fill[rc])
    count = len(used_hosts)
    lower = fill[binding] * count
    stranded = {rc: 1.0 - fill[rc] for rc in RESOURCE_CLASSES}
    forced = {rc: 1.0 - fill[rc] / fill[binding] if fill[binding] else 0.0
              for rc in RESOURCE_CLASSES}
    strict = 0
    for rc in RESOURCE_CLASSES:
        sizes = sorted((h.capacity[rc] for h in layout.hosts if h.enabled), reverse=True)
        left, need = demand[rc], 0
        for size in sizes:
            if left <= 0:
                break
            left -= size
            need += 1
        strict = max(strict, need)
    return Packing(count, lower, binding, stranded,
                   {rc: stranded[rc] - forced[rc] for rc in RESOURCE_CLASSES}, strict)


def balance(layout: Layout, placed: Mapping[str, str], requests: Mapping[str, Request],
            rc: str = MEMORY_MB) -> tuple[float, float]:
    """Spread's figures over the enabled hosts: coefficient of variation of ``rc``'s fill
    and max / mean fill."""
    used = usage_of(placed, requests)
    fills = [used[h.name][rc] / h.capacity[rc] if h.name in used else 0.0
             for h in layout.hosts if h.enabled]
    mean = sum(fills) / len(fills)
    if mean == 0:
        return 0.0, 1.0
    sd = math.sqrt(sum((f - mean) ** 2 for f in fills) / len(fills))
    return sd / mean, max(fills) / mean


def demand_for(layout: Layout, mix: Mix, share: float) -> int:
    """How many requests of ``mix`` use about ``share`` of the layout's binding resource."""
    total = sum(s for _, s in mix.flavors)
    mean = {rc: sum(f.resources[rc] * s for f, s in mix.flavors) / total
            for rc in RESOURCE_CLASSES}
    cap = {rc: sum(h.capacity[rc] for h in layout.hosts if h.enabled) for rc in RESOURCE_CLASSES}
    return int(share * min(cap[rc] / mean[rc] for rc in RESOURCE_CLASSES))
