"""The offline oracle: the decision log replayed with GCRA's exact arithmetic (fractions,
no rounding), to count the decisions the limiter got wrong.

GCRA as the limiter defines it (``emulator.ratelimit.memory``): per key a theoretical
arrival time ``tat`` (none yet: the request's own time); emission interval
``T = unit / limit``; tolerance ``burst x T``. A request at ``t`` conforms when
``max(tat, t) + T - t <= burst x T``; a conforming request moves ``tat`` to
``max(tat, t) + T``, a refused one leaves it. So an idle key admits ``burst`` at once, then
one every ``T``: at most ``rate x W + burst - 1`` in a half-open window of W seconds
(``rate x W + burst`` in a closed one). Across tiers a request is admitted when every
tier's key conforms, and then every key moves.

The judge follows the limiter's own decisions (each decision is judged on the history the
limiter really had), so one wrong decision counts once instead of shifting every later one;
``replay`` also runs the oracle on its own, for the count it would have admitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from emulator.bench.ratelimit.workload import Limit

#: A Retry-After counts as short when a retry sent then would wait longer than this (the
#: limiter computes in floats: a few ulps either way are rounding, not a wrong answer).
ROUNDING = Fraction(1, 10**9)


@dataclass(frozen=True)
class Logged:
    """One logged check: when (the limiter's clock), the key of each tier, the verdict and
    the Retry-After the limiter gave (seconds; 0 when admitted)."""

    t: float
    keys: tuple[str, ...]
    admitted: bool
    retry_after: float = 0.0


@dataclass
class Verdict:
    decisions: int = 0
    disagreements: int = 0
    #: Admitted by the limiter, refused by the exact arithmetic (and the reverse).
    wrongly_admitted: int = 0
    wrongly_refused: int = 0
    #: Refusals whose Retry-After was shorter than the exact wait by more than
    #: ``ROUNDING`` (a retry sent then would be refused).
    retry_after_short: int = 0
    #: The largest amount by which a Retry-After exceeded the exact wait (seconds).
    retry_after_excess: float = 0.0
    #: What the oracle admits replaying the arrivals on its own.
    oracle_admitted: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.disagreements / self.decisions if self.decisions else 0.0


class Gcra:
    """Exact GCRA over tiers: ``limits[i]`` applies to ``keys[i]`` of a request."""

    def __init__(self, limits: Sequence[Limit]) -> None:
        self.emission = [Fraction(lim.unit_s) / lim.limit for lim in limits]
        self.tolerance = [e * lim.burst for e, lim in zip(self.emission, limits, strict=True)]
        self.tat: dict[tuple[int, str], Fraction] = {}

    def wait(self, t: Fraction, keys: Sequence[str]) -> Fraction:
        """Seconds until a request at ``t`` with ``keys`` conforms (0: it conforms now)."""
        worst = Fraction(0)
        for tier, key in enumerate(keys):
            tat = max(self.tat.get((tier, key), t), t)
            worst = max(worst, tat + self.emission[tier] - self.tolerance[tier] - t)
        return worst

    def admit(self, t: Fraction, keys: Sequence[str]) -> None:
        for tier, key in enumerate(keys):
            self.tat[tier, key] = max(self.tat.get((tier, key), t), t) + self.emission[tier]


def replay(log: Sequence[Logged], limits: Sequence[Limit], examples: int = 5) -> Verdict:
    """Judge every decision of ``log`` (in time order) against the exact arithmetic."""
    ordered = sorted(log, key=lambda d: d.t)
    judge, alone, verdict = Gcra(limits), Gcra(limits), Verdict()
    for decision in ordered:
        t = Fraction(decision.t)
        wait = judge.wait(t, decision.keys)
        verdict.decisions += 1
        if (wait == 0) != decision.admitted:
            verdict.disagreements += 1
            if decision.admitted:
                verdict.wrongly_admitted += 1
            else:
                verdict.wrongly_refused += 1
            if len(verdict.examples) < examples:
                verdict.examples.append(
                    f"t={decision.t!r} keys={decision.keys}: limiter "
                    f"{'admitted' if decision.admitted else 'refused'}, exact wait "
                    f"{float(wait):.9f} s")
        elif not decision.admitted:
            given = Fraction(decision.retry_after)
            if given < wait - ROUNDING:
                verdict.retry_after_short += 1
            verdict.retry_after_excess = max(verdict.retry_after_excess, float(given - wait))
        if decision.admitted:
            judge.admit(t, decision.keys)
        if alone.wait(t, decision.keys) == 0:
            alone.admit(t, decision.keys)
            verdict.oracle_admitted += 1
    return verdict
