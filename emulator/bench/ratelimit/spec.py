"""What a run asks for (the limit, the load, the tiers) and the limiter's limits made from
it: one tier (the project's, or the route's) carries the limit the load runs into; with
three tiers, the other two apply to every request too, loose enough never to refuse (so
every check pays for all three tiers while one decides)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from emulator.bench.ratelimit.workload import Limit, Load
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

    @property
    def tier_names(self) -> tuple[Tier, ...]:
        """The tiers with a limit, in the order of a request's keys."""
        return TIERS if self.tiers == 3 else (self.binding,)


def user(client: int) -> str:
    return f"user-{client}"


def loose(spec: Spec) -> Limit:
    """A limit ``LOOSE`` x above everything the clients offer (per unit and at once)."""
    value = math.ceil(spec.load.offered(spec.limit) * spec.limit.unit_s * LOOSE)
    return Limit(value, spec.limit.unit_s, value)


def oracle_limits(spec: Spec) -> list[Limit]:
    """The limit of each tier, in the order of ``keys``."""
    return [spec.limit if tier == spec.binding else loose(spec) for tier in spec.tier_names]


def keys(spec: Spec, client: int, project: str = PROJECT, user_id: str | None = None,
         ) -> tuple[str, ...]:
    """The key of each tier a client's request meets (the route tier's key is "")."""
    by_tier = {"project": project, "user": user_id or user(client), "route": ""}
    return tuple(by_tier[tier] for tier in spec.tier_names)


def rate_limits(spec: Spec) -> list[RateLimit]:
    """The limiter's limits for ``spec``, named ``bench-<tier>``."""
    return [RateLimit(name=f"bench-{tier}", tier=tier, value=limit.limit,
                      unit=Unit(int(limit.unit_s)), verb=spec.method, regex=spec.regex,
                      uri="*", burst=limit.burst)
            for tier, limit in zip(spec.tier_names, oracle_limits(spec), strict=True)]
