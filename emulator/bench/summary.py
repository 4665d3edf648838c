"""A replay's figures as JSON (``summarize``) and the schema that JSON follows.

- ``decisions_per_s``: decisions over the time spent in them (the engine's time alone;
  ``replay_s`` is the whole replay, books and progress bar included).
- ``latency_ms``: nearest-rank percentiles of single decisions.
- ``density``: at the ``peak`` (after the first event at which the demand needed the most
  hosts) and at the ``end``: ``hosts_needed`` is the lower bound, the fewest hosts whose
  capacities hold what is used, per resource class and overall (the largest);
  ``density`` is that over ``used_hosts`` (1.0: nothing to gain by packing). ``stranded``
  is free capacity on hosts that cannot take the trace's smallest request because another
  resource class is short there; ``stranded_share`` is it over the cloud's capacity.
- ``refused``: requests refused before any decision (through the API: a quota, a bad
  request; in process: a resize to a smaller disk, as Nova's API refuses it), by reason.
- ``group_violations``: decisions that broke a hard affinity or anti-affinity rule, as
  the replay's own books see them; ``soft_misses`` those that went against a soft policy.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from emulator.bench.replay import Result
from emulator.bench.usage import Snapshot
from emulator.placement import RESOURCE_CLASSES

SCHEMA_ID = "nova-emulator/bench-placement/1"


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of ``ordered`` (sorted, not empty)."""
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _snapshot(snap: Snapshot | None, capacity: dict[str, int]) -> dict[str, Any] | None:
    if snap is None:
        return None
    return {
        "time": snap.time,
        "used_hosts": snap.used_hosts,
        "hosts_needed": snap.hosts_needed,
        "density": _ratio(snap.hosts_needed, snap.used_hosts),
        "per_resource_class": {rc: {
            "used": snap.used[rc],
            "capacity": capacity[rc],
            "hosts_needed": snap.lower_bound[rc],
            "density": _ratio(snap.lower_bound[rc], snap.used_hosts),
            "stranded": snap.stranded[rc],
            "stranded_share": _ratio(snap.stranded[rc], capacity[rc]),
        } for rc in RESOURCE_CLASSES},
    }


def _latency(nanoseconds: Sequence[int]) -> dict[str, float | None]:
    if not nanoseconds:
        return {"p50": None, "p99": None, "max": None, "mean": None}
    ordered = sorted(nanoseconds)
    ms = 1e-6
    return {"p50": percentile(ordered, 50) * ms, "p99": percentile(ordered, 99) * ms,
            "max": ordered[-1] * ms, "mean": sum(ordered) / len(ordered) * ms}


def _by_reason(counts: Counter[tuple[str, str]]) -> dict[str, int]:
    """(kind, reason) -> n as reason -> n, most frequent first."""
    reasons: Counter[str] = Counter()
    for (_, reason), n in counts.items():
        reasons[reason] += n
    return dict(reasons.most_common())


def summarize(result: Result) -> dict[str, Any]:
    trace, capacity = result.trace, result.total_capacity
    decided = sum(result.decisions.values())
    failed = sum(result.failures.values())
    reasons, refusals = _by_reason(result.failures), _by_reason(result.refused)
    series = result.series
    return {
        "schema": SCHEMA_ID,
        "engine": result.engine,
        "trace": {"name": trace.name, "events": len(trace.events),
                  "creates": trace.count("create"), "deletes": trace.count("delete"),
                  "resizes": trace.count("resize"), "span_s": trace.span},
        "layout": {**result.layout.describe(), "capacity": dict(capacity)},
        "policy": result.policy.describe(),
        "decisions": {"total": decided, "create": result.decisions["create"],
                      "resize": result.decisions["resize"], "placed": decided - failed,
                      "skipped": result.skipped},
        "decisions_per_s": _ratio(decided, sum(result.latencies) * 1e-9),
        "latency_ms": _latency(result.latencies),
        "replay_s": result.wall_seconds,
        "failures": {"count": failed,
                     "create": sum(n for (k, _), n in result.failures.items()
                                   if k == "create"),
                     "resize": sum(n for (k, _), n in result.failures.items()
                                   if k == "resize"),
                     "reasons": reasons},
        "refused": {"count": sum(result.refused.values()), "reasons": refusals},
        "density": {"peak": _snapshot(result.peak, capacity),
                    "end": _snapshot(result.end, capacity)},
        "group_violations": {"count": result.groups.violations,
                             "groups": sorted(result.groups.violated),
                             "soft_misses": result.groups.soft_misses},
        "overcommitted_decisions": result.overcommits,
        "utilisation": {"time": series.time, "used_hosts": series.used_hosts,
                        **{rc: series.used[rc] for rc in RESOURCE_CLASSES}},
    }


