"""The replay's figures on a trace small enough to compute by hand.

Three hosts, allocation ratios 1 (capacity = inventory), two zones::

    compute-001  nova  8 VCPU  16384 MB  200 GB
    compute-002  nova  4 VCPU  32768 MB  200 GB
    compute-003  az2   8 VCPU  12288 MB  200 GB

and ``TRACE`` (resources as VCPU/MB/GB; ``g`` is an anti-affinity group)::

    t  event                                     spread           pack
    0  create a  2/4096/20                      002 (most RAM)   003 (least RAM)
    1  create b  2/8192/20   g                  002              003 (RAM now full)
    2  create c  4/8192/20   g                  001 (not 002)    001 (not 003)
    3  create d  4/16384/20                     NoValidHost      002
    4  create e  4/6144/20   g                  003              NoValidHost (g on all)
    5  resize a  1/2048/20   (not its source)   001              001
    6  delete b
    7  create f  2/2048/20   g                  002              003
    8  create h  2/2048/20   zone az2           003              003

The smallest request is 1/2048/20 (a's resize). The lower bound of hosts per resource
class comes from the capacities sorted largest first (VCPU 8, 8, 4; MB 32768, 16384,
12288; GB 200 each): VCPU 12 or 13 needs 2 hosts, and so does MB over 32768; every
other total here needs 1.

Spread: the peak (first event needing 2 hosts) is e at t=4: 001 holds c, 002 a+b
(4/4 VCPU, 12288 MB, 40 GB), 003 e; used VCPU 12, MB 26624, GB 80; density 2/3 (VCPU
2/3, MB 1/3, GB 1/3). 002 has no VCPU left, so its 20480 MB and 160 GB are stranded.
At the end (t=8): 001 c+a (5/10240/40), 002 f (2/2048/20), 003 e+h (6/8192/40): used
13/20480/100, 2 hosts needed, 3 used, nothing stranded.

Pack: the peak is d at t=3: 001 c, 002 d (4/4 VCPU, 16384 MB), 003 a+b (4 VCPU free,
0 MB free); used 12/36864/80 (2 hosts for VCPU and for MB); stranded VCPU 4 (003),
MB 16384 (002), GB 160 + 180.
At the end: 001 c+a, 002 d, 003 f+h: used 13/30720/100; 002's 16384 MB and 180 GB are
stranded.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import pytest

from emulator.bench.core import core_engine
from emulator.bench.engine import EngineFactory, Request
from emulator.bench.layout import HostShape, Layout, make_policy
from emulator.bench.replay import SAMPLES, Result, replay
from emulator.bench.summary import summarize
from emulator.bench.trace import read_lines
from tests.bench_support import FirstFitEngine


def _create(t: float, server: str, v: int, m: int, d: int, **more: object) -> str:
    line = {"time": t, "event": "create", "server": server,
            "resources": {"VCPU": v, "MEMORY_MB": m, "DISK_GB": d}, **more}
    return json.dumps(line)


G = {"group": "g", "policy": "anti-affinity"}
TRACE = [
    _create(0, "a", 2, 4096, 20),
    _create(1, "b", 2, 8192, 20, **G),
    _create(2, "c", 4, 8192, 20, **G),
    _create(3, "d", 4, 16384, 20),
    _create(4, "e", 4, 6144, 20, group="g"),
    json.dumps({"time": 5, "event": "resize", "server": "a",
                "resources": {"VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20}}),
    json.dumps({"time": 6, "event": "delete", "server": "b"}),
    _create(7, "f", 2, 2048, 20, group="g"),
    _create(8, "h", 2, 2048, 20, zone="az2"),
]
LAYOUT = Layout(zones=(("nova", 2), ("az2", 1)), shapes=(
    HostShape(8, 16384, 200, 1.0, 1.0, 1.0),
    HostShape(4, 32768, 200, 1.0, 1.0, 1.0),
    HostShape(8, 12288, 200, 1.0, 1.0, 1.0)))

#: What each policy decides, in order (kind, server, host).
DECISIONS = {
    "spread": [("create", "a", "compute-002"), ("create", "b", "compute-002"),
               ("create", "c", "compute-001"), ("create", "d", None),
               ("create", "e", "compute-003"), ("resize", "a", "compute-001"),
               ("create", "f", "compute-002"), ("create", "h", "compute-003")],
    "pack": [("create", "a", "compute-003"), ("create", "b", "compute-003"),
             ("create", "c", "compute-001"), ("create", "d", "compute-002"),
             ("create", "e", None), ("resize", "a", "compute-001"),
             ("create", "f", "compute-003"), ("create", "h", "compute-003")],
}
CAPACITY = {"VCPU": 20, "MEMORY_MB": 61440, "DISK_GB": 600}


def _per_class(hosts_needed: dict[str, int], used: dict[str, int],
               stranded: dict[str, int], used_hosts: int) -> dict[str, object]:
    return {rc: {"used": used[rc], "capacity": CAPACITY[rc],
                 "hosts_needed": hosts_needed[rc],
                 "density": hosts_needed[rc] / used_hosts, "stranded": stranded[rc],
                 "stranded_share": stranded[rc] / CAPACITY[rc]} for rc in CAPACITY}


def _snapshot(time: float, used: tuple[int, int, int], memory_hosts: int,
              stranded: tuple[int, int, int]) -> dict[str, object]:
    rcs = list(CAPACITY)
    return {"time": time, "used_hosts": 3, "hosts_needed": 2, "density": 2 / 3,
            "per_resource_class": _per_class(
                {"VCPU": 2, "MEMORY_MB": memory_hosts, "DISK_GB": 1},
                dict(zip(rcs, used, strict=True)), dict(zip(rcs, stranded, strict=True)),
                3)}


DENSITY = {
    "spread": {"peak": _snapshot(4, (12, 26624, 80), 1, (0, 20480, 160)),
               "end": _snapshot(8, (13, 20480, 100), 1, (0, 0, 0))},
    "pack": {"peak": _snapshot(3, (12, 36864, 80), 2, (4, 16384, 340)),
             "end": _snapshot(8, (13, 30720, 100), 1, (0, 16384, 180))},
}

ENGINES: dict[str, EngineFactory] = {"first-fit": FirstFitEngine, "core": core_engine}


def _replay(policy: str, engine: EngineFactory) -> Result:
    trace = read_lines(TRACE, "hand")
    chosen = make_policy(policy)
    return replay(trace, LAYOUT, chosen, engine(LAYOUT, chosen))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("policy", ["spread", "pack"])
def test_the_hand_computed_trace_number_by_number(policy: str, engine: str) -> None:
    result = _replay(policy, ENGINES[engine])
    assert DECISIONS[policy] == result.log
    summary = summarize(result)
    assert {"total": 8, "create": 7, "resize": 1, "placed": 7, "skipped": 0} \
        == summary["decisions"]
    assert 1 == summary["failures"]["count"] == summary["failures"]["create"]
    assert 0 == summary["failures"]["resize"]
    [reason] = summary["failures"]["reasons"]
    assert reason.startswith("No valid host was found.")
    assert DENSITY[policy] == summary["density"]
    assert {"count": 0, "groups": [], "soft_misses": 0} == summary["group_violations"]
    assert 0 == summary["overcommitted_decisions"]
    assert CAPACITY == summary["layout"]["capacity"]
    assert {"name": "hand", "events": 9, "creates": 7, "deletes": 1, "resizes": 1,
            "span_s": 8.0} == summary["trace"]
    assert 8 == len(result.latencies)
    latency = summary["latency_ms"]
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    assert summary["decisions_per_s"] == pytest.approx(
        8 / (sum(result.latencies) * 1e-9))


class GroupBlindEngine(FirstFitEngine):
    """Places by RAM alone, whatever the groups say."""

    def place(self, servers: Sequence[str], request: Request) -> list[str]:
        return super().place(servers, replace(request, group=None))


def test_group_rules_are_checked_by_the_replay_not_by_the_scheduler() -> None:
    """Two equal hosts, spread (ties to compute-1); every server 1 VCPU, 1024 MB. A
    group-blind engine puts anti-affinity's a, b, c on 1, 2, 1 (c breaks the rule),
    affinity's x, y on 2, 1 (y breaks it), soft anti-affinity's s1, s2, s3 on 2, 1, 2
    (s3 misses: allowed). The same trace under an engine that keeps the rules: none."""
    members = [("a", "g1", "anti-affinity"), ("b", "g1", None), ("c", "g1", None),
               ("x", "g2", "affinity"), ("y", "g2", None),
               ("s1", "g3", "soft-anti-affinity"), ("s2", "g3", None), ("s3", "g3", None)]
    trace = read_lines([_create(t, server, 1, 1024, 10, group=group,
                                **({"policy": policy} if policy else {}))
                        for t, (server, group, policy) in enumerate(members)])
    layout = Layout(zones=(("nova", 2),), shapes=(HostShape(8, 16384, 200),))
    spread = make_policy("spread")
    blind = replay(trace, layout, spread, GroupBlindEngine(layout, spread))
    assert ["compute-001", "compute-002", "compute-001", "compute-002", "compute-001",
            "compute-002", "compute-001", "compute-002"] == [h for *_, h in blind.log]
    assert {"count": 2, "groups": ["g1", "g2"], "soft_misses": 1} == \
        summarize(blind)["group_violations"]
    for engine in ENGINES.values():
        kept = summarize(replay(trace, layout, spread, engine(layout, spread)))
        assert 0 == kept["group_violations"]["count"]
        assert 1 == kept["failures"]["count"]  # c: both hosts have a member of g1


def test_utilisation_is_sampled_by_events_and_before_quiet_spells() -> None:
    """1,000 creates (1 VCPU, 512 MB) in the first second on 100 hosts, then one delete
    at t=100: the state after the last create is sampled (it holds through the quiet
    spell), and so is the end."""
    lines = [_create(i / 1000, f"s{i}", 1, 512, 1) for i in range(1000)]
    lines.append(json.dumps({"time": 100, "event": "delete", "server": "s0"}))
    layout = Layout(zones=(("nova", 100),), shapes=(HostShape(),))
    spread = make_policy("spread")
    result = replay(read_lines(lines), layout, spread, core_engine(layout, spread),
                    heat=True)
    series = result.series
    assert series.time == sorted(series.time)
    assert len(series.time) <= 2 * SAMPLES + 1
    assert [0.999, 100.0] == series.time[-2:]
    assert [1000, 999] == [round(u * 100 * 32 * 4) for u in series.used["VCPU"][-2:]]
    assert [100, 100] == series.used_hosts[-2:]
    assert len(series.heat) == len(series.time)
    # spread: 10 servers a host, 10 of 128 VCPU (7 %) the fullest class
    assert [7, 7] == [max(h) for h in series.heat[-2:]]


def test_a_resize_to_a_smaller_disk_is_refused_as_novas_api_refuses_it() -> None:
    lines = [_create(0, "a", 2, 4096, 40),
             json.dumps({"time": 1, "event": "resize", "server": "a", "flavor": "m1.small"}),
             json.dumps({"time": 2, "event": "resize", "server": "a", "flavor": "m1.large"})]
    layout = Layout(zones=(("nova", 2),))
    spread = make_policy("spread")
    result = replay(read_lines(lines), layout, spread, core_engine(layout, spread))
    summary = summarize(result)
    assert {"count": 1, "reasons": {"Resizing to a smaller disk flavor is not allowed.": 1}} \
        == summary["refused"]
    assert {"total": 2, "create": 1, "resize": 1, "placed": 2, "skipped": 0} == \
        summary["decisions"]
    assert [("create", "a", "compute-001"), ("resize", "a", None),
            ("resize", "a", "compute-002")] == result.log
    assert [4, 8192, 80] == [summary["density"]["end"]["per_resource_class"][rc]["used"]
                             for rc in ("VCPU", "MEMORY_MB", "DISK_GB")]
