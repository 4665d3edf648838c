"""S5b-S5d: how exactly the rate limiter admits under overload (scheduling reference,
section 5), through ``nova-emulator bench ratelimit`` itself (its summary is the figure).

S5b virtual: 64 clients, Poisson arrivals offering 5 x a limit of 100/s (burst 10) for
60 s of virtual time, three tiers (the project's binds); admitted against rate x T + burst,
the worst 1-s window against rate x W + burst, every decision judged by the exact GCRA
oracle, and a lone client retrying at Retry-After. The on/off pattern (2 s periods, twice
the load then silence) is run for its worst window.

S5b http (and S5c): 64 client threads, one keep-alive connection each, offering 5 x a limit
of 20/s (burst 5) to ``GET /compute/v2.1/limits`` (the cheapest authenticated GET where
``/limits`` is missing) of an emulator started for the run, for
``NOVA_BENCH_RL_HTTP_SECONDS`` (60) of real time. The rate is low because every request
is a real round trip through one emulator process on a 2-core machine shared with the
clients: 100 requests/s keeps the server far from saturation, so the figure is the
limiter's and not the queue's. After the load the same emulator answers sequential blocks
of a refused request (429) and of the same request matched by no limit (200): the 429's
cost against the 200's, by the server's CPU time (and the client's round trip).

S5d: the same load split over two emulator processes whose limiter keeps its state in one
redis-server (the ``limits`` library's sliding-window counter: burst = value), for
``NOVA_BENCH_RL_REDIS_SECONDS`` (60).

Wrong results fail: a status other than 200 or 429, a worst window over its bound on the
virtual clock, an oracle disagreement there.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from rich.console import Console

from benchmarks.conftest import RATIOS, record_figure
from benchmarks.goals import record_goal
from benchmarks.placement_plots import PLOTS
from emulator.bench.plots import have_matplotlib
from emulator.bench.ratelimit.command import execute
from emulator.cli import _parser

HTTP_SECONDS = os.environ.get("NOVA_BENCH_RL_HTTP_SECONDS", "60")
REDIS_SECONDS = os.environ.get("NOVA_BENCH_RL_REDIS_SECONDS", "60")
LOAD = ["--clients", "64", "--overload", "5"]


def _run(name: str, *argv: str) -> dict[str, Any]:
    png: list[str] = []
    if have_matplotlib():
        PLOTS.mkdir(parents=True, exist_ok=True)
        png = ["--png", str(PLOTS / f"{name}.png")]
    args = _parser().parse_args(["bench", "ratelimit", *LOAD, *argv, *png])
    summary: dict[str, Any] = execute(args, Console(quiet=True))
    if png:
        record_figure(f"plot: {png[1]}")
    return summary


def _line(name: str, summary: dict[str, Any]) -> str:
    requests, admitted, window = summary["requests"], summary["admitted"], summary["worst_window"]
    return (f"{name}: {requests['admitted']:,} admitted of {requests['offered']:,} vs "
            f"rate x T + burst {admitted['expected']:,.1f} ({admitted['error']:+.3%}); worst "
            f"{window['window_s']:g}-s window {window['admitted']} (bound {window['bound']:g})")


def _served_ok(summary: dict[str, Any]) -> None:
    assert "skipped" not in summary["extra"]["refusal_cost"], summary["extra"]["refusal_cost"]
    statuses = summary["extra"]["statuses"]
    assert set(statuses) <= {200, 429}, statuses
    assert statuses.get(429, 0) > 0 and statuses.get(200, 0) > 0, statuses


@pytest.mark.parametrize("pattern", ["poisson", "onoff"])
def test_s5b_accuracy_virtual(benchmark: Any, pattern: str) -> None:
    argv = ["--rate", "100", "--burst", "10", "--duration", "60", "--pattern", pattern]
    out: dict[str, dict[str, Any]] = {}
    benchmark.pedantic(lambda: out.update(s=_run(f"s5b_virtual_{pattern}", *argv)),
                       rounds=1, iterations=1)
    summary = out["s"]
    oracle, window, retry = summary["oracle"], summary["worst_window"], summary["retry_after"]
    assert window["within"], window
    assert 0 == oracle["disagreements"], oracle["examples"]
    assert 0 == oracle["retry_after_short"]
    assert retry["retries"] == retry["admitted"]
    cost = summary["cost_us"]
    benchmark.extra_info.update(
        admitted=summary["requests"]["admitted"], expected=summary["admitted"]["expected"],
        error=summary["admitted"]["error"], worst_window=window["admitted"],
        window_bound=window["bound"], oracle_decisions=oracle["decisions"],
        disagreements=oracle["disagreements"], check_us_p50=cost["all"]["p50"],
        check_429_us_p50=cost["refused"]["p50"])
    head = _line(f"S5b virtual {pattern}", summary) if pattern == "poisson" else (
        f"S5b virtual onoff (silent half the time: rate x T + burst does not apply): "
        f"{summary['requests']['admitted']:,} admitted of {summary['requests']['offered']:,}; "
        f"worst {window['window_s']:g}-s window {window['admitted']} (bound {window['bound']:g})")
    record_figure(head + (
        f"; oracle {oracle['disagreements']} of {oracle['decisions']:,} disagree; retries at "
        f"Retry-After {retry['admitted']}/{retry['retries']}; check p50 "
        f"{cost['all']['p50']} us (429: {cost['refused']['p50']} us)"))
    if pattern == "poisson":
        record_goal("s5-virtual", abs(summary["admitted"]["error"]))
        record_goal("s5-window", window["admitted"] / window["bound"])
        record_goal("s5-oracle", oracle["share"])
        record_goal("s5-retry", retry["share"])


def test_s5b_accuracy_http(benchmark: Any) -> None:
    argv = ["--mode", "http", "--rate", "20", "--burst", "5", "--duration", HTTP_SECONDS]
    out: dict[str, dict[str, Any]] = {}
    benchmark.pedantic(lambda: out.update(s=_run("s5b_http", *argv)), rounds=1, iterations=1)
    summary = out["s"]
    _served_ok(summary)
    refusal = summary["extra"]["refusal_cost"]
    cost = summary["cost_us"]
    benchmark.extra_info.update(
        admitted=summary["requests"]["admitted"], expected=summary["admitted"]["expected"],
        error=summary["admitted"]["error"], worst_window=summary["worst_window"]["admitted"],
        route=summary["extra"]["route"], refusal_cost=refusal,
        round_trip_200_p50_us=cost["admitted"]["p50"], round_trip_429_p50_us=cost["refused"]["p50"])
    ratio = refusal["server_cpu_ratio"]
    RATIOS[f"{benchmark.name} (429 vs 200)"] = (
        ratio, f"the cheapest 200 ({refusal['route']}, {refusal['server_cpu_us_200']} us of "
               f"server CPU; lower is better)")
    record_figure(_line(f"S5b http ({HTTP_SECONDS} s)", summary) + (
        f"; under load round trip p50 200: {cost['admitted']['p50']} us, 429: "
        f"{cost['refused']['p50']} us"))
    record_figure(
        f"S5c {refusal['route']}, {refusal['requests_each']} sequential each: server CPU per "
        f"429 {refusal['server_cpu_us_429']} us vs per 200 {refusal['server_cpu_us_200']} us "
        f"({ratio} x); round trip p50 {refusal['round_trip_us_429']} vs "
        f"{refusal['round_trip_us_200']} us ({refusal['round_trip_ratio']} x)")
    record_goal("s5-http", abs(summary["admitted"]["error"]))
    record_goal("s5-429", ratio)


@pytest.mark.skipif(shutil.which("redis-server") is None
                    and not os.environ.get("NOVA_BENCH_REDIS_URL"),
                    reason="redis-server is not installed (Debian: apt-get install redis-server)")
def test_s5d_redis_two_processes(benchmark: Any) -> None:
    argv = ["--mode", "redis", "--rate", "20", "--duration", REDIS_SECONDS]
    if os.environ.get("NOVA_BENCH_REDIS_URL"):
        argv += ["--redis-url", os.environ["NOVA_BENCH_REDIS_URL"]]
    out: dict[str, dict[str, Any]] = {}
    benchmark.pedantic(lambda: out.update(s=_run("s5d_redis", *argv)), rounds=1, iterations=1)
    summary = out["s"]
    _served_ok(summary)
    assert 2 == summary["extra"]["emulators"]
    refusal = summary["extra"]["refusal_cost"]
    benchmark.extra_info.update(
        admitted=summary["requests"]["admitted"], expected=summary["admitted"]["expected"],
        error=summary["admitted"]["error"], worst_window=summary["worst_window"]["admitted"],
        refusal_cost=refusal)
    record_figure(_line(f"S5d redis, 2 emulators ({REDIS_SECONDS} s)", summary) + (
        f"; 429 vs 200 server CPU {refusal['server_cpu_us_429']} vs "
        f"{refusal['server_cpu_us_200']} us ({refusal['server_cpu_ratio']} x)"))
    record_goal("s5-redis", abs(summary["admitted"]["error"]))