# -- the schema -------------------------------------------------------------------------

_NUMBER = {"type": "number"}
_COUNT = {"type": "integer", "minimum": 0}
_MAYBE = {"type": ["number", "null"]}
_SHARE = {"type": ["number", "null"], "minimum": 0}


def _object(properties: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": sorted(properties),
            **more}


_PER_CLASS = _object({
    "used": _COUNT, "capacity": _COUNT, "hosts_needed": _COUNT, "density": _SHARE,
    "stranded": {"type": "integer"}, "stranded_share": _MAYBE})
_SNAPSHOT = {"oneOf": [{"type": "null"}, _object({
    "time": _NUMBER, "used_hosts": _COUNT, "hosts_needed": _COUNT, "density": _SHARE,
    "per_resource_class": _object({rc: _PER_CLASS for rc in RESOURCE_CLASSES}),
})]}
_SERIES = {"type": "array", "items": _NUMBER}

#: JSON Schema of ``summarize``'s output (``--json``).
SUMMARY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **_object({
        "schema": {"const": SCHEMA_ID},
        "engine": {"type": "string"},
        "trace": _object({"name": {"type": "string"}, "events": _COUNT, "creates": _COUNT,
                          "deletes": _COUNT, "resizes": _COUNT, "span_s": _NUMBER}),
        "layout": _object({"hosts": _COUNT, "zones": {"type": "object"},
                           "shapes": {"type": "array"}, "aggregates": {"type": "object"},
                           "capacity": _object({rc: _COUNT for rc in RESOURCE_CLASSES})}),
        "policy": _object({"name": {"type": "string"},
                           "filters": {"type": "array", "items": {"type": "string"}},
                           "weighers": {"type": "array", "items": {
                               "type": "array", "prefixItems": [{"type": "string"}, _NUMBER],
                               "minItems": 2, "maxItems": 2}},
                           "host_subset_size": _COUNT, "max_placement_results": _COUNT}),
        "decisions": _object({"total": _COUNT, "create": _COUNT, "resize": _COUNT,
                              "placed": _COUNT, "skipped": _COUNT}),
        "decisions_per_s": _MAYBE,
        "latency_ms": _object({"p50": _MAYBE, "p99": _MAYBE, "max": _MAYBE, "mean": _MAYBE}),
        "replay_s": _NUMBER,
        "failures": _object({"count": _COUNT, "create": _COUNT, "resize": _COUNT,
                             "reasons": {"type": "object", "additionalProperties": _COUNT}}),
        "refused": _object({"count": _COUNT,
                            "reasons": {"type": "object", "additionalProperties": _COUNT}}),
        "density": _object({"peak": _SNAPSHOT, "end": _SNAPSHOT}),
        "group_violations": _object({"count": _COUNT, "soft_misses": _COUNT,
                                     "groups": {"type": "array",
                                                "items": {"type": "string"}}}),
        "overcommitted_decisions": _COUNT,
        "utilisation": _object({"time": _SERIES, "used_hosts": _SERIES,
                                **{rc: _SERIES for rc in RESOURCE_CLASSES}}),
    }),
}
