"""S4: concurrent claims with provider generations (scheduling reference, section 5).

1,000 hosts (1 % disabled) and S1's request stream, sized to 95 % of the binding resource
(disk), placed by N asyncio writers taking requests from one queue. A writer decides on a
snapshot (the core's candidates, each with the provider generation it saw), yields to the
others (they decide meanwhile, as concurrent schedulers do), then claims with
``Placement.claim(..., generation)``, as the scheduler does: a moved generation makes
Placement re-read the provider and write again if the request still fits (a *generation
retry*, counted apart); a claim that no longer fits is a conflict (Placement's 409) and
the writer tries the next candidate, then decides again (at most ``MAX_DECISIONS`` times:
then the request counts as refused). After a claim, Nova's late
group check (the compute host's ``_validate_instance_group_policy``): a hard group whose
placed members are no longer all on one host (affinity) or share a host (anti-affinity)
gets the claim released and decided again.

Goals: no host overcommitted, ever (also checked by the validator, a failure); conflicts
<= 5 % of claim attempts with 8 writers; every request placed or refused; throughput of N
writers against one writer doing the same (the in-run reference).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest

from benchmarks.conftest import RATIOS, record_figure
from benchmarks.goals import record_goal
from benchmarks.placement_drivers import SPREAD, Core, check
from benchmarks.placement_workloads import (
    S1_MIX,
    Layout,
    Request,
    Workload,
    demand_for,
    layout,
    workload,
)
from emulator.placement import Conflict, NoValidHost

HOSTS = int(os.environ.get("NOVA_BENCH_CLAIM_HOSTS", "1000"))
FULL = 0.95
MAX_DECISIONS = 10
#: The scheduler's ``host_subset_size`` for every writer (Nova's advice for several
#: schedulers is more than 1; ``NOVA_BENCH_CLAIM_SUBSET``).
SUBSET = int(os.environ.get("NOVA_BENCH_CLAIM_SUBSET", "1"))
SEED = 44


@dataclass
class Claims:
    seconds: float = 0.0
    attempts: int = 0
    #: Claims refused: the request no longer fit (Placement's 409).
    conflicts: int = 0
    #: Claims written after Placement re-read a provider whose generation had moved.
    retried: int = 0
    #: Claims released by the late group check.
    late: int = 0
    placed: int = 0
    refused: list[str] = field(default_factory=list)
    #: Refused after ``MAX_DECISIONS`` decisions lost to conflicts.
    gave_up: int = 0
    #: Hosts over capacity seen after any claim (sampled on the claimed host).
    overcommitted: set[str] = field(default_factory=set)

    @property
    def rate(self) -> float:
        return (self.placed + len(self.refused)) / self.seconds

    @property
    def conflict_rate(self) -> float:
        return self.conflicts / self.attempts if self.attempts else 0.0


def broken(core: Core, request: Request, host: str) -> bool:
    """Nova's late check: the hard group of ``request`` as it stands with it on ``host``."""
    if request.group is None:
        return False
    policy = core.groups[request.group].policy
    hosts = [core.placed[m] for m in core.members[request.group] if m in core.placed]
    if policy == "affinity":
        return any(h != host for h in hosts)
    if policy == "anti-affinity":
        return host in hosts
    return False


async def writer(core: Core, queue: deque[Request], done: Claims) -> None:
    placement, scheduler = core.placement, core.scheduler
    while queue:
        request = queue.popleft()
        core.join(request)
        for _decision in range(MAX_DECISIONS):
            try:
                candidates = scheduler.decide(core.spec(request))
            except NoValidHost:
                done.refused.append(request.consumer)
                break
            await asyncio.sleep(0)  # the other writers decide on the same state meanwhile
            host = None
            for candidate in candidates:
                done.attempts += 1
                try:
                    done.retried += placement.claim(request.consumer, candidate.host,
                                                    request.resources, candidate.generation)
                except Conflict:
                    done.conflicts += 1
                    continue
                host = candidate.host
                break
            if host is None:
                continue
            view = placement.provider(host)
            if any(view.used[rc] > view.capacity[rc] for rc in view.capacity):
                done.overcommitted.add(host)
            if broken(core, request, host):
                placement.release(request.consumer)
                done.late += 1
                continue
            core.placed[request.consumer] = host
            done.placed += 1
            break
        else:
            done.refused.append(request.consumer)
            done.gave_up += 1


