"""``/_emulator/ratelimits``: the rate limiter's limits and state, changed at runtime.

| route | what |
|---|---|
| ``GET /ratelimits`` | installed? on? the store, each limit with its active keys |
| ``PUT /ratelimits`` | ``{"limits": [...]}``: a new set, checking on (kept names keep state) |
| ``DELETE /ratelimits`` | checking off, every key's state forgotten (204) |

``PUT``'s limits are the ``[[ratelimit.limits]]`` tables of the config file, as JSON.

Admin only, as the rest of the control plane (``ControlAPI.dispatch`` checks the token).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from emulator.api.requests import validate_body
from emulator.api.routing import Call, empty_response, json_response
from emulator.errors import Conflict
from emulator.ratelimit import KeyState, RateLimit
from emulator.ratelimit.settings import RateLimiting, parse_limits, shown_url

#: The body of ``PUT``; each limit is checked as the config file's tables are.
LIMITS_SCHEMA = {"type": "object", "required": ["limits"], "additionalProperties": False,
                 "properties": {"limits": {"type": "array", "maxItems": 1000}}}
#: Active keys listed per limit (``active_keys`` counts them all).
SHOWN_KEYS = 100
NOT_INSTALLED = ("Rate limiting is not installed: start the emulator with "
                 "[ratelimit] enabled = true.")


def key_view(state: KeyState) -> dict[str, Any]:
    return {"remaining": state.remaining, "retry_after": round(state.wait, 6)}


def limit_view(limit: RateLimit, keys: dict[str, KeyState] | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": limit.name, "tier": limit.tier, "verb": limit.verb, "uri": limit.uri,
        "regex": limit.regex, "value": limit.value, "unit": limit.unit.name,
        "burst": limit.burst,
    }
    if keys is not None:  # the in-process store; Redis keeps its counters to itself
        shown = sorted(keys)[:SHOWN_KEYS]
        view["active_keys"] = len(keys)
        view["keys"] = {key or "*": key_view(keys[key]) for key in shown}
    return view


class RateLimitControl:
    """The handlers of ``/_emulator/ratelimits``."""

    def __init__(self, limiting: RateLimiting) -> None:
        self.limiting = limiting

    def view(self) -> dict[str, Any]:
        limiting = self.limiting
        return {"installed": limiting.installed, "enabled": limiting.enabled,
                "store": shown_url(limiting.store_url),
                "limits": [limit_view(limit, limiting.state(limit))
                           for limit in limiting.limiter.limits]}

    async def show(self, call: Call) -> Response:
        return json_response(self.view())

    async def replace(self, call: Call) -> Response:
        if not self.limiting.installed:
            raise Conflict(NOT_INSTALLED)
        validate_body(LIMITS_SCHEMA, call.body)
        self.limiting.replace(parse_limits(call.body["limits"]))
        return json_response(self.view())

    async def disable(self, call: Call) -> Response:
        self.limiting.disable()
        return empty_response(204)
