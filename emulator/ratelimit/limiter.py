"""The limiter: which limits a request meets, and one atomic check against a store."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from emulator.ratelimit.memory import MemoryStore
from emulator.ratelimit.rules import UNLIMITED, Decision, KeyState, RateLimit

#: Distinct (method, path) pairs whose matching limits are remembered; past this the
#: memo starts over (paths carrying ids would otherwise grow it without bound).
ROUTE_MEMO_SIZE = 4096
#: The keys of a request with no caller: it meets route-tier limits only, whose key is "".
NO_CALLER = ("", "", "")


#: A route's matching limits: (all of them, the route-tier ones).
Route = tuple[tuple[RateLimit, ...], tuple[RateLimit, ...]]


class Store(Protocol):
    """Where the limiter keeps its state (``MemoryStore``, or ``SharedStore`` in Redis)."""

    #: True when ``acquire`` does I/O: the request path then calls it off the event loop.
    blocking: bool

    def acquire(self, limits: Sequence[RateLimit], keys: Sequence[str]) -> Decision:
        """Admit if every limit admits, consuming from each; else refuse, consuming
        nothing. A limit's key is ``keys[limit.slot]`` (project, user, route)."""

    def peek(self, limit: RateLimit, key: str) -> KeyState: ...

    def retain(self, names: Iterable[str]) -> None: ...

    def reset(self) -> None: ...


class Limiter:
    """Checks each request against every limit that applies to it.

    A limit applies when its verb and regex match the request; its key is the project id
    (project tier), the user id (user tier) or ``""`` (route tier: one allowance shared by
    every caller). A request without a project and user (no token: a token request, version
    discovery) meets route-tier limits only.
    """

    def __init__(self, limits: Sequence[RateLimit] = (), store: Store | None = None) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self._lock = threading.Lock()
        self._limits: tuple[RateLimit, ...] = ()
        self._routes: dict[tuple[str, str], Route] = {}
        self.replace(limits)

    @property
    def limits(self) -> tuple[RateLimit, ...]:
        return self._limits

    def replace(self, limits: Sequence[RateLimit]) -> None:
        """Install a new limit set; limits whose name is kept keep their state."""
        names = [limit.name for limit in limits]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"limit names must be unique: {', '.join(duplicates)}")
        with self._lock:
            self._limits = tuple(limits)
            self._routes = {}
            self.store.retain(names)

    def applicable(self, method: str, target: str) -> tuple[RateLimit, ...]:
        """The limits whose verb and regex match."""
        return self._route(method, target)[0]

    def _route(self, method: str, target: str) -> Route:
        """(every matching limit, the route-tier ones), memoised per method and target."""
        found = self._routes.get((method, target))
        if found is None:
            matching = tuple(limit for limit in self._limits if limit.matches(method, target))
            found = (matching, tuple(limit for limit in matching if limit.tier == "route"))
            if len(self._routes) >= ROUTE_MEMO_SIZE:
                self._routes.clear()
            self._routes[(method, target)] = found
        return found

    def check(self, project_id: str | None, user_id: str | None, method: str,
              target: str) -> Decision:
        """Admit (consuming one request from every applicable limit) or refuse (consuming
        nothing). ``target`` is the path, with ``?query`` when the request has one."""
        found = self._routes.get((method, target)) or self._route(method, target)
        if project_id is None or user_id is None:
            limits, keys = found[1], NO_CALLER
        else:
            limits, keys = found[0], (project_id, user_id, "")
        return self.store.acquire(limits, keys) if limits else UNLIMITED

    def standing(self, project_id: str | None,
                 user_id: str | None) -> list[tuple[RateLimit, KeyState]]:
        """Every limit that applies to this caller with its current standing."""
        if project_id is None or user_id is None:
            return [(limit, self.store.peek(limit, "")) for limit in self._limits
                    if limit.tier == "route"]
        keys = (project_id, user_id, "")
        return [(limit, self.store.peek(limit, keys[limit.slot])) for limit in self._limits]
