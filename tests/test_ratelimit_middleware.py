"""The rate-limit middleware in process: absent when off, and what it does around a store."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import httpx
import pytest

from emulator.api.app import build_app
from emulator.api.ratelimit import RateLimitMiddleware
from emulator.config import Config
from emulator.ratelimit import Decision, MemoryStore, RateLimit
from emulator.ratelimit.settings import LimitSettings, RateLimitConfig

_AUTH = {"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": "demo", "domain": {"name": "Default"}, "password": "demo"}}},
    "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}},
}}


def chain(app: Any) -> list[Any]:
    """Every layer of the ASGI stack, outermost first."""
    layers = []
    while app is not None:
        layers.append(app)
        app = getattr(app, "app", None)
    return layers


def limited_config(**settings: Any) -> Config:
    limits = (LimitSettings(name="flavors", tier="user", verb="GET", regex="/flavors$",
                            value=1, unit="HOUR"),)
    return replace(Config(), ratelimit=RateLimitConfig(enabled=True, limits=limits,
                                                       **settings))


def test_off_the_middleware_is_not_installed() -> None:
    assert not any(isinstance(layer, RateLimitMiddleware) for layer in chain(build_app(Config())))
    installed = [layer for layer in chain(build_app(limited_config()))
                 if isinstance(layer, RateLimitMiddleware)]
    assert len(installed) == 1


class BrokenStore(MemoryStore):
    """A shared store whose server is gone."""

    blocking = True

    def acquire(self, limits: Sequence[RateLimit], keys: Sequence[str]) -> Decision:
        raise ConnectionError("redis is down")


class ThreadedStore(MemoryStore):
    """Records the thread each check runs on."""

    blocking = True

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def acquire(self, limits: Sequence[RateLimit], keys: Sequence[str]) -> Decision:
        self.threads.append(threading.get_ident())
        return super().acquire(limits, keys)


async def flavors_twice(app: Any) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        token = (await client.post("/identity/v3/auth/tokens", json=_AUTH)).headers[
            "X-Subject-Token"]
        return [(await client.get("/compute/v2.1/flavors",
                                  headers={"X-Auth-Token": token})).status_code
                for _ in range(2)]


def with_store(store: MemoryStore) -> Any:
    app = build_app(limited_config())
    middleware = next(layer for layer in chain(app) if isinstance(layer, RateLimitMiddleware))
    limiter = middleware.limiting.limiter
    limiter.store = store
    limiter.replace(limiter.limits)
    return app


def test_a_blocking_store_is_asked_off_the_event_loop() -> None:
    store = ThreadedStore()
    assert asyncio.run(flavors_twice(with_store(store))) == [200, 429]
    assert len(store.threads) == 2
    assert threading.get_ident() not in store.threads


def test_a_failing_store_lets_requests_through_and_says_so(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="nova_emulator.ratelimit"):
        assert asyncio.run(flavors_twice(with_store(BrokenStore()))) == [200, 200]
    warnings = [r.getMessage() for r in caplog.records if r.name == "nova_emulator.ratelimit"]
    assert warnings == ["rate limit store failed, requests pass unchecked: redis is down"]


def test_an_unchecked_request_meets_route_limits_only() -> None:
    app = build_app(replace(Config(), ratelimit=RateLimitConfig(enabled=True, limits=(
        LimitSettings(name="users", tier="user", value=1, unit="HOUR"),
        LimitSettings(name="discovery", tier="route", verb="GET", regex="^/identity/v3$",
                      value=1, unit="HOUR")))))

    async def calls() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
            statuses = [(await client.get("/identity/v3")).status_code for _ in range(2)]
            bad = {"X-Auth-Token": "not-a-token"}
            statuses.append((await client.get("/compute/v2.1/flavors", headers=bad))
                            .status_code)
            return statuses

    assert asyncio.run(calls()) == [200, 429, 401]

