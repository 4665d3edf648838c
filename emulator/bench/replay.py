"""Replay a trace against an engine, in process: every create and resize is one decision,
timed on its own; the replay keeps its own books (``Usage``, ``Groups``) to judge them.

A resize is Nova's cold resize confirmed at once: the server's old flavor moves to its
migration consumer on the source host, the scheduler picks another host for the new
flavor (Nova's ``allow_resize_to_same_host`` is off), then the confirm frees the source;
with no host the server stays where it was. A resize or delete of a server whose create
failed does nothing (its create was the failure).
"""

from __future__ import annotations

import math
import time
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from emulator.bench.engine import (
    Engine,
    GroupRequest,
    Refused,
    Request,
    Unplaceable,
    migration,
)
from emulator.bench.layout import Layout, Policy
from emulator.bench.trace import Event, Resources, Trace
from emulator.bench.usage import Groups, Snapshot, Usage
from emulator.placement import RESOURCE_CLASSES

#: Utilisation is sampled this many times by events, and as many by time (points of the
#: plot, columns of the heat map); a sample holds until the next one.
SAMPLES = 150

Progress = Callable[[int], None]
#: Nova's refusal of a resize to a smaller root disk (compute API, 400).
SMALLER_DISK = "Resizing to a smaller disk flavor is not allowed."


@dataclass
class Series:
    """Utilisation over time: per resource class, used / capacity of the whole cloud."""

    time: list[float] = field(default_factory=list)
    used: dict[str, list[float]] = field(
        default_factory=lambda: {rc: [] for rc in RESOURCE_CLASSES})
    used_hosts: list[int] = field(default_factory=list)
    #: Per sample, per host: its fullest resource class's % used (when asked for).
    heat: list[array[int]] = field(default_factory=list)


@dataclass
class Result:
    trace: Trace
    layout: Layout
    policy: Policy
    engine: str
    #: Nanoseconds of each decision (creates and resizes, placed or not).
    latencies: array[int] = field(default_factory=lambda: array("q"))
    decisions: Counter[str] = field(default_factory=Counter)
    #: (event kind, NoValidHost message) -> count.
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (event kind, why) -> count, of requests refused before any decision.
    refused: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Every decision or refusal: (event kind, server, the host chosen or None).
    log: list[tuple[str, str, str | None]] = field(default_factory=list)
    #: Resizes and deletes of servers that never got a host.
    skipped: int = 0
    wall_seconds: float = 0.0
    peak: Snapshot | None = None
    end: Snapshot | None = None
    groups: Groups = field(default_factory=Groups)
    overcommits: int = 0
    total_capacity: dict[str, int] = field(default_factory=dict)
    series: Series = field(default_factory=Series)


