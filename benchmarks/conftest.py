"""Benchmarks run against a real emulator process over loopback HTTP.

Machines here are noisy, so every benchmark also times an in-run reference and records
the ratio (``extra_info``); the ratio is the figure to compare between runs. Timing never
fails a benchmark: each goal (``benchmarks.goals``) is printed at the end as met or missed.
Wrong results do fail it: every response's status, every server's state, every count.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from benchmarks import goals, placement_plots
from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.network import lift_port_quota
from conformance.process import NO_QUOTAS, EmulatorProcess


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(NO_QUOTAS) as process:
        yield process


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30.0) as client:
        yield client


def member_of(emulator: EmulatorProcess, http: httpx.Client) -> ApiSession:
    """The seeded member of ``emulator``, its project's Neutron port quota lifted (500 by
    default, and every server with a network has a port: a benchmark makes more)."""
    accounts = seeded_accounts(emulator.url)
    member = ApiSession(accounts["member"], http)
    lift_port_quota(ApiSession(accounts["admin"], http), member.project_id)
    return member


@pytest.fixture(scope="session")
def member(emulator: EmulatorProcess, http: httpx.Client) -> ApiSession:
    return member_of(emulator, http)


#: Ratios recorded by this run, printed at the end: name -> (ratio, reference).
RATIOS: dict[str, tuple[float, str]] = {}


def record_ratio(benchmark: Any, reference_seconds: float, reference: str) -> float:
    """Store the benchmark's median over ``reference_seconds`` in its extra_info and here."""
    ratio = benchmark.stats.stats.median / reference_seconds
    benchmark.extra_info["reference"] = reference
    benchmark.extra_info["ratio_to_reference"] = round(ratio, 2)
    RATIOS[benchmark.name] = (ratio, reference)
    return float(ratio)


#: Further figures of this run (percentiles, breakdowns), printed at the end, in order.
FIGURES: list[str] = []


def record_figure(line: str) -> None:
    FIGURES.append(line)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("figures of this run")
        for line in FIGURES:
            terminalreporter.write_line(line)
    for line in placement_plots.write():
        terminalreporter.write_line(line)
    if not RATIOS and not goals.MEASURED:
        return
    terminalreporter.section("ratios to in-run references (compare these between runs)")
    for name, (ratio, reference) in sorted(RATIOS.items()):
        terminalreporter.write_line(f"{name}: {ratio:.2f} x {reference}")
    terminalreporter.section("goals (timing is reported, never a failure)")
    for line in goals.report():
        terminalreporter.write_line(line)


def reference_median(fn: Callable[[], object], rounds: int = 200,
                     timer: Callable[[], float] = time.perf_counter) -> float:
    """Median seconds per call of ``fn`` (after a short warm-up), by ``timer``."""
    for _ in range(10):
        fn()
    samples = []
    for _ in range(rounds):
        started = timer()
        fn()
        samples.append(timer() - started)
    return statistics.median(samples)
