"""S2: packing quality of the pack policy (negative RAM multiplier), and spread's balance
(scheduling reference, section 5).

10,000 hosts (``NOVA_BENCH_PACKING_HOSTS``), identical (``homogeneous``: the section-4
host) or of three sizes (``mixed``: 128 / 256 / 512 vCPU, 128 / 256 / 512 GiB, 1,000 /
2,000 / 4,000 GB, 40/40/20 %), filled one request at a time with the flavor mix (half of
the requests pinned to a zone) up to 65 % of the binding resource (disk: ~191,000 servers
on identical hosts). ``churn``: the homogeneous fill, then 30 % of its servers deleted at
random and as many new ones placed (no migrations).

Density = lower bound / hosts used, the lower bound being the demand of the binding
resource class in units of the used hosts' mean capacity (for identical hosts: demand /
one host's capacity, fractional). Stranding: the free share of each resource class on the
used hosts; *excess* stranding subtracts what the demand mix forces (the free share a
perfect fill of the binding class would leave). The validator checks every fill.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from benchmarks import placement_plots
from benchmarks.conftest import record_figure
from benchmarks.goals import GOALS, record_goal
from benchmarks.placement_drivers import PACK, SPREAD, Core, Run, check, run
from benchmarks.placement_workloads import (
    MEMORY_MB,
    MIXED_SIZES,
    RESOURCE_CLASSES,
    S2_MIX,
    Layout,
    Workload,
    balance,
    demand_for,
    layout,
    packing,
    workload,
)

HOSTS = int(os.environ.get("NOVA_BENCH_PACKING_HOSTS", "10000"))
FILL = 0.65
CHURN = 0.30
SEED = 22
SCENARIOS = {"homogeneous": "s2-homogeneous", "mixed": "s2-mixed", "churn": "s2-churn"}


def cloud_of(scenario: str) -> Layout:
    if scenario == "mixed":
        return layout(HOSTS, MIXED_SIZES, ssd_every=0, seed=SEED)
    return layout(HOSTS, ssd_every=0, seed=SEED)


def fill(cloud: Layout, weighers: tuple[tuple[str, float], ...]) -> tuple[Core, Workload, Run]:
    stream = workload(S2_MIX, demand_for(cloud, S2_MIX, FILL), seed=SEED)
    core = Core(cloud, weighers, stream.groups)
    done = run(core, stream.requests)
    return core, stream, done


def churn(core: Core, stream: Workload) -> tuple[Workload, Run, int]:
    """Delete ``CHURN`` of the placed servers at random, place as many new ones; the
    workload now holds every request made (the deleted ones no longer placed)."""
    rng = random.Random(SEED)
    gone = rng.sample(sorted(core.placed), int(CHURN * len(core.placed)))
    refill = workload(S2_MIX, len(gone), seed=SEED + 1, prefix="churn")
    for consumer in gone:
        core.release(consumer)
    done = run(core, refill.requests)
    merged = Workload(stream.requests + refill.requests, {**stream.groups, **refill.groups})
    return merged, done, len(gone)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_s2_packing_density(benchmark: Any, scenario: str) -> None:
    cloud = cloud_of(scenario)
    outcome: dict[str, Any] = {}

    def place() -> None:
        core, stream, done = fill(cloud, PACK)
        outcome.update(core=core, stream=stream, run=done)
        if scenario == "churn":
            check(cloud, core, stream)
            outcome["before"] = packing(cloud, core.placed,
                                        {r.consumer: r for r in stream.requests})
            stream, done, deleted = churn(core, stream)
            outcome.update(stream=stream, run=done, deleted=deleted)

    benchmark.pedantic(place, rounds=1, iterations=1)
    core, stream, done = outcome["core"], outcome["stream"], outcome["run"]
    check(cloud, core, stream)
    requests = {r.consumer: r for r in stream.requests}
    packed = packing(cloud, core.placed, requests)
    excess = max(packed.excess_stranded[rc] for rc in RESOURCE_CLASSES if rc != packed.binding)
    benchmark.extra_info.update(
        hosts=len(cloud.hosts), servers=len(core.placed), refused=len(done.refused),
        decisions_per_s=round(done.rate), hosts_used=packed.hosts_used,
        lower_bound=round(packed.lower_bound, 1), strict_bound=packed.strict_bound,
        density=round(packed.density, 4), binding=packed.binding,
        stranded={rc: round(v, 4) for rc, v in packed.stranded.items()},
        excess_stranded={rc: round(v, 4) for rc, v in packed.excess_stranded.items()})
    stranded = ", ".join(f"{rc} {packed.stranded[rc]:.1%} ({packed.excess_stranded[rc]:+.1%})"
                         for rc in RESOURCE_CLASSES)
    line = (f"S2 {scenario}: density {packed.density:.3f} ({packed.hosts_used:,} hosts used, "
            f"lower bound {packed.lower_bound:,.1f} on {packed.binding}; strict count bound "
            f"{packed.strict_bound:,}), {len(core.placed):,} servers, {len(done.refused)} "
            f"refused, {done.rate:,.0f} decisions/s; stranded (excess): {stranded}")
    if scenario == "churn":
        before = outcome["before"]
        line += (f"; before the churn {before.density:.3f} on {before.hosts_used:,} hosts, "
                 f"{outcome['deleted']:,} deleted and as many placed")
    record_figure(line)
    key = SCENARIOS[scenario]
    record_goal(key, packed.density)
    placement_plots.DENSITY[scenario] = (packed.density, GOALS[key].limit)
    if scenario == "homogeneous":
        record_goal("s2-stranding", excess)


def test_s2_spread_balance(benchmark: Any) -> None:
    """The homogeneous fill with the spread policy: how even RAM use is across hosts."""
    cloud = cloud_of("homogeneous")
    outcome: dict[str, Any] = {}

    def place() -> None:
        core, stream, done = fill(cloud, SPREAD)
        outcome.update(core=core, stream=stream, run=done)

    benchmark.pedantic(place, rounds=1, iterations=1)
    core, stream, done = outcome["core"], outcome["stream"], outcome["run"]
    check(cloud, core, stream)
    cv, peak = balance(cloud, core.placed, {r.consumer: r for r in stream.requests}, MEMORY_MB)
    benchmark.extra_info.update(servers=len(core.placed), refused=len(done.refused),
                                decisions_per_s=round(done.rate), ram_cv=round(cv, 4),
                                ram_max_over_mean=round(peak, 4))
    record_figure(f"S2 spread: RAM use across {len(cloud.hosts):,} hosts: coefficient of "
                  f"variation {cv:.3f}, max / mean {peak:.3f} ({len(core.placed):,} servers, "
                  f"{done.rate:,.0f} decisions/s)")
    record_goal("s2-spread-cv", cv)
    record_goal("s2-spread-max", peak)
