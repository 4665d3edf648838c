"""What a replay runs on: the hosts (count, shapes, zones, aggregates) and the policy
(filters, weighers and their multipliers, as ``[scheduler]`` names them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.config import load_config
from emulator.placement import DEFAULT_FILTERS as SCHEDULER_FILTERS
from emulator.placement import RESOURCE_CLASSES


@dataclass(frozen=True)
class HostShape:
    """One host's inventory; capacity is placement's ``(total - reserved) * ratio``."""

    vcpus: int = 32
    memory_mb: int = 131072
    disk_gb: int = 2000
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_memory_mb: int = 0

    def totals(self) -> dict[str, int]:
        return dict(zip(RESOURCE_CLASSES, (self.vcpus, self.memory_mb, self.disk_gb),
                        strict=True))

    def reserved(self) -> dict[str, int]:
        return {"VCPU": 0, "MEMORY_MB": self.reserved_memory_mb, "DISK_GB": 0}

    def ratios(self) -> dict[str, float]:
        return dict(zip(RESOURCE_CLASSES, (self.cpu_allocation_ratio,
                                           self.ram_allocation_ratio,
                                           self.disk_allocation_ratio), strict=True))

    def capacity(self) -> dict[str, int]:
        reserved, ratios = self.reserved(), self.ratios()
        return {rc: int((total - reserved[rc]) * ratios[rc])
                for rc, total in self.totals().items()}

    def describe(self) -> dict[str, Any]:
        return {"totals": self.totals(), "reserved": self.reserved(),
                "allocation_ratios": self.ratios(), "capacity": self.capacity()}


@dataclass(frozen=True)
class Host:
    name: str
    zone: str
    shape: HostShape
    aggregates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Layout:
    """``zones`` as (name, host count), in order; host ``i`` (counted from 0) has shape
    ``shapes[i % len(shapes)]`` and is in each aggregate ``(name, n)`` with ``i % n == 0``
    (every n-th host); hosts are named ``compute-001`` ... as the simulated cloud's, unless
    ``names`` gives every host's name (an emulator's, read through its API)."""

    zones: tuple[tuple[str, int], ...] = (("nova", 25), ("az2", 25))
    shapes: tuple[HostShape, ...] = (HostShape(),)
    aggregates: tuple[tuple[str, int], ...] = ()
    #: Aggregate name -> its metadata (matched by AggregateInstanceExtraSpecsFilter).
    metadata: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    names: tuple[str, ...] | None = None

    @property
    def count(self) -> int:
        return sum(n for _, n in self.zones)

    def hosts(self) -> list[Host]:
        width = max(3, len(str(self.count)))
        hosts: list[Host] = []
        for zone, n in self.zones:
            for _ in range(n):
                i = len(hosts)
                hosts.append(Host(
                    self.names[i] if self.names else f"compute-{i + 1:0{width}d}", zone,
                    self.shapes[i % len(self.shapes)],
                    tuple(name for name, every in self.aggregates if i % every == 0)))
        return hosts

    def describe(self) -> dict[str, Any]:
        return {"hosts": self.count, "zones": dict(self.zones),
                "shapes": [s.describe() for s in self.shapes],
                "aggregates": {name: {"every": every, "metadata": dict(
                    self.metadata.get(name, {}))} for name, every in self.aggregates}}


#: Filters a replay enables unless told otherwise: ``[scheduler]``'s default, and the
#: filter that matches flavor extra specs with aggregate metadata (``--aggregate``).
DEFAULT_FILTERS: tuple[str, ...] = (*SCHEDULER_FILTERS, "AggregateInstanceExtraSpecsFilter")
#: Weighers besides the RAM weigher, with their multipliers.
DEFAULT_WEIGHERS: tuple[tuple[str, float], ...] = (
    ("ServerGroupSoftAffinityWeigher", 1.0), ("ServerGroupSoftAntiAffinityWeigher", 1.0))
RAM_WEIGHER = "RAMWeigher"
#: A policy's name -> the sign of the RAM weigher's multiplier: positive spreads
#: (the host with the most free RAM first), negative packs.
POLICY_SIGNS: Mapping[str, float] = {"spread": 1.0, "pack": -1.0}


@dataclass(frozen=True)
class Policy:
    name: str
    filters: tuple[str, ...] = DEFAULT_FILTERS
    weighers: tuple[tuple[str, float], ...] = ()
    host_subset_size: int = 1
    max_placement_results: int = 1000
    seed: int | None = 0

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "filters": list(self.filters),
                "weighers": [[name, m] for name, m in self.weighers],
                "host_subset_size": self.host_subset_size,
                "max_placement_results": self.max_placement_results}


def make_policy(name: str, filters: Sequence[str] | None = None,
                weighers: Sequence[tuple[str, float]] = (), **options: Any) -> Policy:
    """The policy ``name`` (spread or pack) with ``weighers`` over the defaults; the RAM
    weigher's multiplier (1 unless given) takes the policy's sign."""
    if name not in POLICY_SIGNS:
        raise ValueError(f"unknown policy {name!r} (known: {', '.join(POLICY_SIGNS)})")
    merged = dict(DEFAULT_WEIGHERS)
    merged.update(weighers)
    ram = abs(merged.pop(RAM_WEIGHER, 1.0)) * POLICY_SIGNS[name]
    return Policy(name, tuple(filters) if filters is not None else DEFAULT_FILTERS,
                  ((RAM_WEIGHER, ram), *merged.items()), **options)


def policy_from_config(path: Path) -> Policy:
    """The policy of an emulator's configuration file: its ``[scheduler]`` (named after
    the file); ``ConfigError`` if it is not one."""
    scheduler = load_config(path).scheduler
    return Policy(path.stem, scheduler.filters, tuple(scheduler.weighers.items()),
                  scheduler.host_subset_size, scheduler.max_placement_results,
                  scheduler.seed if scheduler.seed is not None else 0)
