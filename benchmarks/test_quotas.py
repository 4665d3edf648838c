"""S6: absolute limits and quotas (scheduling reference, section 5).

* ``test_s6_concurrent_creators``: 32 clients (each its own HTTP connection) create
  servers one request at a time against a project quota of 50 instances until each is
  refused, then 32 delete them all; every round must admit exactly 50 (a wrong count fails
  the benchmark), with SQLite in memory and in a file. Reference: the same 50 creates by
  one client (the throughput of the 32, as a ratio).
* ``test_s6_quota_check``: the check a create makes (limits and usage from the database,
  then Nova's arithmetic) in process, against ``SELECT 1`` on the same session (the floor
  of any database round trip). Goal: <= 5 us; the arithmetic alone is reported too.
* ``test_s6_limits_read_your_writes``: ``GET /limits`` right after each create shows it
  (a stale read fails the benchmark); timed against the versions document.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from benchmarks.conftest import RATIOS, record_figure, record_ratio, reference_median
from benchmarks.goals import record_goal
from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess
from emulator.compute.models import Instance
from emulator.compute.quotas import QuotaService
from emulator.compute.quotas.instances import Scope, instances_allowed
from emulator.db import Database

QUOTA = 50
CREATORS = 32
ROUNDS = 3
NANO = "42"
#: The project's quotas: 50 instances, room in cores and RAM (m1.nano: 1 vCPU, 128 MB).
CONFIG = f"""
[quota]
instances = {QUOTA}
cores = {2 * QUOTA}
ram = {QUOTA * 1024}
"""
REFUSED = f"Quota exceeded for instances: Requested 1, but already used {QUOTA} of {QUOTA} "


@pytest.fixture(scope="module", params=["memory", "file"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[tuple[str, ApiSession]]:
    """An emulator with the quotas above, its state in memory or in a SQLite file."""
    state = None
    if request.param == "file":
        state = f"sqlite:///{Path(tmp_path_factory.mktemp('s6')) / 'state.db'}"
    with EmulatorProcess(CONFIG, state=state) as emulator, \
            httpx.Client(timeout=60.0) as http:
        member = ApiSession(seeded_accounts(emulator.url)["member"], http)
        yield request.param, member


def _server(image: str) -> dict[str, Any]:
    return {"server": {"name": "s6", "imageRef": image, "flavorRef": NANO}}


async def _creator(url: str, token: str, image: str, made: list[str]) -> None:
    """Create one server at a time until refused (Nova's 403, nothing else)."""
    async with httpx.AsyncClient(timeout=60.0, headers={"X-Auth-Token": token}) as client:
        while True:
            response = await client.post(f"{url}/servers", json=_server(image))
            if response.status_code == 403:
                assert response.json()["forbidden"]["message"].startswith(REFUSED), \
                    response.text
                return
            assert response.status_code == 202, response.text
            made.append(response.json()["server"]["id"])


async def _deleter(url: str, token: str, ids: list[str]) -> None:
    async with httpx.AsyncClient(timeout=60.0, headers={"X-Auth-Token": token}) as client:
        while ids:
            server_id = ids.pop()
            response = await client.delete(f"{url}/servers/{server_id}")
            assert response.status_code == 204, response.text


def _used(member: ApiSession) -> int:
    response = member.compute("GET", "/limits")
    assert response.status_code == 200, response.text
    return int(response.json()["limits"]["absolute"]["totalInstancesUsed"])


def _round(member: ApiSession, image: str, creators: int) -> tuple[int, float]:
    """Fill the quota with ``creators`` clients, then delete everything; (admitted,
    seconds of the fill)."""
    made: list[str] = []
    url, token = member.compute_url, member.token

    async def fill() -> None:
        await asyncio.gather(*(_creator(url, token, image, made) for _ in range(creators)))

    async def empty() -> None:
        ids = list(made)
        await asyncio.gather(*(_deleter(url, token, ids) for _ in range(CREATORS)))

    started = time.perf_counter()
    asyncio.run(fill())
    seconds = time.perf_counter() - started
    admitted = len(made)
    assert admitted == len(set(made))
    assert _used(member) == admitted
    asyncio.run(empty())
    deadline = time.monotonic() + 120
    while _used(member):
        assert time.monotonic() < deadline, "servers not deleted"
        time.sleep(0.05)
    return admitted, seconds


def test_s6_concurrent_creators(benchmark: Any, project: tuple[str, ApiSession]) -> None:
    state, member = project
    image = member.compute("GET", "/images").json()["images"][0]["id"]
    _admitted, one_client = _round(member, image, 1)
    admitted: list[int] = []
    fills: list[float] = []

    def one_round() -> None:
        count, seconds = _round(member, image, CREATORS)
        admitted.append(count)
        fills.append(seconds)

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)
    worst = max(abs(count - QUOTA) for count in admitted)
    record_goal(f"s6-admissions-{state}", worst)
    assert admitted == [QUOTA] * ROUNDS, admitted
    ratio = one_client / min(fills)
    benchmark.extra_info.update(state=state, admitted=admitted,
                                fill_seconds=[round(s, 3) for s in fills],
                                one_client_seconds=round(one_client, 3),
                                ratio_to_reference=round(ratio, 2))
    RATIOS[benchmark.name] = (ratio, "one client filling the quota (higher is better)")
    record_figure(f"S6 ({state}): {CREATORS} creators admitted {admitted} of quota {QUOTA}; "
                  f"fill {min(fills) * 1000:.0f} ms (one client: {one_client * 1000:.0f} ms)")


