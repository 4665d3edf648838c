"""The figures of a run, from its decision log: admitted against ``rate x T + burst``, the
worst window against ``rate x W + burst``, the cost of a check (and of a 429), the oracle's
disagreements, and whether a retry sent at Retry-After got in."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.bench.ratelimit.oracle import Logged, Verdict, replay
from emulator.bench.ratelimit.workload import Limit, Load

#: Bins of the rate-over-time series: this many over the run, unless fewer are needed for
#: ``PER_BIN`` admissions in each at the configured rate (and never under 10 ms).
BINS = 120
PER_BIN = 10


@dataclass
class Costs:
    """Seconds each check (or request) took, admitted and refused apart."""

    admitted: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)

    def add(self, admitted: bool, seconds: float) -> None:
        (self.admitted if admitted else self.refused).append(seconds)


@dataclass
class Probe:
    """A lone client on a fresh key that, after each 429, retries exactly at Retry-After."""

    retries: int = 0
    admitted: int = 0

    @property
    def share(self) -> float | None:
        return self.admitted / self.retries if self.retries else None


@dataclass
class Run:
    """What a mode hands back: its decision log (times from the start of the load) and the
    rest of what it measured."""

    mode: str
    limit: Limit
    load: Load
    log: list[Logged]
    costs: Costs
    #: Seconds of the clock the load ran on (virtual or real) from start to last arrival.
    span_s: float
    #: Wall-clock seconds the whole run took.
    wall_s: float
    probe: Probe = field(default_factory=Probe)
    #: What a cost is: "check" (in process) or "request" (client round trip).
    cost_of: str = "check"
    #: Mode-specific figures (an in-run reference, the processes, the URL ...).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Whether the oracle can judge the log (the limiter's own clock readings).
    judged: bool = True
    #: The limit of each tier, in the order of a logged decision's keys (empty: ``limit``).
    tiers: list[Limit] = field(default_factory=list)


def worst_window(times: Sequence[float], window: float) -> tuple[int, float]:
    """The most admissions in any half-open window ``[t, t + window)`` and where it starts
    (``times`` ascending)."""
    best, start = 0, 0.0
    for i, t in enumerate(times):
        n = bisect.bisect_left(times, t + window, lo=i) - i
        if n > best:
            best, start = n, t
    return best, start


def series(log: Sequence[Logged], span: float, rate: float) -> dict[str, list[float]]:
    """Offered and admitted rates (per second) in bins over ``span`` seconds."""
    width = max(span / BINS, PER_BIN / rate, 0.01)
    bins = max(1, int(span / width + 0.999999))
    offered, admitted = [0] * bins, [0] * bins
    for d in log:
        b = min(bins - 1, max(0, int(d.t / width)))
        offered[b] += 1
        admitted[b] += d.admitted
    return {"t": [round(i * width, 6) for i in range(bins)],
            "offered_per_s": [n / width for n in offered],
            "admitted_per_s": [n / width for n in admitted],
            "bin_s": [width]}


def _us(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p99": None}
    ordered = sorted(values)
    return {"mean": round(statistics.fmean(values) * 1e6, 3),
            "p50": round(ordered[len(ordered) // 2] * 1e6, 3),
            "p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e6, 3)}


def _oracle(run: Run, limits: Sequence[Limit]) -> dict[str, Any]:
    if not run.judged:
        return {"judged": False, "decisions": len(run.log), "disagreements": None,
                "share": None, "retry_after_short": None, "oracle_admitted": None,
                "examples": []}
    verdict: Verdict = replay(run.log, limits)
    return {"judged": True, "decisions": verdict.decisions,
            "disagreements": verdict.disagreements, "share": verdict.share,
            "wrongly_admitted": verdict.wrongly_admitted,
            "wrongly_refused": verdict.wrongly_refused,
            "retry_after_short": verdict.retry_after_short,
            "retry_after_excess_s": verdict.retry_after_excess,
            "oracle_admitted": verdict.oracle_admitted, "examples": verdict.examples}


def summarize(run: Run, window: float = 1.0) -> dict[str, Any]:
    """The JSON summary of ``run`` (one tier's limit: the one the load runs into)."""
    limit, load = run.limit, run.load
    admitted_times = sorted(d.t for d in run.log if d.admitted)
    admitted = len(admitted_times)
    expected = limit.expected(run.span_s)
    worst, worst_at = worst_window(admitted_times, window)
    all_costs = run.costs.admitted + run.costs.refused
    return {
        "mode": run.mode,
        "limit": {"limit": limit.limit, "unit_s": limit.unit_s, "burst": limit.burst,
                  "rate_per_s": limit.rate},
        "load": {"clients": load.clients, "overload": load.overload,
                 "offered_per_s": load.offered(limit), "duration_s": load.duration,
                 "seed": load.seed, "pattern": load.pattern},
        "requests": {"offered": len(run.log), "admitted": admitted,
                     "refused": len(run.log) - admitted},
        "admitted": {"span_s": run.span_s, "expected": expected,
                     "error": admitted / expected - 1 if expected else 0.0,
                     "rate_per_s": (admitted - limit.burst) / run.span_s if run.span_s else 0.0,
                     "configured_per_s": limit.rate},
        "worst_window": {"window_s": window, "admitted": worst, "start_s": worst_at,
                         "bound": limit.window_bound(window),
                         "within": worst <= limit.window_bound(window)},
        "cost_us": {"of": run.cost_of, "all": _us(all_costs),
                    "admitted": _us(run.costs.admitted), "refused": _us(run.costs.refused)},
        "oracle": _oracle(run, run.tiers or [limit]),
        "retry_after": {"retries": run.probe.retries, "admitted": run.probe.admitted,
                        "share": run.probe.share},
        "wall_s": run.wall_s,
        "extra": run.extra,
        "series": series(run.log, run.span_s, limit.rate),
    }
