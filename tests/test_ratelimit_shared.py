"""The shared store: the same limits in a real Redis, through the ``limits`` library."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from emulator.ratelimit import Limiter, RateLimit, Store, Unit
from tests.redis_server import MISSING, available, redis_server

pytestmark = pytest.mark.skipif(not available(), reason=MISSING)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def shared(redis_url: str) -> Iterator[Callable[[], Store]]:
    """A factory of stores on the test's Redis, every counter cleared before and after."""
    from emulator.ratelimit.shared import SharedStore

    store = SharedStore(redis_url)
    store.reset()
    yield lambda: SharedStore(redis_url)
    store.reset()


def test_a_minute_limit_admits_its_value_then_refuses_with_a_wait(
        shared: Callable[[], Store]) -> None:
    limiter = Limiter([RateLimit("boots", "project", 5, Unit.MINUTE)], shared())
    decisions = [limiter.check("p", "u", "POST", "/servers") for _ in range(7)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    refusal = decisions[5]
    assert refusal.limit is not None and refusal.limit.name == "boots"
    assert 0 < refusal.retry_after <= 60
    assert 1 <= refusal.retry_after_header <= 60
    assert limiter.store.peek(limiter.limits[0], "p").remaining == 0
    assert limiter.check("other", "u", "POST", "/servers").allowed  # another project's key


def test_a_refusal_by_one_tier_consumes_nothing_from_the_others(
        shared: Callable[[], Store]) -> None:
    limiter = Limiter([RateLimit("project", "project", 100, Unit.MINUTE),
                       RateLimit("user", "user", 1, Unit.MINUTE)], shared())
    assert [limiter.check("p", "u", "GET", "/").allowed for _ in range(4)] == [
        True, False, False, False]
    assert limiter.store.peek(limiter.limits[0], "p").remaining == 99


def test_two_stores_on_one_redis_share_one_allowance_under_concurrency(
        shared: Callable[[], Store]) -> None:
    limits = [RateLimit("project", "project", 40, Unit.MINUTE),
              RateLimit("route", "route", 1000, Unit.MINUTE)]
    limiters = [Limiter(limits, shared()) for _ in range(2)]
    counts: list[int] = []

    def hammer(limiter: Limiter) -> None:
        counts.append(sum(limiter.check("p", "u", "POST", "/x").allowed for _ in range(30)))

    threads = [threading.Thread(target=hammer, args=(limiters[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 40  # 120 offered within one window: exactly the limit
