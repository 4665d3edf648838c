"""Request-rate limits: GCRA per project, per user and per route class (no HTTP here).

The interface (stable; the request path, the control plane and ``bench ratelimit`` use it):

``RateLimit(name, tier, value, unit, verb="*", regex=".*", uri="*", burst=0)``
    ``value`` requests per ``unit`` (``Unit.SECOND/MINUTE/HOUR/DAY``, seconds as ints)
    for requests whose method is ``verb`` (``*`` any) and whose path with ``?query``
    ``regex`` finds (``re.search``). ``tier`` says who shares one allowance: ``"project"``
    (key: the token's project id), ``"user"`` (its user id) or ``"route"`` (one allowance
    for every caller of the route class, unauthenticated ones included). ``burst``
    (0: ``value``) is what an idle key may send at once. ``uri`` is only shown by
    ``GET /limits``. ``name`` is unique in a limit set and names the limit's state.
    Bad values raise ``ValueError``.

``Limiter(limits=(), store=None)``
    ``check(project_id, user_id, method, target) -> Decision``: one request, all the
    limits that apply. Either id None (no valid project-scoped token) → route-tier limits
    only. ``target`` is the full path (``/compute/v2.1/servers``) with ``?query`` if any.
    ``replace(limits)`` swaps the set at runtime (kept names keep their state);
    ``limits``; ``standing(project_id, user_id)`` → ``[(RateLimit, KeyState)]``;
    ``store``.

``Decision(allowed, retry_after, limit, remaining)``
    ``retry_after`` seconds (float, 0.0 when allowed) and ``retry_after_header`` (int,
    rounded up, >= 1 on a refusal); ``limit`` the refusing limit (longest wait);
    ``remaining`` the tightest limit's allowance left, -1 when none applied.

Stores (``Store`` protocol: ``acquire(limits, keys)``, ``peek(limit, key)``, ``retain``,
``reset``, ``blocking``):

``MemoryStore(clock=time.monotonic)``
    The default. GCRA, one float (the theoretical arrival time) per active key, O(1) per
    limit; ``clock`` may be any ``Callable[[], float]`` of monotonic seconds (a virtual
    clock for exact tests and benchmarks). Consume-then-refund inside one critical section
    (one lock): each limit's TAT advances in turn and, at the first refusal, those already
    advanced are restored before the lock is released; nobody sees the partial state, so
    a refusal consumes nothing and concurrent threads never both take the last slot (the
    same result as check-then-consume, one lookup cheaper per limit). Idle keys (TAT not
    ahead of the clock) carry no state and are swept as tables grow (``sweep()`` forces it);
    ``active_keys()``, ``state(limit)`` for inspection. ``blocking = False``.
    Exact on a virtual clock: from idle, a flood over ``D`` seconds admits
    ``burst + floor(D / T)`` with ``T = unit / value``; any window of ``W`` seconds admits
    at most ``W / T + burst``; a refusal's ``retry_after`` is exactly the wait until the
    same request would be admitted.

``SharedStore(url, prefix="nova-emulator")`` (``emulator.ratelimit.shared``; needs the
``redis`` extra)
    The same limits in Redis through the ``limits`` library's storage and its
    sliding-window-counter strategy (``value`` per ``unit``; ``burst`` does not apply),
    for several processes. Test-then-hit per limit, each hit atomic in Redis: never over
    a limit. Admitted decisions carry ``remaining = -1``. ``blocking = True``.

``emulator.ratelimit.settings``: ``RateLimitConfig`` (``[ratelimit]``), ``parse_limits``
(the control plane's JSON), ``make_store(url, clock)``, and ``RateLimiting`` (the
emulator's limiter plus ``installed``/``enabled``; ``rate(project_id, user_id)`` is
``GET /limits``' ``rate``, ``[]`` when off).

``rate_view(limiter, project_id, user_id, now=...)`` (``emulator.ratelimit.view``)
    Nova's legacy ``rate`` list for ``GET /limits``.
"""

from __future__ import annotations

from emulator.ratelimit.limiter import Limiter, Store
from emulator.ratelimit.memory import MemoryStore
from emulator.ratelimit.rules import TIERS, UNLIMITED, Decision, KeyState, RateLimit, Tier, Unit

__all__ = [
    "TIERS",
    "UNLIMITED",
    "Decision",
    "KeyState",
    "Limiter",
    "MemoryStore",
    "RateLimit",
    "Store",
    "Tier",
    "Unit",
]
