"""``[ratelimit]`` in the config file, and the emulator's limiter as the control plane sees it.

::

    [ratelimit]
    enabled = true                 # default false: the middleware is not even installed
    store = "memory"               # or "redis://host:6379/0" (nova-emulator[redis])

    [[ratelimit.limits]]           # Nova's legacy default, per user
    name = "post"
    tier = "user"                  # project, user (default, as Nova's) or route
    verb = "POST"                  # default "*": any method
    uri = "*"                      # shown by GET /limits
    regex = ".*"                   # re.search on the path (and ?query)
    value = 120
    unit = "MINUTE"                # SECOND, MINUTE, HOUR, DAY
    burst = 0                      # what an idle key may send at once; 0: value

The same tables, as JSON, are the body of ``PUT /_emulator/ratelimits``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic.dataclasses import dataclass
from pydantic_core import PydanticCustomError

from emulator.config_wording import explain
from emulator.errors import InvalidInput
from emulator.ratelimit.limiter import Limiter, Store
from emulator.ratelimit.memory import MemoryStore
from emulator.ratelimit.rules import KeyState, RateLimit, Tier, Unit
from emulator.ratelimit.view import rate_view

#: URL schemes of the shared store (the ``limits`` library's Redis storages).
SHARED_SCHEMES = ("redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix")

_STRICT = ConfigDict(extra="forbid")
_Text = Annotated[StrictStr, StringConstraints(min_length=1, max_length=255)]


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise PydanticCustomError("regex", "must be a regular expression ({error})",
                                  {"error": str(exc)}) from None
    return text


def _verb(verb: str) -> str:
    if verb != "*" and not (verb.isascii() and verb.isalpha() and len(verb) <= 16):
        raise PydanticCustomError("verb", 'must be "*" or an HTTP method, not {verb}',
                                  {"verb": repr(verb)})
    return verb


def _store(url: str) -> str:
    if url != "memory" and urlsplit(url).scheme not in SHARED_SCHEMES:
        raise PydanticCustomError("store", 'must be "memory" or a redis:// URL, not {url}',
                                  {"url": repr(url)})
    return url


@dataclass(frozen=True, config=_STRICT)
class LimitSettings:
    """One ``[[ratelimit.limits]]`` table."""

    name: _Text
    value: Annotated[StrictInt, Field(gt=0)]
    unit: Literal["SECOND", "MINUTE", "HOUR", "DAY"]
    # NOTE: Nova's legacy limiter counted per user; so does a limit that names no tier.
    tier: Tier = "user"
    verb: Annotated[StrictStr, AfterValidator(_verb)] = "*"
    uri: _Text = "*"
    regex: Annotated[StrictStr, StringConstraints(max_length=1024), AfterValidator(_regex)] = ".*"
    burst: Annotated[StrictInt, Field(ge=0)] = 0

    def limit(self) -> RateLimit:
        return RateLimit(self.name, self.tier, self.value, Unit[self.unit], verb=self.verb,
                         regex=self.regex, uri=self.uri, burst=self.burst)


def _unique(limits: tuple[LimitSettings, ...]) -> tuple[LimitSettings, ...]:
    names = [limit.name for limit in limits]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise PydanticCustomError("limits", "give the name {names} to more than one limit",
                                  {"names": ", ".join(map(repr, twice))})
    return limits


LimitList = Annotated[tuple[LimitSettings, ...], AfterValidator(_unique)]


@dataclass(frozen=True, config=_STRICT)
class RateLimitConfig:
    """``[ratelimit]``."""

    enabled: StrictBool = False
    store: Annotated[StrictStr, AfterValidator(_store)] = "memory"
    limits: LimitList = ()

    def rate_limits(self) -> tuple[RateLimit, ...]:
        return tuple(settings.limit() for settings in self.limits)


@dataclass(frozen=True, config=_STRICT)
class LimitSet:
    """The body of ``PUT /_emulator/ratelimits``."""

    limits: LimitList


_LIMIT_SET = TypeAdapter(LimitSet)


def parse_limits(data: Any) -> tuple[RateLimit, ...]:
    """A JSON list of limit tables (``PUT /_emulator/ratelimits``) as limits; complaints
    are worded as the config file's (``limits[0]: value must be positive``)."""
    try:
        limit_set = _LIMIT_SET.validate_python({"limits": data})
    except ValidationError as exc:
        raise InvalidInput(f"Invalid rate limits: {explain(exc)}") from None
    return tuple(settings.limit() for settings in limit_set.limits)


def make_store(url: str, clock: Callable[[], float] = time.monotonic) -> Store:
    """The store ``[ratelimit] store`` names (``clock`` drives the in-process one only)."""
    if url == "memory":
        return MemoryStore(clock)
    from emulator.ratelimit.shared import SharedStore  # the optional `redis` extra

    return SharedStore(url)


def store_problem(url: str) -> str | None:
    """Why the store ``url`` names cannot serve (None when it can): the ``redis`` extra
    missing, or a Redis that does not answer."""
    if url == "memory":
        return None
    try:
        from emulator.ratelimit.shared import SharedStore
    except ImportError as exc:
        return f"needs the limits library ({exc}): pip install 'nova-emulator[redis]'"
    try:
        answers = SharedStore(url).check()
    except Exception as exc:  # the library's and redis-py's errors alike
        return str(exc)
    return None if answers else "does not answer"


def shown_url(url: str) -> str:
    """The store URL without a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


class RateLimiting:
    """The emulator's limiter, whether it is installed in the request path, and whether it
    checks (the control plane replaces its limits or turns it off at runtime)."""

    def __init__(self, config: RateLimitConfig,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store_url = config.store
        #: The middleware is installed only when the file enables it (off costs nothing,
        #: and the store is never asked: an in-process one stands in).
        self.installed = config.enabled
        store = make_store(config.store, clock) if config.enabled else MemoryStore(clock)
        self.limiter = Limiter(config.rate_limits(), store)
        self.enabled = config.enabled

    def replace(self, limits: Sequence[RateLimit]) -> None:
        """A new limit set, checked from the next request on (kept names keep state)."""
        if not self.installed:
            raise RuntimeError("rate limiting is not installed")
        self.limiter.replace(limits)
        self.enabled = True

    def disable(self) -> None:
        """Stop checking and forget every key's state."""
        self.enabled = False
        self.limiter.store.reset()

    def state(self, limit: RateLimit) -> dict[str, KeyState] | None:
        """Every active key of ``limit`` (the in-process store only; None for Redis)."""
        store = self.limiter.store
        return store.state(limit) if isinstance(store, MemoryStore) else None

    def rate(self, project_id: str | None, user_id: str | None) -> list[dict[str, Any]]:
        """``GET /limits``'s ``rate`` for this caller: Nova's legacy list, [] when off."""
        if not self.enabled:
            return []
        return rate_view(self.limiter, project_id, user_id)
