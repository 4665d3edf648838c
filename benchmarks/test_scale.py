"""Scale (issue 11): a simulated cloud of 10,000 hosts and 100,000 servers in one emulator
process, created through the API (multi-creates of 1,000, one after the other, each
waited for), then:

- ``test_scale_loaded_cloud``: the emulator's RSS (``/proc/<pid>/status``: the peak,
  ``VmHWM``, is the goal's figure) under 2 GiB; timed: counting the ACTIVE servers page by
  page (1,000 a page: every one must be there; none in BUILD or ERROR);
- ``test_scale_post_throughput``: single ``POST /servers`` on the loaded cloud against the
  same on a 10-host cloud (the in-run reference), alternating rounds of 50; within 10 %;
- ``test_scale_health_while_1000_build``: ``GET /_emulator/health`` every 10 ms (the probe of
  ``test_event_loop``) while a 1,000-server multi-create builds on the loaded cloud; the
  slowest probe within 100 ms.

The loading servers ask for no network (``"networks": "none"``, 2.37): the stand-in
``private`` network is a /16, 64,766 addresses, fewer than 100,000 servers
(``NOVA_BENCH_SCALE_NETWORK=auto`` loads them with addresses all the same). The servers
the benchmarks time get an address, as every other benchmark's do.

Loading is bounded by ``NOVA_BENCH_SCALE_BUDGET`` seconds (1,800): no multi-create starts
after it is spent, and the goals are then reported MISSED as incomplete (with how many
servers were loaded) while the benchmarks still run on what was loaded. Sizes:
``NOVA_BENCH_SCALE_HOSTS`` (10,000), ``NOVA_BENCH_SCALE_SERVERS`` (100,000).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.conftest import RATIOS, member_of, record_figure
from benchmarks.goals import GOALS, record_goal
from benchmarks.test_event_loop import probe, summary
from benchmarks.test_servers import settled
from conformance.client import ApiSession
from conformance.process import EmulatorProcess

HOSTS = int(os.environ.get("NOVA_BENCH_SCALE_HOSTS", "10000"))
SERVERS = int(os.environ.get("NOVA_BENCH_SCALE_SERVERS", "100000"))
BUDGET = float(os.environ.get("NOVA_BENCH_SCALE_BUDGET", "1800"))
BATCH = 1000
#: The loading servers' ``networks``: "none" (default) or "auto".
NETWORK = os.environ.get("NOVA_BENCH_SCALE_NETWORK", "none")
POSTS, POST_ROUNDS = 50, 4
SMALL_HOSTS = 10
#: m1.nano (1 vCPU, 128 MiB, 1 GB): ten a host on 10,000 hosts leaves them nearly empty.
FLAVOR = "42"


def config(hosts: int) -> str:
    return f"""
[compute]
max_count_per_request = {BATCH}

[identity]
token_ttl_seconds = 86400

[quota]
instances = -1
cores = -1
ram = -1

