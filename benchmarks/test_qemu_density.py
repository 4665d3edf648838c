"""How many idle free guests stay responsive on this machine (2 cores, TCG).

One pool of servers grows through the API to each N of ``NOVA_BENCH_QEMU_DENSITY``
(default 5, 10, 20; in order, so 20 boots in all), every server booted to GUEST-READY.
With N running, after a short settle:

- host CPU used by the N idle qemu processes (``/proc/<pid>/stat`` over ``CPU_WINDOW``
  seconds), and by the emulator process meanwhile (its power-state watchers);
- GET /servers/{id} latency over the pool (the benchmark's own figure), against the same
  request with one guest running (measured when the pool is first made);
- os-getConsoleOutput latency, POST pause -> PAUSED latency, and the QMP
  ``query-status`` round trip of a bare qemu (same command line) running beside the pool.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from benchmarks.conftest import RATIOS, record_figure
from benchmarks.qemu_support import (
    READY,
    BareGuest,
    QemuCloud,
    bare_guest,
    cpu_seconds,
    ms,
    p50,
    p95,
    summary,
)

pytestmark = pytest.mark.qemu

DENSITY = [int(n) for n in os.environ.get("NOVA_BENCH_QEMU_DENSITY", "5,10,20").split(",")]
#: Seconds over which idle CPU is sampled, and to wait after the last GUEST-READY first
#: (the guests' DHCP and netwatch settle within ~1-2 s).
CPU_WINDOW, SETTLE = 5.0, 3.0
GETS, CONSOLES, PAUSES, QMPS = 60, 20, 5, 100


@dataclass
class Responsiveness:
    get: list[float]
    console: list[float]
    pause: list[float]
    qmp: list[float]


@dataclass
class Pool:
    cloud: QemuCloud
    bare: BareGuest
    ready: list[str] = field(default_factory=list)
    baseline: Responsiveness | None = None

    def grow(self, size: int, timeout_per_guest: float = 30.0) -> float:
        """Create servers until ``size`` run, all GUEST-READY; seconds it took."""
        started = time.perf_counter()
        waiting = [self.cloud.create(f"dense-{len(self.ready) + i}").server_id
                   for i in range(size - len(self.ready))]
        deadline = time.monotonic() + 60 + timeout_per_guest * len(waiting)
        while waiting:
            assert time.monotonic() < deadline, f"not GUEST-READY in time: {waiting}"
            for server_id in list(waiting):
                text = self.cloud.console(server_id)
                if text and READY in text:
                    waiting.remove(server_id)
                    self.ready.append(server_id)
            time.sleep(0.5)
        return time.perf_counter() - started

    def get(self, index: int) -> float:
        server_id = self.ready[index % len(self.ready)]
        started = time.perf_counter()
        assert self.cloud.status(server_id) == "ACTIVE"
        return time.perf_counter() - started

    def measure(self) -> Responsiveness:
        cloud, first = self.cloud, self.ready[0]
        gets = [self.get(i) for i in range(GETS)]
        consoles = []
        for i in range(CONSOLES):
            started = time.perf_counter()
            assert cloud.console(self.ready[i % len(self.ready)])
            consoles.append(time.perf_counter() - started)
        pauses = []
        for _ in range(PAUSES):
            started = time.perf_counter()
            cloud.action(first, {"pause": None})
            pauses.append(cloud.wait_status(first, "PAUSED") - started)
            cloud.action(first, {"unpause": None})
            cloud.wait_status(first, "ACTIVE")
        return Responsiveness(gets, consoles, pauses,
                              [self.bare.query_status() for _ in range(QMPS)])


@pytest.fixture(scope="module")
def pool(http: httpx.Client) -> Iterator[Pool]:
    cloud = QemuCloud(http)
    try:
        with bare_guest() as bare:
            made = Pool(cloud, bare)
            made.grow(1)
            server = made.ready[0]
            bare.copy_command_line(cloud.argv(server), cloud.run_dir / server)
            bare.boot(until=READY)
            time.sleep(SETTLE)
            made.baseline = made.measure()
            yield made
    finally:
        cloud.close()


@pytest.mark.parametrize("guests", DENSITY)
def test_qemu_idle_guests(benchmark: Any, pool: Pool, guests: int) -> None:
    """N idle guests: their CPU, and how the API and QMP answer with them running."""
    grown = pool.grow(guests)
    time.sleep(SETTLE)
    pids = [pid for pid, name in pool.cloud.guest_pids().items() if name in pool.ready]
    assert len(pids) == guests, (pids, pool.ready)
    emulator = [pool.cloud.emulator_pid]
    before, emulator_before = cpu_seconds(pids), cpu_seconds(emulator)
    started = time.perf_counter()
    time.sleep(CPU_WINDOW)
    window = time.perf_counter() - started
    guests_cpu = (cpu_seconds(pids) - before) / window
    emulator_cpu = (cpu_seconds(emulator) - emulator_before) / window
    counter = iter(range(10**9))
    benchmark.pedantic(lambda: pool.get(next(counter)), rounds=GETS, iterations=1)
    now = pool.measure()
    base = pool.baseline
    assert base is not None
    ratio = benchmark.stats.stats.median / p50(base.get)
    benchmark.extra_info.update(
        guests=guests, grow_s=round(grown, 1), idle_cores_all=round(guests_cpu, 3),
        idle_core_percent_per_guest=round(100 * guests_cpu / guests, 2),
        emulator_cores=round(emulator_cpu, 3), get_p50_s=round(p50(now.get), 4),
        console_p50_s=round(p50(now.console), 4), pause_p50_s=round(p50(now.pause), 4),
        qmp_p50_s=round(p50(now.qmp), 5), get_ratio_to_one_guest=round(ratio, 2))
    RATIOS[benchmark.name] = (ratio, f"GET /servers/{{id}} with 1 guest running "
                                     f"(p50 {ms(p50(base.get))})")
    record_figure(
        f"{guests} idle guests (+1 bare): grown in {grown:.1f} s; idle CPU {guests_cpu:.2f} "
        f"cores ({100 * guests_cpu / guests:.2f} % of a core each, over {window:.1f} s), "
        f"emulator {emulator_cpu:.3f} cores")
    record_figure(
        f"  GET /servers/{{id}} {summary(now.get)} (1 guest: {ms(p50(base.get))}); console "
        f"{summary(now.console)} (1: {ms(p50(base.console))}); pause -> PAUSED "
        f"{summary(now.pause)} (1: {ms(p50(base.pause))}); bare QMP query-status "
        f"{summary(now.qmp)} (1: {ms(p50(base.qmp))}, p95 {ms(p95(base.qmp))})")
    # Every guest still runs and is still ACTIVE (each GET checked it), every sample taken.
    assert len(benchmark.stats.stats.data) == len(now.get) == GETS
    assert (len(now.console), len(now.pause), len(now.qmp)) == (CONSOLES, PAUSES, QMPS)
    assert len(pool.ready) == guests
    assert set(pool.ready) <= set(pool.cloud.guest_pids().values())