def drive(cloud: Layout, stream: Workload, writers: int) -> tuple[Core, Claims]:
    core = Core(cloud, SPREAD, stream.groups, host_subset_size=SUBSET, seed=SEED)
    queue, done = deque(stream.requests), Claims()

    async def all_writers() -> None:
        await asyncio.gather(*(writer(core, queue, done) for _ in range(writers)))

    started = time.perf_counter()
    asyncio.run(all_writers())
    done.seconds = time.perf_counter() - started
    return core, done


def checked(cloud: Layout, stream: Workload, core: Core, done: Claims) -> None:
    """Every request placed or refused, never both, never lost; the validator's verdict."""
    assert done.placed + len(done.refused) == len(stream.requests)
    assert len(core.placed) == done.placed
    assert not set(done.refused) & set(core.placed)
    for consumer, host in core.placed.items():
        assert list(core.placement.allocations(consumer)) == [host], consumer
    for consumer in done.refused:
        assert core.placement.allocations(consumer) == {}, consumer
    assert not done.overcommitted, sorted(done.overcommitted)[:5]
    check(cloud, core, stream)


_BASELINE: dict[str, Claims] = {}


def one_writer(cloud: Layout, stream: Workload) -> Claims:
    """The same stream by one writer (no one to conflict with), once per run."""
    if "claims" not in _BASELINE:
        core, done = drive(cloud, stream, 1)
        checked(cloud, stream, core, done)
        assert done.conflicts == 0 and done.retried == 0
        _BASELINE["claims"] = done
    return _BASELINE["claims"]


@pytest.mark.parametrize("writers", [8, 32])
def test_s4_concurrent_claims(benchmark: Any, writers: int) -> None:
    cloud = layout(HOSTS, disabled_every=100, seed=SEED)
    stream = workload(S1_MIX, demand_for(cloud, S1_MIX, FULL), seed=SEED)
    single = one_writer(cloud, stream)
    outcome: dict[str, Any] = {}

    def claim_all() -> None:
        outcome["core"], outcome["claims"] = drive(cloud, stream, writers)

    benchmark.pedantic(claim_all, rounds=1, iterations=1)
    core: Core = outcome["core"]
    done: Claims = outcome["claims"]
    checked(cloud, stream, core, done)
    share = done.rate / single.rate
    fill = sum(r.resources["DISK_GB"] for r in stream.requests if r.consumer in core.placed) \
        / sum(h.capacity["DISK_GB"] for h in cloud.hosts if h.enabled)
    benchmark.extra_info.update(
        writers=writers, requests=len(stream.requests), placed=done.placed,
        refused=len(done.refused), gave_up=done.gave_up, attempts=done.attempts,
        conflicts=done.conflicts, conflict_rate=round(done.conflict_rate, 4),
        generation_retries=done.retried,
        late_group_checks=done.late, decisions_per_s=round(done.rate),
        one_writer_per_s=round(single.rate), disk_fill=round(fill, 4),
        ratio_to_reference=round(share, 3))
    RATIOS[benchmark.name] = (share, f"one writer ({single.rate:,.0f} requests/s; higher is "
                                     "better)")
    record_figure(
        f"S4 {writers} writers: {done.rate:,.0f} requests/s ({share:.2f} x one writer's "
        f"{single.rate:,.0f}/s), {done.conflicts:,} conflicts in {done.attempts:,} claims "
        f"({done.conflict_rate:.1%}), {done.retried:,} written after a generation retry, "
        f"{done.late} late group checks, {done.placed:,} placed, "
        f"{len(done.refused):,} refused ({done.gave_up} after {MAX_DECISIONS} lost "
        f"decisions), disk {fill:.1%} full, 0 overcommitted (host_subset_size {SUBSET})")
    if writers == 8:
        record_goal("s4-overcommit", len(done.overcommitted))
        record_goal("s4-conflicts", done.conflict_rate)
        record_goal("s4-throughput", share)
