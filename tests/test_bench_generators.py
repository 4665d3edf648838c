"""Each generator: the same events for the same seed, a valid trace, and the workload its
docstring promises (shares, sizes, rounds)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from importlib import resources

import pytest

from emulator.bench.generators import (
    DEFAULT_RATE,
    GENERATORS,
    GROUP_KINDS,
    bursty,
    churn,
    group_heavy,
    steady,
)
from emulator.bench.options import GENERATOR_NAMES
from emulator.bench.trace import BENCH_FLAVORS, Event, dump_lines, read_lines

N = 4000


def _creates(events: list[Event]) -> list[Event]:
    return [e for e in events if e.event == "create"]


def _groups(events: list[Event]) -> dict[str, list[Event]]:
    groups: dict[str, list[Event]] = defaultdict(list)
    for e in _creates(events):
        if e.group is not None:
            groups[e.group].append(e)
    return groups


@pytest.mark.parametrize("name", GENERATORS)
def test_a_seed_makes_the_same_valid_trace(name: str) -> None:
    make = GENERATORS[name]
    events = make(300, seed=7)
    assert events == make(300, seed=7)
    assert events != make(300, seed=8)
    assert events == read_lines(list(dump_lines(events)), name).events
    assert 300 == len({e.server for e in _creates(events)}) or name == "churn"


@pytest.mark.parametrize("name", ["steady", "bursty", "churn", "group-heavy"])
def test_flavors_come_in_the_reference_shares(name: str) -> None:
    creates = _creates(GENERATORS[name](N, seed=3))
    counts = Counter(e.flavor for e in creates)
    for flavor, _, share in BENCH_FLAVORS:
        assert counts[flavor] / len(creates) == pytest.approx(share, abs=0.03), flavor


@pytest.mark.parametrize("make", [steady, bursty])
def test_the_s1_mix(make: object) -> None:
    assert callable(make)
    events = make(N, seed=5)
    creates = _creates(events)
    assert N == len(creates)
    pinned = sum(e.zone is not None for e in creates) / N
    assert pinned == pytest.approx(0.5, abs=0.05)
    assert {"nova", "az2"} == {e.zone for e in creates} - {None}
    policies = Counter(e.policy for e in creates)
    assert policies["anti-affinity"] / N == pytest.approx(0.20, abs=0.03)
    assert policies["affinity"] / N == pytest.approx(0.05, abs=0.02)
    for members in _groups(events).values():
        largest = 10 if members[0].policy == "anti-affinity" else 5
        assert 1 <= len(members) <= largest
        assert len({m.zone for m in members}) == 1  # a group stays in one zone
    deletes = [e for e in events if e.event == "delete"]
    assert 0 < len(deletes) < N
    assert [e.time for e in events] == sorted(e.time for e in events)


def test_steady_arrives_at_its_rate() -> None:
    times = [e.time for e in _creates(steady(N, seed=2))]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert sum(gaps) / len(gaps) == pytest.approx(1 / DEFAULT_RATE, rel=0.1)
    assert max(Counter(times).values()) <= 3  # no bursts


def test_bursty_arrives_in_bursts_at_the_same_rate() -> None:
    creates = _creates(bursty(N, seed=2))
    at = Counter(e.time for e in creates)
    assert len(at) <= N / 5  # bursts of 5-50 servers, in whole seconds
    assert all(t == int(t) for t in at)
    assert max(at.values()) >= 30
    assert N / creates[-1].time == pytest.approx(DEFAULT_RATE, rel=0.25)


def test_churn_fills_then_deletes_resizes_and_refills() -> None:
    servers = 1000
    events = churn(servers, seed=4)
    kinds = [e.event for e in events]
    assert ["create"] * servers == kinds[:servers]
    rest = kinds[servers:]
    for _ in range(3):  # each round: 30 % deleted, up to 10 % of the rest resized, refilled
        deleted = round(0.3 * servers)
        assert ["delete"] * deleted == rest[:deleted]
        resized = len(list(itertools.takewhile(lambda k: k == "resize", rest[deleted:])))
        assert 0.08 * (servers - deleted) < resized <= round(0.1 * (servers - deleted))
        after = deleted + resized
        assert ["create"] * deleted == rest[after:after + deleted]
        rest = rest[after + deleted:]
    assert [] == rest
    assert all(e.zone is None and e.group is None for e in _creates(events))
    flavors: dict[str, Event] = {}
    for e in events:  # a resize changes the flavor, never to a smaller disk
        if e.event == "resize":
            assert e.flavor != flavors[e.server].flavor
            assert e.resources["DISK_GB"] >= flavors[e.server].resources["DISK_GB"]
        flavors[e.server] = e


def test_group_heavy_puts_every_server_in_a_group() -> None:
    events = group_heavy(N, seed=6)
    creates = _creates(events)
    assert N == len(creates)
    assert all(e.group is not None for e in creates)
    groups = _groups(events)
    bounds = {policy: (least, most) for policy, least, most, _ in GROUP_KINDS}
    policies = Counter(members[0].policy for members in groups.values())
    for policy, _, _, share in GROUP_KINDS:
        assert policies[policy] / len(groups) == pytest.approx(share, abs=0.05)
    ruled = 0
    for name, members in groups.items():
        least, most = bounds[members[0].policy or ""]
        assert len(members) <= most, name
        assert len(members) >= least or name == max(groups, key=lambda g: int(g[6:]))
        ruled += bool(members[0].rules)
        assert not members[0].rules or members[0].policy == "anti-affinity"
    assert ruled / policies["anti-affinity"] == pytest.approx(0.1, abs=0.05)
    # members interleave: most groups are not created in one run
    order = [e.group for e in creates]
    runs = sum(1 for a, b in itertools.pairwise(order) if a != b)
    assert runs > N / 2
    # a group's members go together
    deleted_at: dict[str, set[float]] = defaultdict(set)
    group_of = {e.server: e.group for e in creates}
    for e in events:
        if e.event == "delete":
            deleted_at[group_of[e.server] or ""].add(e.time)
    assert deleted_at and all(len(times) == 1 for times in deleted_at.values())
    for group, times in deleted_at.items():
        assert {e.server for e in events if e.event == "delete" and e.time in times
                and group_of[e.server] == group} == {m.server for m in groups[group]}


@pytest.mark.parametrize("name", GENERATORS)
def test_the_shipped_traces_are_their_generators_with_seed_1(name: str) -> None:
    shipped = resources.files("emulator.bench") / "traces" / f"{name}.jsonl"
    assert shipped.read_text(encoding="utf-8") == "".join(
        dump_lines(GENERATORS[name](500, seed=1)))


def test_the_command_line_knows_every_generator_by_name() -> None:
    assert tuple(GENERATORS) == GENERATOR_NAMES
