"""The shared store: the same limits kept in Redis by the ``limits`` library.

For several API workers or emulator processes the allowance must be one. We do not write a
distributed counter: the ``limits`` library's ``RedisStorage`` (any URL its
``storage_from_string`` takes: ``redis://``, ``rediss://``, ``redis+unix://``, ``valkey://``)
holds the counters, and its **sliding-window counter** strategy decides, because:

- its check-and-increment is one Lua script, atomic inside Redis, O(1) per limit;
- its windows age by Redis's own key TTLs, so processes with skewed clocks agree;
- it keeps a window's worst case near ``value`` (two weighted fixed windows; Cloudflare
  measured 0.003% wrong decisions), where the fixed window lets 2x through at a boundary
  and the moving window costs O(value) per call (``limits`` issue #268).

A limit maps to ``value`` per one ``unit``; ``burst`` shapes only the in-process GCRA.
Multi-limit requests are test-then-hit: every limit is tested first (a request refused
by one consumes nothing), then each is hit; each hit re-checks atomically in Redis, so
no limit is ever exceeded, and only if another process takes a slot between our test and
our hit can a refused request have consumed from the limits hit before (conservative).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from limits import (
    RateLimitItem,
    RateLimitItemPerDay,
    RateLimitItemPerHour,
    RateLimitItemPerMinute,
    RateLimitItemPerSecond,
)
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from emulator.ratelimit.rules import Decision, KeyState, RateLimit, Unit

#: The ``limits`` item class of each unit.
ITEMS: dict[Unit, type[RateLimitItem]] = {
    Unit.SECOND: RateLimitItemPerSecond,
    Unit.MINUTE: RateLimitItemPerMinute,
    Unit.HOUR: RateLimitItemPerHour,
    Unit.DAY: RateLimitItemPerDay,
}
#: Redis key prefix and item namespace (several emulators may share one Redis on purpose).
PREFIX = "nova-emulator"


class SharedStore:
    """Limits in a ``limits`` storage (Redis), shared by every process using the same URL."""

    blocking = True  # a network round trip per limit: called off the event loop

    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        self.url = url
        self._storage = storage_from_string(url, key_prefix=prefix)
        self._strategy = SlidingWindowCounterRateLimiter(self._storage)
        self._prefix = prefix
        self._items: dict[str, tuple[RateLimit, RateLimitItem]] = {}

    def _item(self, limit: RateLimit) -> RateLimitItem:
        cached = self._items.get(limit.name)
        if cached is None or cached[0] is not limit:
            cached = (limit, ITEMS[limit.unit](limit.value, 1, namespace=self._prefix))
            self._items[limit.name] = cached
        return cached[1]

    def acquire(self, limits: Sequence[RateLimit], keys: Sequence[str]) -> Decision:
        """Test every limit, then hit each (see the module's note on atomicity)."""
        pairs = [(limit, self._item(limit), keys[limit.slot] or "*") for limit in limits]
        if len(pairs) > 1:
            for limit, item, key in pairs:
                if not self._strategy.test(item, limit.name, key):
                    return self._refusal(limit, item, key)
        for limit, item, key in pairs:
            if not self._strategy.hit(item, limit.name, key):
                return self._refusal(limit, item, key)
        return Decision(True, 0.0, None, -1)  # remaining would cost a round trip per limit

    def _refusal(self, limit: RateLimit, item: RateLimitItem, key: str) -> Decision:
        stats = self._strategy.get_window_stats(item, limit.name, key)
        return Decision(False, max(stats.reset_time - time.time(), 0.001), limit, 0)

    def peek(self, limit: RateLimit, key: str) -> KeyState:
        stats = self._strategy.get_window_stats(self._item(limit), limit.name, key or "*")
        wait = max(stats.reset_time - time.time(), 0.0) if stats.remaining == 0 else 0.0
        return KeyState(stats.remaining, wait)

    def retain(self, names: Iterable[str]) -> None:
        """Counters of dropped limits expire in Redis by themselves (twice their window)."""
        keep = set(names)
        self._items = {name: item for name, item in self._items.items() if name in keep}

    def reset(self) -> None:
        """Clear every counter under the prefix (for every process sharing it)."""
        self._storage.reset()

    def check(self) -> bool:
        """Whether the storage answers."""
        return bool(self._storage.check())
