"""``GET /limits``'s ``rate``: Nova's legacy list of rate limits with the caller's standing.

Nova v2.1 always answers ``"rate": []``; the legacy v2 API (removed in Newton) filled it
from its limiter, grouping limits by (uri, regex)::

    {"uri": "*", "regex": ".*",
     "limit": [{"verb": "POST", "value": 120, "remaining": 120, "unit": "MINUTE",
                "next-available": "2011-12-15T22:42:45Z"}]}
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from emulator.ratelimit.limiter import Limiter


def isotime(epoch: float) -> str:
    """Nova's ``utils.isotime``: UTC to the second, with a ``Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rate_view(limiter: Limiter, project_id: str | None, user_id: str | None,
              now: float | None = None) -> list[dict[str, Any]]:
    """Every limit that applies to this caller, grouped by (uri, regex) in the order the
    limits are configured; ``next-available`` is when the caller's next request to it is
    admitted (now when it has allowance left). ``now``: wall-clock epoch seconds."""
    wall = time.time() if now is None else now
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for limit, state in limiter.standing(project_id, user_id):
        groups.setdefault((limit.uri, limit.regex), []).append({
            "verb": limit.verb,
            "value": limit.value,
            "remaining": state.remaining,
            "unit": limit.unit.name,
            "next-available": isotime(wall + state.wait),
        })
    return [{"uri": uri, "regex": regex, "limit": entries}
            for (uri, regex), entries in groups.items()]
