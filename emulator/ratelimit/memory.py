"""The in-process store: GCRA, one float per active key.

GCRA (the generic cell rate algorithm) keeps, per key, its *theoretical arrival time*
(TAT): when the key's allowance would be back to full if requests had arrived exactly at
the sustained rate. For a limit of interval ``T`` (seconds per request) and tolerance
``burst * T``, a request at ``now`` is admitted iff ``max(TAT, now) + T - now <= burst * T``,
and admitting it sets ``TAT = max(TAT, now) + T``. So an idle key admits ``burst`` at once,
then one every ``T``; in any window of ``W`` seconds at most ``W / T + burst`` pass.

A key whose TAT is not ahead of the clock is exactly an idle key: it carries no state, and
the periodic sweep drops it (``SWEEP_EVERY`` checks; a table is swept once it has doubled
since its last sweep, so eviction costs O(1) amortised per insert).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence

from emulator.ratelimit.rules import Decision, KeyState, RateLimit

#: Slack for float rounding: a TAT built from sums of ``T`` may miss an exact boundary by
#: a few ulps; a billionth of a second is far below any clock a client can use.
EPSILON = 1e-9
INFINITY = float("inf")
#: Checks between two looks at the tables' sizes.
SWEEP_EVERY = 4096
#: A table is not swept below this many keys.
MIN_SWEEP = 1024


class MemoryStore:
    """GCRA state in a dict per limit name (``{key: TAT}``), behind one lock.

    ``acquire`` is consume-then-refund inside one critical section: each limit's TAT is
    advanced in turn, and at the first refusal the ones already advanced are put back
    before the lock is released. No other thread ever sees the partial state, so it is
    exactly check-then-consume (a refused request consumes nothing, two threads never both
    take the last slot), one dict lookup cheaper per limit on the common, admitted path.
    ``clock`` returns monotonic seconds; a virtual clock may drive it (never backwards).
    """

    blocking = False  # answers without I/O: the event loop may call it directly

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, float]] = {}
        self._sweep_at: dict[str, int] = {}
        self._calls = 0
        self._olds: list[float | None] = []

    def acquire(self, limits: Sequence[RateLimit], keys: Sequence[str]) -> Decision:
        """Admit the request if every limit admits it, consuming from each; else refuse.

        ``keys[limit.slot]`` is the key of each limit (``Limiter.check`` builds them).
        """
        with self._lock:
            now = self.clock()
            tables = self._tables
            least = INFINITY  # the smallest allowance left, in requests (a float until the end)
            olds = self._olds  # what each limit taken so far held (reused: under the lock)
            if len(olds) < len(limits):
                olds.extend([None] * (len(limits) - len(olds)))
            taken = 0
            for limit in limits:
                key = keys[limit.slot]
                table = tables.get(limit.name)
                if table is None:
                    table = tables[limit.name] = {}
                old = table.get(key)
                interval = limit.interval
                tat = (now if old is None or old < now else old) + interval
                slack = limit.tolerance + now - tat
                if slack < -EPSILON:  # refused: give back what the others took
                    self._give_back(limits, keys, taken)
                    return self._refusal(limits, keys, now)
                left = (slack + EPSILON) / interval
                if left < least:
                    least = left
                table[key] = tat
                olds[taken] = old
                taken += 1  # NOTE: not enumerate(): its tuples cost more on this path
            self._calls += 1
            if not self._calls % SWEEP_EVERY:
                self._sweep(now)
            return _admitted(int(least) if taken else -1)

    def _give_back(self, limits: Sequence[RateLimit], keys: Sequence[str], taken: int) -> None:
        """Put back the TATs the first ``taken`` limits held (called under the lock)."""
        for limit, old in zip(limits[:taken], self._olds, strict=False):
            table = self._tables[limit.name]
            if old is None:
                del table[keys[limit.slot]]
            else:
                table[keys[limit.slot]] = old

    def _refusal(self, limits: Sequence[RateLimit], keys: Sequence[str],
                 now: float) -> Decision:
        """The refusal naming the limit with the longest wait (called under the lock)."""
        wait, refused = 0.0, limits[0]
        for limit in limits:
            tat = self._tables.get(limit.name, {}).get(keys[limit.slot], now)
            over = max(tat, now) + limit.interval - now - limit.tolerance
            if over > wait:
                wait, refused = over, limit
        return Decision(False, wait, refused, 0)

    def peek(self, limit: RateLimit, key: str) -> KeyState:
        """The key's remaining allowance and wait, consuming nothing."""
        with self._lock:
            now = self.clock()
            tat = self._tables.get(limit.name, {}).get(key, now)
            return _standing(limit, max(tat, now) - now)

    def state(self, limit: RateLimit) -> dict[str, KeyState]:
        """Every active key of a limit with its standing (the control plane's view)."""
        with self._lock:
            now = self.clock()
            table = self._tables.get(limit.name, {})
            return {key: _standing(limit, tat - now) for key, tat in table.items() if tat > now}

    def active_keys(self) -> int:
        """How many keys carry state (their TAT is ahead of the clock)."""
        with self._lock:
            now = self.clock()
            return sum(tat > now for table in self._tables.values() for tat in table.values())

    def retain(self, names: Iterable[str]) -> None:
        """Forget every limit not named (a replaced limit set keeps its kept names' state)."""
        keep = set(names)
        with self._lock:
            for name in [name for name in self._tables if name not in keep]:
                del self._tables[name]
                self._sweep_at.pop(name, None)

    def reset(self) -> None:
        with self._lock:
            self._tables.clear()
            self._sweep_at.clear()

    def sweep(self) -> None:
        """Drop every idle key now (the periodic sweep drops them as tables grow)."""
        with self._lock:
            self._sweep(self.clock(), force=True)

    def _sweep(self, now: float, force: bool = False) -> None:
        for name, table in self._tables.items():
            if force or len(table) > self._sweep_at.get(name, MIN_SWEEP):
                for key in [key for key, tat in table.items() if tat <= now]:
                    del table[key]
                self._sweep_at[name] = max(MIN_SWEEP, 2 * len(table))


#: The admitted decisions by remaining count, made once (a check allocates nothing new).
_ADMITTED: dict[int, Decision] = {}


def _admitted(remaining: int) -> Decision:
    decision = _ADMITTED.get(remaining)
    if decision is None:
        decision = Decision(True, 0.0, None, remaining)
        if len(_ADMITTED) < 65536:
            _ADMITTED[remaining] = decision
    return decision


def _standing(limit: RateLimit, ahead: float) -> KeyState:
    """A key's standing when its TAT runs ``ahead`` seconds ahead of now (>= 0)."""
    slack = limit.tolerance - ahead
    remaining = max(0, int((slack + EPSILON) / limit.interval))
    wait = max(0.0, limit.interval - slack)
    return KeyState(remaining, wait if wait > EPSILON else 0.0)
