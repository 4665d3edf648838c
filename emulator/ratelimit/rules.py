"""Rate limits as data: what a limit says, and what a check decides."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal, NamedTuple, get_args


class Unit(IntEnum):
    """A limit's period, in seconds (Nova's legacy ``utils.TIME_UNITS``)."""

    SECOND = 1
    MINUTE = 60
    HOUR = 3600
    DAY = 86400


#: Who shares one allowance: every request of a project, of a user, or every request of a
#: route class whoever sends it (the only tier that also counts unauthenticated requests).
Tier = Literal["project", "user", "route"]
TIERS: tuple[Tier, ...] = get_args(Tier)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``value`` requests per ``unit`` for requests whose method is ``verb`` (``*``: any)
    and whose path (with ``?query`` when there is one) ``regex`` finds (``re.search``).

    ``burst`` is how many requests an idle key may send at once (default ``value``, as
    Nova's legacy limiter, whose bucket held a whole unit); ``uri`` is the display string
    ``GET /limits`` shows for it (Nova's ``"*/servers"``). ``name`` identifies the limit's
    state: a limit set replaced at runtime keeps the state of the names it keeps.
    """

    name: str
    tier: Tier
    value: int
    unit: Unit
    verb: str = "*"
    regex: str = ".*"
    uri: str = "*"
    burst: int = 0  # 0: ``value``
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    #: GCRA's emission interval ``T``: seconds per request at the sustained rate.
    interval: float = field(init=False, repr=False, compare=False)
    #: How far ahead of now a key's theoretical arrival time may run: ``burst * T``.
    tolerance: float = field(init=False, repr=False, compare=False)
    #: The tier's position in ``TIERS`` (the limiter picks the key by it).
    slot: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {', '.join(TIERS)}, not {self.tier!r}")
        if self.value <= 0:
            raise ValueError(f"limit {self.name!r}: value must be > 0")
        if self.burst < 0:
            raise ValueError(f"limit {self.name!r}: burst must be >= 0")
        object.__setattr__(self, "unit", Unit(self.unit))
        object.__setattr__(self, "verb", self.verb.upper())
        if self.burst == 0:
            object.__setattr__(self, "burst", self.value)
        object.__setattr__(self, "slot", TIERS.index(self.tier))
        object.__setattr__(self, "interval", self.unit / self.value)
        object.__setattr__(self, "tolerance", self.burst * self.interval)
        try:
            object.__setattr__(self, "pattern", re.compile(self.regex))
        except re.error as error:
            raise ValueError(f"limit {self.name!r}: bad regex {self.regex!r}: {error}") from None

    def matches(self, method: str, target: str) -> bool:
        return (self.verb == "*" or self.verb == method) and self.pattern.search(target) is not None

    def message(self) -> str:
        """Nova's legacy wording for a refusal by this limit."""
        return (f"Only {self.value} {self.verb} request(s) can be made to {self.uri} "
                f"every {self.unit.name.lower()}.")


class Decision(NamedTuple):
    """What a check decided.

    ``retry_after`` is seconds until the refused request would be admitted (0.0 when
    allowed); ``limit`` the limit that refused (the one with the longest wait) or None;
    ``remaining`` how many more requests the tightest applicable limit admits right now
    (after this one, if it was admitted), -1 when no limit applied.
    """

    allowed: bool
    retry_after: float = 0.0
    limit: RateLimit | None = None
    remaining: int = -1

    @property
    def retry_after_header(self) -> int:
        """``Retry-After``: whole seconds, rounded up, at least 1 for a refusal."""
        return max(1, math.ceil(self.retry_after)) if not self.allowed else 0


#: The decision when no limit applies.
UNLIMITED = Decision(True)


class KeyState(NamedTuple):
    """A key's standing without consuming: what ``GET /limits`` shows."""

    remaining: int
    wait: float  # seconds until the next request is admitted (0.0: now)