@pytest.fixture(scope="module")
def quotas() -> Iterator[QuotaService]:
    """A quota service over 40 live servers of the project (and 400 of others)."""
    db = Database("sqlite://")
    rows = [{"uuid": f"{i:08d}-0000-0000-0000-000000000000", "display_name": "s",
             "hostname": "s", "project_id": "p1" if i < 40 else f"p{i % 7 + 2}",
             "user_id": "u1", "flavor_id": NANO, "vcpus": 1, "memory_mb": 128,
             "vm_state": "active",
             "created_at": datetime.now(UTC)}
            for i in range(440)]
    with db.session() as s:
        s.add_all([Instance(**row) for row in rows])
    yield QuotaService(db, {"instances": QUOTA, "cores": 2 * QUOTA, "ram": QUOTA * 1024})
    db.close()


def test_s6_quota_check(benchmark: Any, quotas: QuotaService) -> None:
    db = quotas.db

    def check() -> int:
        with db.session() as s:
            return quotas.check_instances(s, "p1", "u1", 1, 128, 1, 1)

    def select_one() -> None:
        with db.session() as s:
            s.execute(text("SELECT 1"))

    assert check() == 1
    reference = reference_median(select_one, rounds=500)
    benchmark.pedantic(check, rounds=2000, iterations=1, warmup_rounds=50)
    record_ratio(benchmark, reference, "SELECT 1 in a session (a database round trip)")
    project = Scope({"instances": 50, "cores": 100, "ram": 51200},
                    {"instances": 40, "cores": 40, "ram": 5120})
    arithmetic = reference_median(lambda: instances_allowed(1, 128, 1, 1, project, None),
                                  rounds=2000)
    median = benchmark.stats.stats.median
    record_goal("s6-check", median)
    benchmark.extra_info.update(arithmetic_seconds=arithmetic, select_one_seconds=reference)
    record_figure(f"S6 quota check in process: {median * 1e6:.0f} us with the counts from "
                  f"SQLite ({reference * 1e6:.0f} us for SELECT 1); Nova's arithmetic alone "
                  f"{arithmetic * 1e6:.2f} us")


def test_s6_limits_read_your_writes(benchmark: Any,
                                    project: tuple[str, ApiSession]) -> None:
    _state, member = project
    image = member.compute("GET", "/images").json()["images"][0]["id"]
    stale = 0
    for expected in range(1, 11):
        assert member.compute("POST", "/servers", json=_server(image)).status_code == 202
        stale += _used(member) != expected
    record_goal("s6-fresh", stale)
    assert stale == 0

    def limits() -> None:
        assert member.compute("GET", "/limits").status_code == 200

    versions = member.compute_root + "/"
    reference = reference_median(lambda: member.request("GET", versions, token=None))
    benchmark.pedantic(limits, rounds=200, iterations=1, warmup_rounds=10)
    record_ratio(benchmark, reference, "GET /compute/ (versions document)")
    for server in member.compute("GET", "/servers").json()["servers"]:
        member.compute("DELETE", f"/servers/{server['id']}")
