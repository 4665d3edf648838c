"""The rate limiter in the request path: an ASGI middleware in front of every service.

Installed only when ``[ratelimit] enabled = true`` (off, requests never meet it). For each
request to an OpenStack service (the control plane ``/_emulator``, the console proxy and
the index are never limited, so an operator can always turn limiting off):

- the caller is the token's project and user (``X-Auth-Token``, validated through the
  identity service's cache); a request without a valid token (a token request, version
  discovery, a bad token the service will refuse with 401) meets only route-tier limits,
  which count every caller: put a ``route`` limit on ``POST .*/auth/tokens`` to bound
  token requests;
- the limiter checks the path with its ``?query``;
- a refusal is a 429 with ``Retry-After`` (whole seconds, rounded up) and the service's
  own body: Nova's ``overLimit`` (with ``retryAfter`` and ``details``, as its legacy
  ``RateLimitFault``), Keystone's ``error``, Glance's webob page.

A shared (Redis) store answers over the network, so its checks run in a worker thread,
off the event loop. If it fails, the request passes (logged at most once a minute):
the limiter protects the emulator's users from surprise, not the emulator from them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from emulator.errors import NotAuthenticated, RateLimited
from emulator.identity.service import IdentityService
from emulator.ratelimit import UNLIMITED, Decision
from emulator.ratelimit.settings import RateLimiting

log = logging.getLogger("nova_emulator.ratelimit")

#: Paths never limited (besides the index ``/``): the control plane, and the console
#: proxy under it.
EXEMPT_PREFIX = "/_emulator"
#: Nova's legacy ``RateLimitFault`` message.
MESSAGE = "This request was rate-limited."
#: Seconds between two log lines about a failing shared store.
STORE_ERROR_LOG_INTERVAL = 60.0

#: Renders a refusal in the dialect of the service the request is for.
Refuse = Callable[[Request, RateLimited], Response]


class RateLimitMiddleware:
    """Checks each request against the limiter before the services see it."""

    def __init__(self, app: ASGIApp, limiting: RateLimiting,
                 identity: Callable[[], IdentityService], refuse: Refuse) -> None:
        self.app = app
        self.limiting = limiting
        #: The identity service of the cloud served now (a loaded snapshot replaces it).
        self.identity = identity
        self.refuse = refuse
        self._last_store_error = -STORE_ERROR_LOG_INTERVAL

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or not self.limiting.enabled
                or scope["path"] == "/" or scope["path"].startswith(EXEMPT_PREFIX)):
            await self.app(scope, receive, send)
            return
        decision = await self.decide(scope)
        if decision.allowed:
            await self.app(scope, receive, send)
            return
        limit = decision.limit
        error = RateLimited(MESSAGE, decision.retry_after_header,
                            details=limit.message() if limit else "")
        response = self.refuse(Request(scope, receive), error)
        await response(scope, receive, send)

    def caller(self, scope: Scope) -> tuple[str | None, str | None]:
        """The token's (project id, user id); (None, None) without a valid token."""
        token = next((value for name, value in scope["headers"] if name == b"x-auth-token"),
                     None)
        if not token:
            return None, None
        try:
            info = self.identity().validate(token.decode("latin-1"))
        except NotAuthenticated:
            return None, None
        return (info.project.id if info.project else None), info.user.id

    async def decide(self, scope: Scope) -> Decision:
        project_id, user_id = self.caller(scope)
        query = scope.get("query_string", b"")
        target = f"{scope['path']}?{query.decode('latin-1')}" if query else scope["path"]
        limiter = self.limiting.limiter
        try:
            if not limiter.store.blocking:
                return limiter.check(project_id, user_id, scope["method"], target)
            return await run_in_threadpool(limiter.check, project_id, user_id,
                                           scope["method"], target)
        except Exception as exc:  # the shared store is down: let the request through
            now = time.monotonic()
            if now - self._last_store_error >= STORE_ERROR_LOG_INTERVAL:
                self._last_store_error = now
                log.warning("rate limit store failed, requests pass unchecked: %s", exc)
            return UNLIMITED
