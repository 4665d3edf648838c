"""S1: placement decisions/s and decision latency at 1k, 10k and 100k hosts (scheduling
reference, section 5), the placement core against the in-run Nova-style reference.

Each size: the section-4 layout (three zones, every 10th host in the SSD aggregate; 1 % of
hosts disabled, for ComputeFilter) and S1's request stream (six flavors, half pinned to a
zone, 5 % asking for the SSD aggregate, 20 % in hard anti-affinity groups of 2-10, 5 % in
hard affinity groups of 2-5), spread (RAM weigher), one request at a time. The stream is
``NOVA_BENCH_PLACEMENT_DECISIONS`` requests (100,000), at most 60 % of what the hosts hold
(17,400 at 1k hosts). Each round starts from empty hosts (pedantic setup) and the validator
checks the previous round. The reference makes the first decisions of the same stream for
``NOVA_BENCH_REFERENCE_SECONDS`` (10 s) on its own fresh state: it is **sampled** (all of
its decisions cost a pass over every host, so its rate does not depend on how full the
cloud is); its placements pass the same validator.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from benchmarks import placement_plots
from benchmarks.conftest import RATIOS, record_figure
from benchmarks.goals import record_goal
from benchmarks.placement_drivers import SPREAD, Core, Reference, Run, check, run
from benchmarks.placement_workloads import S1_MIX, demand_for, layout, workload

SIZES = [int(n) for n in os.environ.get("NOVA_BENCH_PLACEMENT_HOSTS",
                                        "1000,10000,100000").split(",")]
DECISIONS = int(os.environ.get("NOVA_BENCH_PLACEMENT_DECISIONS", "100000"))
ROUNDS = int(os.environ.get("NOVA_BENCH_PLACEMENT_ROUNDS", "3"))
REFERENCE_SECONDS = float(os.environ.get("NOVA_BENCH_REFERENCE_SECONDS", "10"))
#: Goal keys by size (sizes without one are measured, not judged).
RATE_GOALS = {1_000: "s1-1k", 10_000: "s1-10k", 100_000: "s1-100k"}
SEED = 11


@pytest.mark.parametrize("hosts", SIZES)
def test_s1_placement_throughput(benchmark: Any, hosts: int) -> None:
    cloud = layout(hosts, disabled_every=100, seed=SEED)
    stream = workload(S1_MIX, min(DECISIONS, demand_for(cloud, S1_MIX, 0.6)), seed=SEED)
    runs: list[Run] = []
    last: list[Core] = []

    def fresh() -> tuple[tuple[Core], dict[str, Any]]:
        if last:
            check(cloud, last.pop(), stream)
        return (Core(cloud, SPREAD, stream.groups),), {}

    def decide_all(core: Core) -> None:
        runs.append(run(core, stream.requests))
        last.append(core)

    benchmark.pedantic(decide_all, setup=fresh, rounds=ROUNDS, iterations=1)
    check(cloud, last.pop(), stream)
    assert all(r.decisions == len(stream.requests) for r in runs)
    # Every round makes the same decisions: the stream and the state are the same.
    assert len({tuple(r.refused) for r in runs}) == 1

    reference = Reference(cloud, SPREAD, stream.groups)
    sampled = run(reference, stream.requests, budget=REFERENCE_SECONDS)
    check(cloud, reference, stream)

    best = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    rate, p50, p99 = best.rate, best.percentile(0.5), max(r.percentile(0.99) for r in runs)
    ratio = rate / sampled.rate
    benchmark.extra_info.update(
        hosts=hosts, decisions=best.decisions, refused=len(best.refused),
        decisions_per_s=round(rate), p50_us=round(p50 * 1e6, 1), p99_us=round(p99 * 1e6, 1),
        reference_decisions=sampled.decisions, reference_per_s=round(sampled.rate, 1),
        reference_p99_ms=round(sampled.percentile(0.99) * 1e3, 2),
        ratio_to_reference=round(ratio, 1))
    RATIOS[benchmark.name] = (ratio, f"Nova-style reference ({sampled.rate:,.0f} decisions/s, "
                                     f"{sampled.decisions:,} sampled); core {rate:,.0f}/s "
                                     "(higher is better)")
    placement_plots.THROUGHPUT[hosts] = (rate, sampled.rate)
    record_figure(
        f"S1 {hosts:,} hosts: {rate:,.0f} decisions/s (median of {len(runs)} rounds of "
        f"{best.decisions:,}, {len(best.refused)} refused), p50 {p50 * 1e6:.0f} us, p99 "
        f"{p99 * 1e6:.0f} us; reference {sampled.rate:,.1f}/s over {sampled.decisions:,} "
        f"sampled decisions (p99 {sampled.percentile(0.99) * 1e3:.1f} ms): {ratio:,.0f} x")
    if hosts in RATE_GOALS:
        record_goal(RATE_GOALS[hosts], rate)
    if hosts == 10_000:
        record_goal("s1-p99-10k", p99)
        record_goal("s1-vs-reference", ratio)
    _THROUGHPUT[hosts] = rate
    if 1_000 in _THROUGHPUT and 100_000 in _THROUGHPUT:
        record_goal("s1-sublinear", _THROUGHPUT[100_000] / _THROUGHPUT[1_000])


#: decisions/s by size, this run (for the sub-linear growth goal).
_THROUGHPUT: dict[int, float] = {}
