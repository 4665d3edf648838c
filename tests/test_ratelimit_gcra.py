"""The in-process limiter: GCRA on a virtual clock, tiers, atomicity, eviction, memory."""

from __future__ import annotations

import gc
import threading
import tracemalloc

import pytest

from emulator.ratelimit import Limiter, MemoryStore, RateLimit, Unit


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter_of(*limits: RateLimit) -> tuple[Limiter, VirtualClock]:
    clock = VirtualClock()
    return Limiter(limits, MemoryStore(clock)), clock


def admitted(limiter: Limiter, clock: VirtualClock, times: list[float],
             project: str = "p", user: str = "u") -> int:
    start = clock.now
    count = 0
    for offset in times:
        clock.now = start + offset
        count += limiter.check(project, user, "POST", "/compute/v2.1/servers").allowed
    return count


def test_an_idle_key_admits_its_burst_then_refuses_with_the_emission_interval() -> None:
    limiter, clock = limiter_of(RateLimit("p", "project", 10, Unit.MINUTE))  # T = 6 s
    decisions = [limiter.check("p", "u", "GET", "/") for _ in range(11)]
    assert [d.allowed for d in decisions] == [True] * 10 + [False]
    assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))
    refusal = decisions[10]
    assert refusal.retry_after == pytest.approx(6.0)
    assert refusal.retry_after_header == 6
    assert refusal.limit is not None and refusal.limit.name == "p"
    clock.now += 5.9
    assert not limiter.check("p", "u", "GET", "/").allowed
    clock.now += 0.1
    assert limiter.check("p", "u", "GET", "/").allowed
    assert not limiter.check("p", "u", "GET", "/").allowed


def test_a_flood_over_a_minute_admits_burst_plus_one_per_interval() -> None:
    # 10/min (T = 6 s), burst 10; an arrival every 0.5 s for 60 s (121 arrivals): the
    # burst at t=0, then t = 6, 12, ..., 60: 10 + 10 = 20.
    limiter, clock = limiter_of(RateLimit("p", "project", 10, Unit.MINUTE))
    assert admitted(limiter, clock, [i / 2 for i in range(121)]) == 20


def test_burst_one_spaces_requests_by_the_interval() -> None:
    # 2/s with burst 1 (T = 0.5 s), arrivals every 0.1 s over 1 s: t = 0, 0.5, 1.0.
    limiter, clock = limiter_of(RateLimit("p", "project", 2, Unit.SECOND, burst=1))
    assert admitted(limiter, clock, [i / 10 for i in range(11)]) == 3


def test_a_clock_a_few_ulps_short_of_the_boundary_still_admits() -> None:
    limiter, clock = limiter_of(RateLimit("p", "project", 10, Unit.SECOND, burst=1))
    times, t = [], 0.0
    for _ in range(11):  # 0.1 summed ten times is 0.9999999999999999, not 1.0
        times.append(t)
        t += 0.1
    assert admitted(limiter, clock, times) == 11


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    limiter, _clock = limiter_of(RateLimit("p", "project", 3, Unit.MINUTE, burst=1))
    assert limiter.check("p", "u", "GET", "/").allowed
    refusal = limiter.check("p", "u", "GET", "/")
    assert refusal.retry_after == pytest.approx(20.0)
    assert refusal.retry_after_header == 20
    limiter2, _ = limiter_of(RateLimit("p", "project", 3, Unit.SECOND, burst=1))
    limiter2.check("p", "u", "GET", "/")
    assert limiter2.check("p", "u", "GET", "/").retry_after_header == 1  # 0.33 s -> 1


def test_tiers_share_by_project_by_user_and_by_route() -> None:
    limiter, _clock = limiter_of(
        RateLimit("project", "project", 3, Unit.MINUTE),
        RateLimit("user", "user", 2, Unit.MINUTE),
        RateLimit("boots", "route", 4, Unit.MINUTE, verb="POST", regex="/servers$"),
    )
    a = [limiter.check("p1", "alice", "GET", "/compute/v2.1/flavors") for _ in range(3)]
    assert [d.allowed for d in a] == [True, True, False]
    assert a[2].limit is not None and a[2].limit.name == "user"
    b = [limiter.check("p1", "bob", "GET", "/compute/v2.1/flavors") for _ in range(2)]
    assert [d.allowed for d in b] == [True, False]  # the project's third, then its limit
    assert b[1].limit is not None and b[1].limit.name == "project"
    # the route class counts every caller's boots, with no token too
    boots = [limiter.check(f"p{i}", f"u{i}", "POST", "/compute/v2.1/servers")
             for i in range(2, 5)]
    boots.append(limiter.check(None, None, "POST", "/compute/v2.1/servers"))
    assert all(d.allowed for d in boots)
    refused = limiter.check(None, None, "POST", "/compute/v2.1/servers")
    assert not refused.allowed and refused.limit is not None and refused.limit.name == "boots"
    # a request with no caller meets route limits only
    assert limiter.check(None, None, "GET", "/identity/v3").remaining == -1