class Replay:
    """One replay's state; ``run`` goes through the trace once."""

    def __init__(self, trace: Trace, layout: Layout, policy: Policy, engine: Engine,
                 name: str = "placement", heat: bool = False) -> None:
        self.trace, self.engine, self.heat = trace, engine, heat
        self.usage = Usage(layout, trace.smallest_request())
        self.result = Result(trace, layout, policy, name,
                             total_capacity=dict(self.usage.total_capacity))
        self.groups = self.result.groups
        self.servers: dict[str, Event] = {}  # created and not deleted: its create
        self.placed: dict[str, tuple[str, Resources]] = {}  # server -> (host, resources)

    # -- one event of each kind ----------------------------------------------------------

    def _decide(self, kind: str, server: str, decide: Callable[[], str]) -> str | None:
        """Time ``decide`` (the host it chose, or ``Unplaceable``) and log what it chose."""
        start = time.perf_counter_ns()
        try:
            host: str | None = decide()
        except Unplaceable as exc:
            host = None
            reason = str(exc)
        except Refused as exc:
            self.result.refused[kind, str(exc)] += 1
            self.result.log.append((kind, server, None))
            return None
        self.result.latencies.append(time.perf_counter_ns() - start)
        self.result.decisions[kind] += 1
        self.result.log.append((kind, server, host))
        if host is None:
            self.result.failures[kind, reason] += 1
        return host

    def _request(self, create: Event, resources: Resources,
                 ignore: frozenset[str] = frozenset()) -> Request:
        group = None
        if create.group is not None:
            group = GroupRequest(create.group, self.groups.policy[create.group],
                                 tuple(self.groups.members[create.group]),
                                 create.rules.get("max_server_per_host"))
        return Request(resources, create.zone, group, create.hints.get("same_host", ()),
                       create.hints.get("different_host", ()), create.extra_specs, ignore)

    def _claimed(self, server: str, host: str, resources: Resources) -> None:
        self.placed[server] = (host, resources)
        self.usage.change(host, resources, 1)
        group = self.servers[server].group
        if group is not None:
            self.groups.placed(group, host)

    def _freed(self, server: str) -> tuple[str, Resources]:
        host, resources = self.placed.pop(server)
        self.usage.change(host, resources, -1)
        group = self.servers[server].group
        if group is not None:
            self.groups.removed(group, host)
        return host, resources

    def create(self, event: Event) -> None:
        self.servers[event.server] = event
        if event.group is not None and event.policy is not None:
            self.groups.join(event.group, event.policy, event.rules, event.server)
        request = self._request(event, event.resources)
        host = self._decide("create", event.server,
                            lambda: self.engine.place([event.server], request)[0])
        if host is not None:
            self._claimed(event.server, host, event.resources)

    def delete(self, event: Event) -> None:
        if event.server in self.placed:
            self._freed(event.server)
            self.engine.release(event.server)
        else:
            self.result.skipped += 1
        create = self.servers.pop(event.server)
        if create.group is not None:
            self.groups.leave(create.group, event.server)

    def resize(self, event: Event) -> None:
        if event.server not in self.placed:
            self.result.skipped += 1
            return
        source, old = self.placed[event.server]
        if event.resources.get("DISK_GB", 0) < old.get("DISK_GB", 0):
            self.result.refused["resize", SMALLER_DISK] += 1
            self.result.log.append(("resize", event.server, None))
            return
        self.engine.release(event.server)
        self.engine.hold(migration(event.server), source, old)
        request = self._request(self.servers[event.server], event.resources,
                                frozenset({source}))
        host = self._decide("resize", event.server,
                            lambda: self.engine.place([event.server], request)[0])
        self.engine.release(migration(event.server))
        if host is None:  # back where it was, as it was
            self.engine.hold(event.server, source, old)
            return
        self._freed(event.server)
        self._claimed(event.server, host, event.resources)

    # -- the whole trace -----------------------------------------------------------------

    def _sample(self, at: float) -> None:
        series, usage = self.result.series, self.usage
        series.time.append(at)
        for r, rc in enumerate(RESOURCE_CLASSES):
            total = usage.total_capacity[rc]
            series.used[rc].append(usage.total_used[r] / total if total else 0.0)
        series.used_hosts.append(usage.used_hosts)
        if self.heat:
            series.heat.append(array("B", usage.fullness))

    def run(self, progress: Progress | None = None) -> Result:
        """Replay every event; ``progress`` hears how many are done, now and then."""
        events = self.trace.events
        # a sample every n-th event, and before the first event of each time slice
        step = max(1, len(events) // SAMPLES)
        tick = self.trace.span / SAMPLES or math.inf
        due = events[0].time + tick
        act = {"create": self.create, "delete": self.delete, "resize": self.resize}
        peak = -1
        started = time.perf_counter()
        for done, event in enumerate(events, 1):
            act[event.event](event)
            needed = self.usage.hosts_needed()
            if needed > peak:
                peak, self.result.peak = needed, self.usage.snapshot(event.time)
            later = events[done].time if done < len(events) else math.inf
            if done % step == 0 or later >= due:
                self._sample(event.time)
                due = event.time + tick
                if progress is not None:
                    progress(done)
        self.result.wall_seconds = time.perf_counter() - started
        self.result.end = self.usage.snapshot(events[-1].time)
        self.result.overcommits = self.usage.overcommits
        return self.result


def replay(trace: Trace, layout: Layout, policy: Policy, engine: Engine, *,
           name: str = "placement", heat: bool = False,
           progress: Progress | None = None) -> Result:
    return Replay(trace, layout, policy, engine, name, heat).run(progress)
