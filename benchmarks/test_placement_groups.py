"""S3: server groups under pressure (scheduling reference, section 5).

1,000 hosts (1 % disabled), 50,000 requests (``NOVA_BENCH_GROUP_REQUESTS``), every one in
a server group: hard anti-affinity (groups of 2-20), hard affinity (2-5), soft
anti-affinity (2-6, with its weigher at Nova's multiplier 1.0 beside the RAM weigher),
about 9,000 groups; the two smallest flavors, half the requests pinned to a zone, 5 % to
the SSD aggregate; the cloud ends about 75 % full on disk. Among them, 12 hard
anti-affinity groups larger than the hosts they may use (a zone's SSD hosts): their last
members must be refused. The validator must find no violation (a failure, not a goal).

Then the impossible request, timed: one more member of such a group, whose every eligible
host already holds a member (checked), refused 200 times; the reference refuses the same
request on the same state (the core's placements claimed in it) for the ratio.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from typing import Any

from benchmarks.conftest import RATIOS, record_figure
from benchmarks.goals import record_goal
from benchmarks.placement_drivers import SPREAD_SOFT, Core, Reference, Run, check, run
from benchmarks.placement_workloads import (
    S3_MIX,
    Request,
    eligible_hosts,
    layout,
    with_oversized,
    workload,
)

HOSTS = 1_000
REQUESTS = int(os.environ.get("NOVA_BENCH_GROUP_REQUESTS", "50000"))
OVERSIZED = 12
REFUSALS = 200
REFERENCE_SECONDS = float(os.environ.get("NOVA_BENCH_REFERENCE_SECONDS", "10"))
SEED = 33


def test_s3_server_groups(benchmark: Any) -> None:
    cloud = layout(HOSTS, disabled_every=100, seed=SEED)
    stream = with_oversized(workload(S3_MIX, REQUESTS, seed=SEED), cloud, OVERSIZED, extra=5,
                            seed=SEED)
    outcome: dict[str, Any] = {}

    def place() -> None:
        core = Core(cloud, SPREAD_SOFT, stream.groups)
        outcome.update(core=core, run=run(core, stream.requests))

    benchmark.pedantic(place, rounds=1, iterations=1)
    core: Core = outcome["core"]
    done: Run = outcome["run"]
    check(cloud, core, stream)
    by_uuid = {r.consumer: r for r in stream.requests}
    oversized = [g for g in stream.groups.values() if g.uuid.startswith("oversized-")]
    for group in oversized:
        placed = [c for c in core.members[group.uuid] if c in core.placed]
        assert len(placed) < group.size, f"{group.uuid}: all {group.size} placed"

    # Soft anti-affinity: groups whose placed members are all on distinct hosts.
    soft_hosts: dict[str, list[str]] = defaultdict(list)
    for consumer, host in core.placed.items():
        group_id = by_uuid[consumer].group
        if group_id is not None and stream.groups[group_id].policy == "soft-anti-affinity":
            soft_hosts[group_id].append(host)
    judged = [hosts for hosts in soft_hosts.values() if len(hosts) > 1]
    distinct = sum(1 for hosts in judged if len(set(hosts)) == len(hosts)) / len(judged)

    # The impossible request: a member more of an oversized group that holds every host
    # it may use (the zone's enabled SSD hosts), on the core and on the reference.
    group = max(oversized, key=lambda g: len(
        {core.placed[c] for c in core.members[g.uuid] if c in core.placed}))
    first = by_uuid[core.members[group.uuid][0]]
    taken = {core.placed[c] for c in core.members[group.uuid] if c in core.placed}
    assert {h.name for h in eligible_hosts(cloud, first)} == taken, "a host is left"
    reference = Reference(cloud, SPREAD_SOFT, stream.groups)
    for request in stream.requests:
        if request.group is not None:
            reference.members[request.group].append(request.consumer)
        if request.consumer in core.placed:
            reference.claim(request, core.placed[request.consumer])
    core_times = refusals(core, first, "core")
    reference_times = refusals(reference, first, "reference", count=20)

    sampled = run(Reference(cloud, SPREAD_SOFT, stream.groups), stream.requests,
                  budget=REFERENCE_SECONDS)
    refused_ms = statistics.median(core_times) * 1e3
    reference_ms = statistics.median(reference_times) * 1e3
    ratio = done.rate / sampled.rate
    groups = len(stream.groups)
    benchmark.extra_info.update(
        decisions=done.decisions, refused=len(done.refused), groups=groups,
        decisions_per_s=round(done.rate), p99_us=round(done.percentile(0.99) * 1e6, 1),
        soft_distinct=round(distinct, 4), impossible_p50_ms=round(refused_ms, 4),
        impossible_max_ms=round(max(core_times) * 1e3, 4),
        reference_impossible_p50_ms=round(reference_ms, 2),
        reference_per_s=round(sampled.rate, 1), ratio_to_reference=round(ratio, 1))
    RATIOS[benchmark.name] = (ratio, f"Nova-style reference ({sampled.rate:,.0f} decisions/s, "
                                     f"{sampled.decisions:,} sampled; higher is better)")
    record_figure(
        f"S3: {done.decisions:,} decisions in {groups:,} groups at {done.rate:,.0f}/s (p99 "
        f"{done.percentile(0.99) * 1e6:.0f} us), {len(done.refused):,} refused, 0 violations; "
        f"soft anti-affinity on distinct hosts in {distinct:.1%} of {len(judged):,} groups; "
        f"impossible group member refused in {refused_ms:.3f} ms (median of {REFUSALS}, max "
        f"{max(core_times) * 1e3:.3f} ms; reference {reference_ms:.1f} ms); reference "
        f"{sampled.rate:,.0f} decisions/s sampled over {sampled.decisions:,}")
    record_goal("s3-throughput", done.rate)
    record_goal("s3-impossible", refused_ms / 1e3)
    record_goal("s3-soft", distinct)


def refusals(engine: Core | Reference, like: Request, name: str,
             count: int = REFUSALS) -> list[float]:
    """Seconds of each of ``count`` requests for one more member of ``like``'s group, each
    of which must be refused."""
    times = []
    for i in range(count):
        request = Request(f"{like.group}-impossible-{name}-{i}", like.flavor, like.zone,
                          like.extra_specs, like.group)
        started = time.perf_counter()
        try:
            engine.schedule(request)
        except engine.refusal:
            times.append(time.perf_counter() - started)
        else:
            raise AssertionError(f"{request.consumer} was placed on "
                                 f"{engine.placed[request.consumer]}")
    return times
