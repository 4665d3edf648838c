"""What a run asks for (the limit, the load, the tiers) and the limiter's limits made from
it: one tier (the project's, or the route's) carries the limit the load runs into; with
three tiers, the other two apply to every request too, loose enough never to refuse (so
every check pays for all three tiers while one decides).

Or the limits of a file (``--limits``: an emulator configuration's ``[ratelimit]``): all of
them are the limiter's, those that match the clients' request are judged by the oracle,
and the project or route limit with the lowest rate among them is the limit the load runs
into (every client is a user of its own, so a user limit holds one client back, not the
load).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from emulator.bench.ratelimit.workload import Limit, Load
from emulator.config import ConfigError, load_config
from emulator.ratelimit.rules import TIERS, RateLimit, Tier, Unit

#: The request every client sends in process (served runs send their own route).
METHOD = "GET"
PATH = "/compute/v2.1/limits"
#: The project every client works in, and each client's user (``user-<n>``).
PROJECT = "bench-project"
#: How far above the whole offered load the loose tiers are set.
LOOSE = 10


@dataclass(frozen=True)
class Spec:
    limit: Limit
    load: Load
    tiers: int = 3
    #: Seconds of the window whose worst admitted count is reported.
    window: float = 1.0
    #: The tier whose limit the load runs into.
    binding: Tier = "project"
    #: The requests' verb and the regex of the route class the limits apply to.
    method: str = METHOD
    regex: str = ".*"
    #: A file's limits (``--limits``), instead of ones made from ``limit`` and ``tiers``.
    given: tuple[RateLimit, ...] = ()

    @property
    def applied(self) -> tuple[tuple[Tier, Limit], ...]:
        """(tier, limit) of every limit the clients' request meets, in the order of its keys."""
        if self.given:
            return tuple((rule.tier, as_limit(rule)) for rule in self.given
                         if rule.matches(self.method, PATH))
        tiers = TIERS if self.tiers == 3 else (self.binding,)
        return tuple((tier, self.limit if tier == self.binding else loose(self))
                     for tier in tiers)


def as_limit(rule: RateLimit) -> Limit:
    return Limit(rule.value, float(rule.unit), rule.burst)


def user(client: int) -> str:
    return f"user-{client}"


def loose(spec: Spec) -> Limit:
    """A limit ``LOOSE`` x above everything the clients offer (per unit and at once)."""
    value = math.ceil(spec.load.offered(spec.limit) * spec.limit.unit_s * LOOSE)
    return Limit(value, spec.limit.unit_s, value)


def oracle_limits(spec: Spec) -> list[Limit]:
    """The limit of each applied tier, in the order of ``keys``."""
    return [limit for _, limit in spec.applied]


def keys(spec: Spec, client: int, project: str = PROJECT, user_id: str | None = None,
         ) -> tuple[str, ...]:
    """The key of each limit a client's request meets (a route tier's key is "")."""
    by_tier = {"project": project, "user": user_id or user(client), "route": ""}
    return tuple(by_tier[tier] for tier, _ in spec.applied)


def rate_limits(spec: Spec) -> list[RateLimit]:
    """The limiter's limits for ``spec``: the file's, or ``bench-<tier>`` ones."""
    if spec.given:
        return list(spec.given)
    return [RateLimit(name=f"bench-{tier}", tier=tier, value=limit.limit,
                      unit=Unit(int(limit.unit_s)), verb=spec.method, regex=spec.regex,
                      uri="*", burst=limit.burst)
            for tier, limit in spec.applied]


def read_limits(path: Path) -> tuple[tuple[RateLimit, ...], RateLimit]:
    """A file's ``[ratelimit]`` limits and the one the clients' request runs into (the
    lowest rate of the project and route limits that match it); ``ValueError`` with one
    line if there is none."""
    try:
        given = load_config(path).ratelimit.rate_limits()
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    matching = [rule for rule in given
                if rule.tier != "user" and rule.matches(METHOD, PATH)]
    if not matching:
        raise ValueError(f"{path}: no project or route limit of [ratelimit] matches "
                         f"{METHOD} {PATH}, the request the clients send")
    return given, min(matching, key=lambda rule: rule.value / rule.unit)
