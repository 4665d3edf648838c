"""What a replay sees of the cloud, kept apart from the engine it measures: per-host
usage from the decisions, the lower bound of hosts the demand needs, stranded
resources, and the group rules each decision kept or broke.

Everything is kept incrementally (a decision costs O(resource classes)), so the figures
can be read after every event: the replay keeps them at the peak and at the end.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import accumulate

from emulator.bench.layout import Layout
from emulator.placement import RESOURCE_CLASSES

_RCS = range(len(RESOURCE_CLASSES))


@dataclass(frozen=True)
class Snapshot:
    """The figures at one moment (after the event at ``time``)."""

    time: float
    used_hosts: int
    used: Mapping[str, int]
    #: Per resource class, the fewest hosts whose capacities hold what is used.
    lower_bound: Mapping[str, int]
    #: Per resource class, free capacity on hosts that cannot take the smallest request
    #: of the trace because another resource class is short there.
    stranded: Mapping[str, int]

    @property
    def hosts_needed(self) -> int:
        return max(self.lower_bound.values(), default=0)


class Usage:
    """Per-host usage as the replay's own books have it, and what follows from it."""

    def __init__(self, layout: Layout, smallest: Mapping[str, int]) -> None:
        hosts = layout.hosts()
        self.index = {host.name: i for i, host in enumerate(hosts)}
        self.capacity = [[h.shape.capacity()[rc] for h in hosts] for rc in RESOURCE_CLASSES]
        self.total_capacity = {rc: sum(caps) for rc, caps in zip(
            RESOURCE_CLASSES, self.capacity, strict=True)}
        self.used = [[0] * len(hosts) for _ in _RCS]
        self.consumers = [0] * len(hosts)
        self.total_used = [0] * len(RESOURCE_CLASSES)
        self.used_hosts = 0
        self.smallest = [smallest.get(rc, 0) for rc in RESOURCE_CLASSES]
        self.stranded_of = [[0] * len(RESOURCE_CLASSES) for _ in hosts]
        self.stranded = [0] * len(RESOURCE_CLASSES)
        #: Per host, its fullest resource class's % used, at most 255 (for the heat map).
        self.fullness = [0] * len(hosts)
        #: Per resource class: 0, then the capacities of the largest hosts summed.
        self.prefix = [[0, *accumulate(sorted(caps, reverse=True))] for caps in self.capacity]
        self.overcommits = 0

    def change(self, host: str, resources: Mapping[str, int], sign: int) -> None:
        """``sign`` 1: a consumer claims ``resources`` on ``host``; -1: releases them."""
        i = self.index[host]
        was_used = self.consumers[i] > 0
        self.consumers[i] += sign
        used_now = self.consumers[i] > 0
        self.used_hosts += used_now - was_used
        free: list[int] = []
        fullest = 0
        for r, rc in enumerate(RESOURCE_CLASSES):
            n = resources.get(rc, 0) * sign
            used = self.used[r][i] = self.used[r][i] + n
            self.total_used[r] += n
            cap = self.capacity[r][i]
            free.append(cap - used)
            if cap and 100 * used // cap > fullest:
                fullest = 100 * used // cap
        self.fullness[i] = min(fullest, 255)
        if sign > 0 and min(free) < 0:
            self.overcommits += 1
        # stranded: free capacity of one class where another is short of the smallest ask
        short = [f < least for f, least in zip(free, self.smallest, strict=True)]
        shorts = sum(short)
        mine = self.stranded_of[i]
        for r in _RCS:
            now = free[r] if used_now and shorts - short[r] else 0
            self.stranded[r] += now - mine[r]
            mine[r] = now

    def hosts_needed(self) -> int:
        """The lower bound of hosts over every resource class."""
        return max(min(bisect_left(prefix, used), len(prefix) - 1)
                   for prefix, used in zip(self.prefix, self.total_used, strict=True))

    def lower_bound(self) -> dict[str, int]:
        return {rc: min(bisect_left(self.prefix[r], self.total_used[r]),
                        len(self.prefix[r]) - 1)
                for r, rc in enumerate(RESOURCE_CLASSES)}

    def snapshot(self, time: float) -> Snapshot:
        return Snapshot(time, self.used_hosts, dict(zip(RESOURCE_CLASSES, self.total_used,
                                                        strict=True)),
                        self.lower_bound(), dict(zip(RESOURCE_CLASSES, self.stranded,
                                                     strict=True)))


@dataclass
class Groups:
    """Server groups as the trace made them, and every decision checked against their
    rules by the replay itself (not by the scheduler)."""

    policy: dict[str, str] = field(default_factory=dict)
    most_per_host: dict[str, int] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    hosts: dict[str, Counter[str]] = field(default_factory=dict)
    #: Decisions that broke a hard rule (affinity, anti-affinity) and their groups.
    violations: int = 0
    violated: set[str] = field(default_factory=set)
    #: Decisions that went against a soft policy (allowed, but worth a look).
    soft_misses: int = 0

    def join(self, group: str, policy: str, rules: Mapping[str, int], server: str) -> None:
        if group not in self.policy:
            self.policy[group] = policy
            self.most_per_host[group] = rules.get("max_server_per_host", 1)
            self.members[group] = []
            self.hosts[group] = Counter()
        self.members[group].append(server)

    def leave(self, group: str, server: str) -> None:
        self.members[group].remove(server)

    def placed(self, group: str, host: str) -> None:
        hosts = self.hosts[group]
        hosts[host] += 1
        policy = self.policy[group]
        spread = hosts[host] > (self.most_per_host[group] if policy == "anti-affinity" else 1)
        apart = len(hosts) > 1
        broken = {"anti-affinity": spread, "affinity": apart}.get(policy)
        if broken:
            self.violations += 1
            self.violated.add(group)
        if {"soft-anti-affinity": spread, "soft-affinity": apart}.get(policy):
            self.soft_misses += 1

    def removed(self, group: str, host: str) -> None:
        hosts = self.hosts[group]
        hosts[host] -= 1
        if not hosts[host]:
            del hosts[host]
