"""Workload traces: one JSON object per line, read and checked line by line.

A trace is what happens to servers over time, in order::

    {"time": 0, "event": "create", "server": "web-1", "flavor": "m1.small",
     "group": "web", "policy": "anti-affinity", "zone": "nova"}
    {"time": 2.5, "event": "create", "server": "db-1",
     "resources": {"VCPU": 4, "MEMORY_MB": 8192, "DISK_GB": 80},
     "hints": {"different_host": ["web-1"]}}
    {"time": 60, "event": "resize", "server": "web-1", "flavor": "m1.medium"}
    {"time": 90, "event": "delete", "server": "web-1"}

Every line is checked on its own (fields, types, values) and against the lines before it
(time never goes back, a server is created before it is resized or deleted, a group keeps
its policy); the first problem is a ``TraceError`` naming the line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.compute.flavors import SEED_FLAVORS
from emulator.placement import RESOURCE_CLASSES

#: What may happen to a server.
EVENT_KINDS: tuple[str, ...] = ("create", "delete", "resize")
#: Server group policies (Nova's, as of 2.64).
GROUP_POLICIES: tuple[str, ...] = (
    "affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
#: Scheduler hints a trace may give (server ids of the trace).
HINTS: tuple[str, ...] = ("same_host", "different_host")
#: Group rules (2.64): only ``max_server_per_host``, only for anti-affinity.
RULES: tuple[str, ...] = ("max_server_per_host",)

#: The fields each event may carry (``time``, ``event`` and ``server`` always).
FIELDS: Mapping[str, frozenset[str]] = {
    "create": frozenset({"time", "event", "server", "flavor", "resources", "group", "policy",
                         "rules", "zone", "hints", "extra_specs"}),
    "resize": frozenset({"time", "event", "server", "flavor", "resources"}),
    "delete": frozenset({"time", "event", "server"}),
}

Resources = Mapping[str, int]

#: The request mix of the reference benchmarks (scheduling.md section 4):
#: name -> (VCPU, MEMORY_MB, DISK_GB), share of requests.
BENCH_FLAVORS: tuple[tuple[str, tuple[int, int, int], float], ...] = (
    ("bench.small", (1, 2048, 20), 0.30),
    ("bench.medium", (2, 4096, 40), 0.30),
    ("bench.large", (4, 8192, 80), 0.20),
    ("bench.xlarge", (8, 16384, 160), 0.10),
    ("bench.highmem", (2, 16384, 40), 0.05),
    ("bench.2xlarge", (16, 32768, 320), 0.05),
)


def _as_resources(vcpus: int, memory_mb: int, disk_gb: int) -> dict[str, int]:
    return dict(zip(RESOURCE_CLASSES, (vcpus, memory_mb, disk_gb), strict=True))


#: Flavor names a trace may use: the emulator's seeded flavors and the bench mix.
FLAVORS: Mapping[str, Resources] = {
    **{name: _as_resources(vcpus, ram, disk) for _, name, ram, vcpus, disk in SEED_FLAVORS},
    **{name: _as_resources(*shape) for name, shape, _ in BENCH_FLAVORS},
}


class TraceError(ValueError):
    """A trace line that is not a valid event (the message names the line)."""


@dataclass(frozen=True, slots=True)
class Event:
    """One line of a trace, checked; ``resources`` is resolved from ``flavor`` when the
    line names one (``flavor`` is kept for replays through the API)."""

    time: float
    event: str
    server: str
    flavor: str | None = None
    resources: Resources = field(default_factory=dict)
    group: str | None = None
    policy: str | None = None
    rules: Mapping[str, int] = field(default_factory=dict)
    zone: str | None = None
    hints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    extra_specs: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The line this event was read from (fields left at their default are left out)."""
        line: dict[str, Any] = {"time": self.time, "event": self.event, "server": self.server}
        if self.flavor is not None:
            line["flavor"] = self.flavor
        elif self.resources:
            line["resources"] = dict(self.resources)
        optional: dict[str, Any] = {
            "group": self.group, "policy": self.policy, "rules": dict(self.rules),
            "zone": self.zone, "hints": {k: list(v) for k, v in self.hints.items()},
            "extra_specs": dict(self.extra_specs)}
        line.update({k: v for k, v in optional.items() if v})
        return line


