"""The in-process modes: the limiter called directly, on a virtual clock (each check at its
arrival's time: a minute of load in a second or two) or on the real clock (one thread per
client, each sleeping until its next arrival). Both log the clock reading the limiter
itself used, so the oracle judges every decision."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from emulator.bench.ratelimit import spec as specs
from emulator.bench.ratelimit.metrics import Costs, Probe, Run
from emulator.bench.ratelimit.oracle import Logged
from emulator.bench.ratelimit.spec import Spec
from emulator.bench.ratelimit.workload import arrival_log, client_arrivals
from emulator.ratelimit.limiter import Limiter
from emulator.ratelimit.memory import MemoryStore

#: ``progress(fraction done)``.
Progress = Callable[[float], None]
#: Retries the Retry-After probe sends on the virtual clock (on the real clock: fewer).
PROBE_RETRIES = 1000
REAL_PROBE_RETRIES = 50


def _none(_: float) -> None:
    pass


class VirtualClock:
    """Seconds that move only when told (``now`` is set before each check)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def timer_overhead(samples: int = 2001) -> float:
    """Seconds two back-to-back ``perf_counter`` calls take (subtracted from each cost)."""
    clock = time.perf_counter
    gaps = []
    for _ in range(samples):
        started = clock()
        gaps.append(clock() - started)
    return statistics.median(gaps)


def limiter(spec: Spec, clock: Callable[[], float]) -> Limiter:
    return Limiter(specs.rate_limits(spec), MemoryStore(clock))


def probe(spec: Spec, retries: int, real: bool) -> Probe:
    """A lone client on a fresh limiter: it empties the bucket, then after each 429 sends
    again exactly Retry-After later (virtual), or sleeps Retry-After (real), and counts the
    retries admitted."""
    clock = VirtualClock()
    check = limiter(spec, time.monotonic if real else clock).check
    done = Probe()

    def send() -> tuple[bool, float]:
        decision = check(specs.PROJECT, specs.user(0), spec.method, specs.PATH)
        return decision.allowed, decision.retry_after

    for _ in range(spec.limit.burst):  # the whole burst at once
        send()
    while done.retries < retries:
        allowed, wait = send()
        if allowed:
            continue
        if real:
            time.sleep(wait)
        else:
            clock.now += wait
        done.retries += 1
        done.admitted += send()[0]
    return done


def virtual(spec: Spec, progress: Progress = _none) -> Run:
    """Every arrival checked at its own virtual time, one after the other."""
    started = time.perf_counter()
    arrivals = arrival_log(spec.load, spec.limit)
    clock = VirtualClock()
    check = limiter(spec, clock).check
    overhead = timer_overhead()
    costs, log = Costs(), list[Logged]()
    users = [specs.user(c) for c in range(spec.load.clients)]
    keys = [specs.keys(spec, c) for c in range(spec.load.clients)]
    method, path, project = spec.method, specs.PATH, specs.PROJECT
    perf = time.perf_counter
    step = max(1, len(arrivals) // 100)
    for i, (t, client) in enumerate(arrivals):
        clock.now = t
        before = perf()
        decision = check(project, users[client], method, path)
        costs.add(decision.allowed, perf() - before - overhead)
        log.append(Logged(t, keys[client], decision.allowed, decision.retry_after))
        if not i % step:
            progress(i / len(arrivals))
    run = Run("virtual", spec.limit, spec.load, log, costs, span_s=spec.load.duration,
              wall_s=0.0, probe=probe(spec, PROBE_RETRIES, real=False),
              extra={"timer_overhead_us": round(overhead * 1e6, 3)},
              tiers=specs.oracle_limits(spec))
    run.wall_s = time.perf_counter() - started
    progress(1.0)
    return run


def real(spec: Spec, progress: Progress = _none) -> Run:
    """One thread per client, each sleeping until its arrivals (real seconds) and checking;
    the limiter's clock readings are caught per thread for the log."""
    started = time.perf_counter()
    schedules = client_arrivals(spec.load, spec.limit)
    seen = threading.local()

    def clock() -> float:
        seen.t = time.monotonic()
        return float(seen.t)

    check = limiter(spec, clock).check
    overhead = timer_overhead()
    costs, log, late = Costs(), list[Logged](), list[float]()
    lock = threading.Lock()
    gate = threading.Barrier(spec.load.clients + 1)
    origin: list[float] = []

    def client(n: int) -> None:
        user, keys = specs.user(n), specs.keys(spec, n)
        mine: list[tuple[Logged, float, float]] = []
        gate.wait()
        zero = origin[0]
        for t in schedules[n]:
            delay = zero + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            before = time.perf_counter()
            decision = check(specs.PROJECT, user, spec.method, specs.PATH)
            spent = time.perf_counter() - before - overhead
            mine.append((Logged(seen.t - zero, keys, decision.allowed, decision.retry_after),
                         spent, seen.t - zero - t))
        with lock:
            for logged, spent, behind in mine:
                log.append(logged)
                costs.add(logged.admitted, spent)
                late.append(behind)

    threads = [threading.Thread(target=client, args=(n,), daemon=True)
               for n in range(spec.load.clients)]
    for thread in threads:
        thread.start()
    origin.append(time.monotonic() + 0.05)  # every thread is at the gate before the start
    gate.wait()
    while any(thread.is_alive() for thread in threads):
        progress(min(1.0, (time.monotonic() - origin[0]) / spec.load.duration))
        threads[0].join(0.1)
    for thread in threads:
        thread.join()
    log.sort(key=lambda d: d.t)
    span = spec.load.duration
    run = Run("real", spec.limit, spec.load, log, costs, span_s=span, wall_s=0.0,
              probe=probe(spec, REAL_PROBE_RETRIES, real=True),
              extra={"timer_overhead_us": round(overhead * 1e6, 3), "threads": spec.load.clients,
                     "late_ms_p50": round(1e3 * statistics.median(late), 3) if late else None,
                     "late_ms_max": round(1e3 * max(late), 3) if late else None},
              tiers=specs.oracle_limits(spec))
    run.wall_s = time.perf_counter() - started
    progress(1.0)
    return run
