"""Synthetic traces, the same for the same seed.

Every generator asks for flavors of the reference mix (``BENCH_FLAVORS``, scheduling.md
section 4) in its shares and names servers ``vm-<n>`` in order of creation:

- ``steady``: Poisson arrivals at ``rate`` a second; exponential lifetimes (mean half the
  trace); S1's request mix: half the requests pin a zone, 20 % join hard anti-affinity
  groups of 2-10, 5 % hard affinity groups of 2-5.
- ``bursty``: the same mix, arriving in bursts: bursts start as a Poisson process, each
  brings 5-50 servers in the same second.
- ``churn``: S2's packing workload: fill to ``servers``, then three rounds that each
  delete 30 % of the live servers at random, resize 10 % of the rest to another flavor
  (one whose disk is not smaller: Nova refuses that), and create as many as were
  deleted; no zones, no groups.
- ``group-heavy``: S3's: every server is in a group: hard anti-affinity groups of 2-20
  (one in ten with ``max_server_per_host`` 2), hard affinity 2-5, soft anti-affinity
  2-10, soft affinity 2-5; members of different groups interleave; each group lives an
  exponential time and its members go together.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from emulator.bench.trace import BENCH_FLAVORS, FLAVORS, Event

#: Zones the generators pin requests to unless told otherwise (the emulator's default).
DEFAULT_ZONES: tuple[str, ...] = ("nova", "az2")
#: Arrivals a second (steady, and the mean of bursty).
DEFAULT_RATE = 10.0

_NAMES = tuple(name for name, _, _ in BENCH_FLAVORS)
_SHARES = tuple(share for _, _, share in BENCH_FLAVORS)


@dataclass(frozen=True)
class _Group:
    name: str
    policy: str
    size: int
    rules: Mapping[str, int]


class _Builder:
    """Draws requests from one seeded generator and numbers servers and groups."""

    def __init__(self, seed: int, zones: Sequence[str]) -> None:
        self.rng = random.Random(seed)
        self.zones = tuple(zones)
        self.servers = 0
        self.groups = 0

    def flavor(self) -> str:
        return self.rng.choices(_NAMES, _SHARES)[0]

    def server(self) -> str:
        self.servers += 1
        return f"vm-{self.servers}"

    def group(self, policy: str, least: int, most: int,
              rules: Mapping[str, int] | None = None, cap: int | None = None) -> _Group:
        """A group of ``least``..``most`` members (at most ``cap``)."""
        self.groups += 1
        size = self.rng.randint(least, most)
        return _Group(f"group-{self.groups}", policy, min(size, cap or size), rules or {})

    def create(self, time: float, group: _Group | None = None, zone: str | None = None,
               flavor: str | None = None) -> Event:
        name = flavor or self.flavor()
        return Event(round(time, 3), "create", self.server(), name, FLAVORS[name],
                     group.name if group else None, group.policy if group else None,
                     group.rules if group else {}, zone)

    def zone(self, share: float = 0.5) -> str | None:
        return self.rng.choice(self.zones) if self.zones and self.rng.random() < share \
            else None


#: S1's groups: (policy, smallest, largest, share of requests that join one).
S1_GROUPS: tuple[tuple[str, int, int, float], ...] = (
    ("anti-affinity", 2, 10, 0.20),
    ("affinity", 2, 5, 0.05),
)


def _s1_requests(builder: _Builder, times: Sequence[float], lifetime: float) -> list[Event]:
    """S1's mix at ``times``: a request joins the open group of a kind (opening one when
    none is) in that kind's share; a group's members share the zone of its first; each
    server lives an exponential ``lifetime`` (mean)."""
    events: list[Event] = []
    end = times[-1] if times else 0.0
    open_groups: dict[str, tuple[_Group, int, str | None]] = {}
    for time in times:
        draw, create = builder.rng.random(), None
        for policy, least, most, share in S1_GROUPS:
            if draw < share:
                group, joined, zone = open_groups.get(policy) or (
                    builder.group(policy, least, most), 0, builder.zone())
                create = builder.create(time, group, zone)
                open_groups[policy] = (group, joined + 1, zone)
                if joined + 1 == group.size:
                    del open_groups[policy]
                break
            draw -= share
        if create is None:
            create = builder.create(time, zone=builder.zone())
        events.append(create)
        death = time + builder.rng.expovariate(1.0 / lifetime)
        if death < end:
            events.append(Event(round(death, 3), "delete", create.server))
    return _in_time_order(events)


def _in_time_order(events: list[Event]) -> list[Event]:
    """Sorted by time; at the same time creates come first (stable otherwise)."""
    return sorted(events, key=lambda e: (e.time, e.event == "delete"))


def steady(servers: int, seed: int = 1, zones: Sequence[str] = DEFAULT_ZONES,
           rate: float = DEFAULT_RATE) -> list[Event]:
    builder = _Builder(seed, zones)
    times, now = [], 0.0
    for _ in range(servers):
        now += builder.rng.expovariate(rate)
        times.append(now)
    return _s1_requests(builder, times, lifetime=max(times[-1], 1.0) / 2 if times else 1.0)


def bursty(servers: int, seed: int = 1, zones: Sequence[str] = DEFAULT_ZONES,
           rate: float = DEFAULT_RATE) -> list[Event]:
    builder = _Builder(seed, zones)
    times: list[float] = []
    now = 0.0
    while len(times) < servers:
        size = min(builder.rng.randint(5, 50), servers - len(times))
        now += builder.rng.expovariate(rate / 27.5)  # 27.5: the mean burst
        times += [float(int(now))] * size
    return _s1_requests(builder, times, lifetime=max(times[-1], 1.0) / 2 if times else 1.0)


def churn(servers: int, seed: int = 1, zones: Sequence[str] = DEFAULT_ZONES,
          rate: float = DEFAULT_RATE, rounds: int = 3) -> list[Event]:
    del zones  # packing quality: nothing pins a zone
    builder = _Builder(seed, ())
    events: list[Event] = []
    live: dict[str, str] = {}  # server -> flavor
    now = 0.0

    def create() -> None:
        nonlocal now
        now += builder.rng.expovariate(rate)
        event = builder.create(now)
        live[event.server] = event.flavor or ""
        events.append(event)

    for _ in range(servers):
        create()
    for _ in range(rounds):
        doomed = builder.rng.sample(sorted(live, key=_number), round(0.3 * len(live)))
        for server in doomed:
            now += builder.rng.expovariate(rate)
            events.append(Event(round(now, 3), "delete", server))
            del live[server]
        growable = sorted((s for s in live if _larger(live[s])), key=_number)
        for server in builder.rng.sample(growable, min(len(growable),
                                                       round(0.1 * len(live)))):
            now += builder.rng.expovariate(rate)
            flavor = builder.rng.choice(_larger(live[server]))
            events.append(Event(round(now, 3), "resize", server, flavor, FLAVORS[flavor]))
            live[server] = flavor
        for _ in doomed:
            create()
    return events


def _number(server: str) -> int:
    return int(server.rsplit("-", 1)[1])


def _larger(flavor: str) -> list[str]:
    """The other flavors a server of ``flavor`` may be resized to: Nova refuses a
    smaller root disk."""
    disk = FLAVORS[flavor]["DISK_GB"]
    return [n for n in _NAMES if n != flavor and FLAVORS[n]["DISK_GB"] >= disk]


#: group-heavy's groups: (policy, smallest, largest, share of groups).
GROUP_KINDS: tuple[tuple[str, int, int, float], ...] = (
    ("anti-affinity", 2, 20, 0.5),
    ("affinity", 2, 5, 0.2),
    ("soft-anti-affinity", 2, 10, 0.2),
    ("soft-affinity", 2, 5, 0.1),
)


def group_heavy(servers: int, seed: int = 1, zones: Sequence[str] = DEFAULT_ZONES,
                rate: float = DEFAULT_RATE) -> list[Event]:
    builder = _Builder(seed, zones)
    groups: list[_Group] = []
    total = 0
    while total < servers:
        policy, least, most, _ = builder.rng.choices(
            GROUP_KINDS, [share for *_, share in GROUP_KINDS])[0]
        rules = {"max_server_per_host": 2} if policy == "anti-affinity" \
            and builder.rng.random() < 0.1 else None
        group = builder.group(policy, least, most, rules, cap=servers - total)
        groups.append(group)
        total += group.size
    slots = [g for g in groups for _ in range(g.size)]
    builder.rng.shuffle(slots)
    events: list[Event] = []
    members: dict[str, list[str]] = {g.name: [] for g in groups}
    zones_of = {g.name: builder.zone() for g in groups}
    last: dict[str, float] = {}
    now = 0.0
    for group in slots:
        now += builder.rng.expovariate(rate)
        event = builder.create(now, group, zones_of[group.name])
        members[group.name].append(event.server)
        last[group.name] = event.time
        events.append(event)
    lifetime = max(now, 1.0) / 2
    for group in groups:
        death = round(last[group.name] + builder.rng.expovariate(1.0 / lifetime), 3)
        if death < now:
            events += [Event(death, "delete", server) for server in members[group.name]]
    return _in_time_order(events)


Generator = Callable[..., list[Event]]

#: Generators by the name the command line uses.
GENERATORS: Mapping[str, Generator] = {
    "steady": steady,
    "bursty": bursty,
    "churn": churn,
    "group-heavy": group_heavy,
}