[[simulated.zones]]
name = "nova"
hosts = {hosts}
"""


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of ``pid``, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


@dataclass
class Loaded:
    emulator: EmulatorProcess
    member: ApiSession
    image: str
    servers: int
    seconds: float
    batches: list[float]

    @property
    def incomplete(self) -> str | None:
        if self.servers >= SERVERS:
            return None
        return (f"{self.servers:,} of {SERVERS:,} servers loaded within the {BUDGET:.0f} s "
                "budget")


def multi_create(member: ApiSession, image: str, name: str, count: int,
                 networks: str | None = None) -> None:
    body: dict[str, Any] = {"name": name, "imageRef": image, "flavorRef": FLAVOR,
                            "min_count": count, "max_count": count}
    if networks is not None:
        body["networks"] = networks
    response = member.compute("POST", "/servers", json={"server": body},
                              version="2.37" if networks is not None else None)
    assert response.status_code == 202, response.text


def built(member: ApiSession, name: str, timeout: float) -> None:
    """Wait until the newest server (the last of the multi-create ``name`` just made: they
    are made one after the other) has left BUILD (builds start in creation order; a cheap
    GET, as ``test_event_loop`` waits)."""
    newest = member.compute("GET", "/servers?limit=1").json()["servers"]
    assert newest[0]["name"] == name or newest[0]["name"].startswith(f"{name}-"), newest
    deadline = time.monotonic() + timeout
    while True:
        shown = member.compute("GET", f"/servers/{newest[0]['id']}")
        assert shown.status_code == 200, shown.text
        if shown.json()["server"]["status"] != "BUILD":
            return
        assert time.monotonic() < deadline, f"{name} still building after {timeout:.0f} s"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def http_long() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=600.0) as client:
        yield client


@pytest.fixture(scope="module")
def loaded(http_long: httpx.Client) -> Iterator[Loaded]:
    with EmulatorProcess(config(HOSTS)) as emulator:
        member = member_of(emulator, http_long)
        image = member.compute("GET", "/images").json()["images"][0]["id"]
        started, servers = time.monotonic(), 0
        batches: list[float] = []
        while servers < SERVERS and time.monotonic() - started < BUDGET:
            count = min(BATCH, SERVERS - servers)
            name = f"load{len(batches):03d}"
            begun = time.monotonic()
            multi_create(member, image, name, count, NETWORK)
            built(member, name, timeout=max(BUDGET, 600.0))
            batches.append(time.monotonic() - begun)
            servers += count
        yield Loaded(emulator, member, image, servers, time.monotonic() - started, batches)


def none_in(member: ApiSession, *statuses: str) -> None:
    for status in statuses:
        response = member.compute("GET", "/servers", params={"status": status, "limit": 1})
        assert response.status_code == 200, response.text
        assert response.json()["servers"] == [], f"a server in {status}"


def all_there(member: ApiSession, name: str, count: int) -> None:
    """The ``count`` servers named ``name`` (a regex) are all ACTIVE; none anywhere in
    BUILD or ERROR. (One page of details: a full count of 100,000 servers costs minutes.)"""
    response = member.compute("GET", "/servers/detail", params={"name": name, "limit": 1000})
    assert response.status_code == 200, response.text
    servers = response.json()["servers"]
    assert len(servers) == count, (name, len(servers), count)
    assert {s["status"] for s in servers} == {"ACTIVE"}, {s["status"] for s in servers}
    none_in(member, "BUILD", "ERROR")


def test_scale_loaded_cloud(benchmark: Any, loaded: Loaded) -> None:
    counted: dict[str, int] = {}

    def count_all() -> None:
        none_in(loaded.member, "BUILD", "ERROR")
        counted["active"] = 0
        params: dict[str, Any] = {"status": "ACTIVE", "limit": 1000}
        while True:
            response = loaded.member.compute("GET", "/servers", params=params)
            assert response.status_code == 200, response.text
            page = response.json()["servers"]
            counted["active"] += len(page)
            if len(page) < 1000:
                break
            params["marker"] = page[-1]["id"]

    benchmark.pedantic(count_all, rounds=1, iterations=1)
    assert counted["active"] == loaded.servers
    assert loaded.emulator.proc is not None
    used = memory(loaded.emulator.proc.pid)
    benchmark.extra_info.update(
        hosts=HOSTS, servers=loaded.servers, load_s=round(loaded.seconds, 1),
        first_batch_s=round(loaded.batches[0], 2), last_batch_s=round(loaded.batches[-1], 2),
        rss_mib=round(used["VmRSS"] / 2**20), peak_rss_mib=round(used["VmHWM"] / 2**20))
    record_figure(
        f"scale: {loaded.servers:,} servers on {HOSTS:,} hosts loaded in {loaded.seconds:,.0f} s "
        f"({len(loaded.batches)} multi-creates of {BATCH}: first {loaded.batches[0]:.1f} s, "
        f"last {loaded.batches[-1]:.1f} s); RSS {used['VmRSS'] / 2**20:,.0f} MiB, peak "
        f"{used['VmHWM'] / 2**20:,.0f} MiB")
    record_goal("scale-rss", used["VmHWM"], loaded.incomplete)


def post_rate(member: ApiSession, image: str, count: int) -> float:
    """Seconds for ``count`` single ``POST /servers``, one after the other."""
    body = {"server": {"name": "post", "imageRef": image, "flavorRef": FLAVOR}}
    started = time.perf_counter()
    for _ in range(count):
        response = member.compute("POST", "/servers", json=body)
        assert response.status_code == 202, response.text
    return time.perf_counter() - started


def test_scale_post_throughput(benchmark: Any, loaded: Loaded, http_long: httpx.Client) -> None:
    with EmulatorProcess(config(SMALL_HOSTS)) as small_emulator:
        small = member_of(small_emulator, http_long)
        small_image = small.compute("GET", "/images").json()["images"][0]["id"]
        post_rate(small, small_image, 5)
        post_rate(loaded.member, loaded.image, 5)
        times = {"small": 0.0, "loaded": 0.0}

        def alternate() -> None:
            for _ in range(POST_ROUNDS):
                times["small"] += post_rate(small, small_image, POSTS)
                times["loaded"] += post_rate(loaded.member, loaded.image, POSTS)

        benchmark.pedantic(alternate, rounds=1, iterations=1)
        settled(small, 5 + POSTS * POST_ROUNDS)
    built(loaded.member, "post", timeout=BUDGET)
    all_there(loaded.member, "^post$", 5 + POSTS * POST_ROUNDS)
    loaded.servers += 5 + POSTS * POST_ROUNDS
    count = POSTS * POST_ROUNDS
    small_rate, loaded_rate = count / times["small"], count / times["loaded"]
    ratio = loaded_rate / small_rate
    benchmark.extra_info.update(loaded_per_s=round(loaded_rate, 1),
                                small_per_s=round(small_rate, 1),
                                ratio_to_reference=round(ratio, 3))
    RATIOS[benchmark.name] = (ratio, f"the same POSTs on a {SMALL_HOSTS}-host cloud "
                                     f"({small_rate:.0f}/s; higher is better)")
    record_figure(f"scale: POST /servers {loaded_rate:.0f}/s with {loaded.servers:,} servers "
                  f"on {HOSTS:,} hosts, {small_rate:.0f}/s on {SMALL_HOSTS} hosts: "
                  f"{ratio:.2f} x")
    record_goal("scale-post", ratio, loaded.incomplete)


def test_scale_health_while_1000_build(benchmark: Any, loaded: Loaded) -> None:
    health = f"{loaded.emulator.url}/_emulator/health"
    idle: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=probe, args=(health, stop, idle))
    prober.start()
    time.sleep(2.0)
    stop.set()
    prober.join()
    busy: list[float] = []
    timings: dict[str, float] = {}

    def build_all() -> None:
        stop.clear()
        thread = threading.Thread(target=probe, args=(health, stop, busy))
        thread.start()
        started = time.perf_counter()
        multi_create(loaded.member, loaded.image, "crowd", BATCH)
        timings["post"] = time.perf_counter() - started
        built(loaded.member, "crowd", timeout=max(BUDGET, 600.0))
        timings["build"] = time.perf_counter() - started
        stop.set()
        thread.join()

    benchmark.pedantic(build_all, rounds=1, iterations=1)
    all_there(loaded.member, "^crowd-", BATCH)
    loaded.servers += BATCH
    calm, busy_figures = summary(idle), summary(busy)
    limit = GOALS["scale-health"].limit
    over = sum(1 for latency in busy if latency > limit)
    benchmark.extra_info.update(
        idle_ms={k: round(v * 1000, 1) for k, v in calm.items()},
        building_ms={k: round(v * 1000, 1) for k, v in busy_figures.items()},
        probes=len(busy), over=over, post_s=round(timings["post"], 3),
        build_s=round(timings["build"], 2))
    RATIOS[benchmark.name] = (busy_figures["p95"] / calm["p95"],
                              f"health p95 on the idle loaded emulator ({calm['p95'] * 1000:.1f} "
                              "ms)")
    record_figure(
        f"scale: health while {BATCH} servers build on the loaded cloud: p50 "
        f"{busy_figures['p50'] * 1000:.1f} ms, p95 {busy_figures['p95'] * 1000:.1f} ms, max "
        f"{busy_figures['max'] * 1000:.1f} ms over {len(busy)} probes, {over} over "
        f"{limit * 1000:.0f} ms (idle p50 {calm['p50'] * 1000:.1f} ms); POST "
        f"{timings['post'] * 1000:.0f} ms, all built after {timings['build']:.1f} s")
    record_goal("scale-health", busy_figures["max"], loaded.incomplete)
