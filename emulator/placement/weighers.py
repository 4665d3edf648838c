"""Weighers: Nova's, as a table. Each gives a provider a value; the scheduler scales every
weigher's values to 0..1 over the candidates (Nova's ``normalize``), multiplies them by
the weigher's multiplier and adds them up; the highest total wins.

*Static* weighers read only the provider (free RAM, CPU, disk, instances, build
failures): the candidate index sorts providers by their sum, each value scaled by the
cloud's largest capacity instead of the candidates' range (the same order with one
weigher; close to it with several, and the final pick among the index's best is
normalised exactly as Nova does). The others (soft affinity) read the decision too.
Third parties add weighers through the entry point group
``nova_emulator.scheduler_weighers`` or a dotted path (``emulator.placement.plugins``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from emulator.placement.filters import Decision
from emulator.placement.providers import DISK_GB, MEMORY_MB, VCPU, Provider
from emulator.placement.request import SOFT_AFFINITY, SOFT_ANTI_AFFINITY


@dataclass(frozen=True)
class Weigher:
    name: str
    value: Callable[[Provider, Decision | None], float]
    #: Reads only the provider (the index may sort by it).
    static: bool = True
    #: The resource class whose largest capacity scales it in the index (None: 1).
    resource: str | None = None


def _soft(policy: str, sign: float) -> Callable[[Provider, Decision | None], float]:
    def value(p: Provider, d: Decision | None) -> float:
        if d is None or d.spec.group is None or d.spec.group.policy != policy:
            return 0.0
        return sign * d.group_hosts[p.name]
    return value


#: Nova's weighers (``nova.scheduler.weights.all_weighers``) that mean something here.
WEIGHERS: dict[str, Weigher] = {
    "RAMWeigher": Weigher("RAMWeigher", lambda p, _d: p.free(MEMORY_MB), resource=MEMORY_MB),
    "CPUWeigher": Weigher("CPUWeigher", lambda p, _d: p.free(VCPU), resource=VCPU),
    "DiskWeigher": Weigher("DiskWeigher", lambda p, _d: p.free(DISK_GB), resource=DISK_GB),
    "NumInstancesWeigher": Weigher("NumInstancesWeigher", lambda p, _d: p.consumers),
    "BuildFailureWeigher": Weigher("BuildFailureWeigher", lambda p, _d: -p.failures),
    "ServerGroupSoftAffinityWeigher": Weigher("ServerGroupSoftAffinityWeigher",
                                              _soft(SOFT_AFFINITY, 1.0), static=False),
    "ServerGroupSoftAntiAffinityWeigher": Weigher("ServerGroupSoftAntiAffinityWeigher",
                                                  _soft(SOFT_ANTI_AFFINITY, -1.0),
                                                  static=False),
}

#: Nova's multipliers' defaults (``[filter_scheduler] *_weight_multiplier``): positive
#: RAM spreads, negative packs.
DEFAULT_WEIGHERS: tuple[tuple[str, float], ...] = (
    ("RAMWeigher", 1.0), ("CPUWeigher", 1.0), ("DiskWeigher", 1.0),
    ("NumInstancesWeigher", 0.0), ("BuildFailureWeigher", 1_000_000.0),
    ("ServerGroupSoftAffinityWeigher", 1.0), ("ServerGroupSoftAntiAffinityWeigher", 1.0),
)


def normalize(values: Sequence[float]) -> list[float]:
    """Nova's ``weights.normalize``: scaled to 0..1 over the list (all 0 when equal)."""
    if not values:
        return []
    low, high = min(values), max(values)
    if low == high:
        return [0.0] * len(values)
    return [(v - low) / (high - low) for v in values]


def weigh(candidates: Sequence[Provider], decision: Decision,
          weighers: Sequence[tuple[Weigher, float]]) -> list[float]:
    """Each candidate's total weight, as Nova's weight handler sums them."""
    totals = [0.0] * len(candidates)
    for weigher, multiplier in weighers:
        if not multiplier:
            continue
        values = normalize([weigher.value(p, decision) for p in candidates])
        for i, value in enumerate(values):
            totals[i] += multiplier * value
    return totals