def test_a_refused_request_consumes_nothing_from_the_tiers_that_admitted_it() -> None:
    limiter, _clock = limiter_of(RateLimit("project", "project", 100, Unit.MINUTE),
                                 RateLimit("user", "user", 1, Unit.MINUTE))
    results = [limiter.check("p", "u", "GET", "/").allowed for _ in range(5)]
    assert results == [True, False, False, False, False]
    project = limiter.limits[0]
    assert limiter.store.peek(project, "p").remaining == 99


def test_the_longest_wait_among_refusing_limits_is_reported() -> None:
    limiter, _clock = limiter_of(RateLimit("fast", "project", 1, Unit.SECOND),
                                 RateLimit("slow", "user", 1, Unit.MINUTE))
    assert limiter.check("p", "u", "GET", "/").allowed
    refusal = limiter.check("p", "u", "GET", "/")
    assert refusal.limit is not None and refusal.limit.name == "slow"
    assert refusal.retry_after == pytest.approx(60.0)


def test_verb_and_regex_select_the_requests_a_limit_counts() -> None:
    limiter, _clock = limiter_of(
        RateLimit("changes", "user", 1, Unit.MINUTE, verb="GET", regex="changes-since"))
    assert limiter.check("p", "u", "GET", "/compute/v2.1/servers").remaining == -1
    assert limiter.check("p", "u", "POST", "/servers?changes-since=x").remaining == -1
    assert limiter.check("p", "u", "GET", "/servers?changes-since=x").allowed
    assert not limiter.check("p", "u", "GET", "/servers?changes-since=y").allowed


def test_concurrent_threads_never_share_the_last_slot() -> None:
    limiter, _clock = limiter_of(RateLimit("p", "project", 500, Unit.MINUTE),
                                 RateLimit("u", "user", 1000, Unit.MINUTE))
    counts: list[int] = []

    def hammer() -> None:
        counts.append(sum(limiter.check("p", "u", "GET", "/").allowed for _ in range(400)))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 500  # the clock stands still: exactly the burst


def test_idle_keys_carry_no_state_and_are_swept() -> None:
    limiter, clock = limiter_of(RateLimit("p", "project", 60, Unit.MINUTE))
    store = limiter.store
    assert isinstance(store, MemoryStore)
    for i in range(50):
        limiter.check(f"p{i}", "u", "GET", "/")
    assert store.active_keys() == 50
    clock.now += 1.0  # one request's interval: every key is idle again
    assert store.active_keys() == 0
    store.sweep()
    assert store.state(limiter.limits[0]) == {}
    assert limiter.store.peek(limiter.limits[0], "p3").remaining == 60


def test_replacing_the_limits_keeps_the_state_of_kept_names() -> None:
    limiter, _clock = limiter_of(RateLimit("a", "project", 1, Unit.MINUTE),
                                 RateLimit("b", "project", 1, Unit.MINUTE))
    assert limiter.check("p", "u", "GET", "/").allowed
    limiter.replace([RateLimit("a", "project", 1, Unit.MINUTE),
                     RateLimit("c", "project", 5, Unit.MINUTE)])
    refusal = limiter.check("p", "u", "GET", "/")
    assert refusal.limit is not None and refusal.limit.name == "a"
    with pytest.raises(ValueError, match="unique"):
        limiter.replace([RateLimit("a", "project", 1, Unit.MINUTE)] * 2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"tier": "tenant"}, "tier must be"),
    ({"value": 0}, "value must be > 0"),
    ({"burst": -1}, "burst must be"),
    ({"regex": "("}, "bad regex"),
])
def test_bad_limits_are_refused_with_a_reason(kwargs: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"name": "x", "tier": "project", "value": 1,
                                 "unit": Unit.MINUTE, **kwargs}
    with pytest.raises(ValueError, match=message):
        RateLimit(**fields)  # type: ignore[arg-type]


def test_an_active_key_costs_at_most_200_bytes() -> None:
    limiter = Limiter([RateLimit("p", "project", 10, Unit.MINUTE),
                       RateLimit("u", "user", 10, Unit.MINUTE)])
    limiter.check("warm", "up", "GET", "/")
    ids = [f"{i:032x}" for i in range(20_000)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(10_000):
        limiter.check(ids[i][:31] + "p", ids[i + 10_000][:31] + "u", "GET", "/")
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert used / 20_000 <= 200  # the key's string, its TAT and the dict's slot