@dataclass
class Trace:
    """Checked events, in order, and where they came from."""

    name: str
    events: list[Event]

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.event == kind)

    @property
    def span(self) -> float:
        """Seconds from the first event to the last."""
        return self.events[-1].time - self.events[0].time if self.events else 0.0

    def smallest_request(self) -> dict[str, int]:
        """Per resource class, the least any create or resize asks (0 if some ask none)."""
        asks = [e.resources for e in self.events if e.event != "delete"]
        return {rc: min((a.get(rc, 0) for a in asks), default=0) for rc in RESOURCE_CLASSES}


# -- checks of one value ----------------------------------------------------------------


def _time(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or value < 0:
        raise ValueError(f"time must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _name(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string, not {value!r}")
    return value


def _count(key: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{key} must be an integer >= {least}, not {value!r}")
    return value


def _object(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be an object, not {value!r}")
    return value


def _unknown(what: str, keys: Iterable[str], allowed: Iterable[str]) -> None:
    extra = sorted(set(keys) - set(allowed))
    if extra:
        raise ValueError(f"unknown {what} {extra[0]!r} (known: {', '.join(sorted(allowed))})")


def _resources(value: Any) -> dict[str, int]:
    asked = _object("resources", value)
    _unknown("resource class", asked, RESOURCE_CLASSES)
    resources = {rc: _count(f"resources.{rc}", n, 0) for rc, n in asked.items()}
    if not any(resources.values()):
        raise ValueError("resources must ask for at least one unit of something")
    return resources


def _flavor_or_resources(line: Mapping[str, Any], flavors: Mapping[str, Resources]
                         ) -> tuple[str | None, Resources]:
    if ("flavor" in line) == ("resources" in line):
        raise ValueError(f"a {line['event']} names a flavor or gives resources (one of them)")
    if "resources" in line:
        return None, _resources(line["resources"])
    name = _name("flavor", line["flavor"])
    if name not in flavors:
        raise ValueError(f"unknown flavor {name!r} (known: {', '.join(sorted(flavors))}; "
                         f"or give resources)")
    return name, flavors[name]


def _hints(value: Any) -> dict[str, tuple[str, ...]]:
    hints = _object("hints", value)
    _unknown("hint", hints, HINTS)
    parsed: dict[str, tuple[str, ...]] = {}
    for key, ids in hints.items():
        ids = [ids] if isinstance(ids, str) else ids
        if not isinstance(ids, list) or not ids:
            raise ValueError(f"hints.{key} must be a server id or a list of them")
        parsed[key] = tuple(_name(f"hints.{key}", i) for i in ids)
    return parsed


def _extra_specs(value: Any) -> dict[str, str]:
    specs = _object("extra_specs", value)
    for key, spec in specs.items():
        if not isinstance(spec, str):
            raise ValueError(f"extra_specs.{key} must be a string, not {spec!r}")
    return specs


# -- checks of one line, then of the line against the ones before -----------------------


def parse_event(line: Mapping[str, Any], flavors: Mapping[str, Resources] = FLAVORS) -> Event:
    """One event from one decoded line (``ValueError`` naming what is wrong)."""
    kind = line.get("event")
    if kind not in EVENT_KINDS:
        raise ValueError(f"event must be one of {', '.join(EVENT_KINDS)}, not {kind!r}")
    _unknown(f"field of a {kind}", line, FIELDS[kind])
    for key in ("time", "server"):
        if key not in line:
            raise ValueError(f"a {kind} needs {key}")
    time, server = _time(line["time"]), _name("server", line["server"])
    if kind == "delete":
        return Event(time, kind, server)
    flavor, resources = _flavor_or_resources(line, flavors)
    if kind == "resize":
        return Event(time, kind, server, flavor, resources)
    group = _name("group", line["group"]) if "group" in line else None
    policy = line.get("policy")
    if policy is not None and policy not in GROUP_POLICIES:
        raise ValueError(f"policy must be one of {', '.join(GROUP_POLICIES)}, not {policy!r}")
    if policy is not None and group is None:
        raise ValueError("a policy needs a group")
    rules = _object("rules", line.get("rules", {}))
    _unknown("rule", rules, RULES)
    if rules and policy != "anti-affinity":
        raise ValueError("rules go with the anti-affinity policy only")
    return Event(
        time, kind, server, flavor, resources, group, policy,
        {k: _count(f"rules.{k}", v, 1) for k, v in rules.items()},
        _name("zone", line["zone"]) if "zone" in line else None,
        _hints(line.get("hints", {})), _extra_specs(line.get("extra_specs", {})))


class _Sequence:
    """What the lines so far established: the clock, servers, and groups' policies."""

    def __init__(self) -> None:
        self.time = 0.0
        self.live: set[str] = set()
        self.seen: set[str] = set()
        self.groups: dict[str, tuple[str, Mapping[str, int]]] = {}

    def check(self, event: Event) -> Event:
        """``event`` as the trace means it (a group's later members inherit its policy)."""
        if event.time < self.time:
            raise ValueError(f"time {event.time:g} is before the previous event's "
                             f"{self.time:g}")
        self.time = event.time
        if event.event == "create":
            if event.server in self.live:
                raise ValueError(f"server {event.server!r} is already created")
            for hint, ids in event.hints.items():
                unknown = [i for i in ids if i not in self.seen]
                if unknown:
                    raise ValueError(f"hints.{hint} names {unknown[0]!r}, not created before")
            event = self._grouped(event)
            self.live.add(event.server)
            self.seen.add(event.server)
        elif event.server not in self.live:
            was = "was deleted" if event.server in self.seen else "was never created"
            raise ValueError(f"cannot {event.event} server {event.server!r}: it {was}")
        elif event.event == "delete":
            self.live.discard(event.server)
        return event

    def _grouped(self, event: Event) -> Event:
        if event.group is None:
            return event
        known = self.groups.get(event.group)
        if known is None:
            if event.policy is None:
                raise ValueError(f"group {event.group!r} first appears here: give its policy")
            self.groups[event.group] = (event.policy, event.rules)
            return event
        policy, rules = known
        if event.policy not in (None, policy) or (event.rules and event.rules != rules):
            raise ValueError(f"group {event.group!r} has policy {policy} {dict(rules)} "
                             f"since its first member")
        return Event(event.time, event.event, event.server, event.flavor, event.resources,
                     event.group, policy, rules, event.zone, event.hints, event.extra_specs)


def read_lines(lines: Iterable[str], name: str = "trace",
               flavors: Mapping[str, Resources] = FLAVORS) -> Trace:
    """Check every line (blank ones are skipped); ``TraceError`` at the first bad one."""
    sequence = _Sequence()
    events: list[Event] = []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError as exc:
            raise TraceError(f"{name}:{number}: not JSON ({exc})") from None
        try:
            if not isinstance(line, dict):
                raise ValueError(f"a line is a JSON object, not {type(line).__name__}")
            events.append(sequence.check(parse_event(line, flavors)))
        except ValueError as exc:
            raise TraceError(f"{name}:{number}: {exc}") from None
    if not events:
        raise TraceError(f"{name}: no events")
    return Trace(name, events)


def read_trace(path: Path, flavors: Mapping[str, Resources] = FLAVORS) -> Trace:
    """The trace in the JSONL file ``path`` (``TraceError`` if unreadable or invalid)."""
    try:
        with path.open(encoding="utf-8") as lines:
            return read_lines(lines, path.name, flavors)
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace {path}: {exc}") from None


def dump_lines(events: Iterable[Event]) -> Iterator[str]:
    """JSONL lines (with their newline) that read back as ``events``."""
    for event in events:
        yield json.dumps(event.to_json(), separators=(", ", ": ")) + "\n"


def write_trace(path: Path, events: Iterable[Event]) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.writelines(dump_lines(events))
