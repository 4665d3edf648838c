"""The offered load: N clients, each with its own seeded arrival process, merged into one
arrival log ordered by time.

``poisson``: each client's gaps are exponential (mean ``clients / offered``), its first
arrival one gap after 0. ``even``: the clients take turns, one arrival in each step of
``1 / offered``, shifted within the middle half of its step by a golden-ratio sequence: the
limiter's slots fall on a grid set by the first arrival, and an arrival landing exactly on
one would be decided by float rounding, so none does. ``onoff``: Poisson at twice
the offered rate during the first half of every 2 s period and silent in the second half
(the same mean, the bursts that fixed windows get wrong).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: Seconds of one on/off period of the ``onoff`` pattern.
ONOFF_PERIOD = 2.0


@dataclass(frozen=True)
class Limit:
    """The configured limit: ``limit`` requests per ``unit_s`` seconds; an idle key admits
    ``burst`` at once (GCRA's tolerance is ``burst`` emission intervals)."""

    limit: int
    unit_s: float
    burst: int

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.limit / self.unit_s

    def expected(self, seconds: float) -> float:
        """What a saturated limiter admits in ``seconds`` from a full bucket: rate x T + burst."""
        return self.rate * seconds + self.burst

    def window_bound(self, window_s: float) -> float:
        """The bound on admissions in any window of ``window_s`` (rate x W + burst; GCRA
        admits at most one fewer in a half-open window)."""
        return self.rate * window_s + self.burst


@dataclass(frozen=True)
class Load:
    """N clients offering ``overload`` x the limit's rate for ``duration`` seconds."""

    clients: int
    overload: float
    duration: float
    seed: int = 1
    pattern: str = "poisson"

    def offered(self, limit: Limit) -> float:
        """Requests per second the clients offer together."""
        return limit.rate * self.overload


#: One arrival: (seconds from the start, client index).
Arrival = tuple[float, int]


def _poisson(client: int, per_client: float, duration: float, rng: random.Random,
             ) -> Iterator[Arrival]:
    t = rng.expovariate(per_client)
    while t < duration:
        yield t, client
        t += rng.expovariate(per_client)


def _onoff(client: int, per_client: float, duration: float, rng: random.Random,
           ) -> Iterator[Arrival]:
    half = ONOFF_PERIOD / 2
    t = rng.expovariate(2 * per_client)
    while t < duration:
        if t % ONOFF_PERIOD >= half:  # silent half: on again at the next period
            t = (t // ONOFF_PERIOD + 1) * ONOFF_PERIOD + rng.expovariate(2 * per_client)
            continue
        yield t, client
        t += rng.expovariate(2 * per_client)


#: The golden ratio's fractional part: ``k x GOLDEN mod 1`` never repeats, never hits 0.
GOLDEN = 0.6180339887498949


def _even(client: int, clients: int, offered: float, duration: float) -> Iterator[Arrival]:
    step = 1.0 / offered
    k = client
    while (t := (k + 0.25 + 0.5 * (k * GOLDEN % 1.0)) * step) < duration:
        yield t, client
        k += clients


Pattern = Callable[[int, float, float, random.Random], Iterator[Arrival]]
#: The random patterns by name (``even`` is deterministic and built apart).
PATTERNS: dict[str, Pattern] = {"poisson": _poisson, "onoff": _onoff}
PATTERN_NAMES = ("poisson", "even", "onoff")


def client_arrivals(load: Load, limit: Limit) -> list[list[float]]:
    """Each client's arrival times (seconds from the start, ascending)."""
    offered = load.offered(limit)
    per_client = offered / load.clients
    times: list[list[float]] = []
    for client in range(load.clients):
        if load.pattern == "even":
            arrivals = _even(client, load.clients, offered, load.duration)
        else:
            rng = random.Random(f"{load.seed}/{client}")
            arrivals = PATTERNS[load.pattern](client, per_client, load.duration, rng)
        times.append([t for t, _ in arrivals])
    return times


def arrival_log(load: Load, limit: Limit) -> list[Arrival]:
    """Every client's arrivals merged in time order (ties by client index)."""
    per_client = client_arrivals(load, limit)
    return list(heapq.merge(*([(t, c) for t in ts] for c, ts in enumerate(per_client))))
