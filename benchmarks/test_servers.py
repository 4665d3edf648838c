"""Server throughput on the simulated backend, as a ratio to a bare Starlette endpoint.

Both servers run the same stack (uvicorn, one process, loopback HTTP, one client), so
the ratio shows what the emulator's API, database and lifecycle cost per request.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from benchmarks.conftest import RATIOS
from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess, free_port

SERVERS = 1000


@pytest.fixture(scope="module")
def bare_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--port", str(port),
         "--log-level", "warning"], stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                httpx.get(url, timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def requests_per_second(send: Any, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        send()
    return count / (time.perf_counter() - started)


def test_create_and_delete_1000_servers(benchmark: Any, member: ApiSession, bare_url: str,
                                        http: httpx.Client) -> None:
    """POST 1,000 servers, then DELETE them: requests/s against the bare endpoint's."""
    reference = requests_per_second(lambda: http.post(bare_url, json={}), 2 * SERVERS)
    image = member.request("GET", f"{member.endpoint('image')}/v2/images").json()["images"][0]
    body = {"server": {"name": "bench", "imageRef": image["id"], "flavorRef": "42"}}
    rates: list[float] = []

    def create_and_delete() -> None:
        started = time.perf_counter()
        ids = []
        for _ in range(SERVERS):
            response = member.compute("POST", "/servers", json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["server"]["id"])
        for server_id in ids:
            assert member.compute("DELETE", f"/servers/{server_id}").status_code == 204
        rates.append(2 * SERVERS / (time.perf_counter() - started))

    benchmark.pedantic(create_and_delete, rounds=1, iterations=1)
    ratio = rates[0] / reference
    benchmark.extra_info.update(emulator_rps=round(rates[0], 1), bare_rps=round(reference, 1),
                                ratio_to_reference=round(ratio, 3))
    RATIOS[benchmark.name] = (ratio, f"bare Starlette JSON endpoint ({reference:.0f} req/s); "
                                     f"emulator {rates[0]:.0f} req/s")
    assert 0 < ratio


MANY = 10_000
#: 100 hosts x 32 vCPUs x 4.0 allocation ratio: room for 10,000 one-vCPU servers and more.
MANY_HOSTS_CONFIG = """
[[simulated.zones]]
name = "nova"
hosts = 100
"""


@pytest.fixture(scope="module")
def crowded(http: httpx.Client) -> Iterator[ApiSession]:
    """An emulator holding 10,000 ACTIVE servers of the member's project."""
    with EmulatorProcess(config=MANY_HOSTS_CONFIG) as emulator:
        member = ApiSession(seeded_accounts(emulator.url)["member"], http)
        image = member.request("GET", f"{member.endpoint('image')}/v2/images").json()
        body = {"server": {"name": "crowd", "imageRef": image["images"][0]["id"],
                           "flavorRef": "42", "min_count": 100, "max_count": 100}}
        for _ in range(MANY // 100):
            assert member.compute("POST", "/servers", json=body).status_code == 202
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            active = member.compute("GET", "/servers", params={"status": "ACTIVE",
                                                               "limit": 1000}).json()
            if len(active["servers"]) == 1000:
                break
            time.sleep(1)
        yield member


def test_detail_page_of_1000_among_10000_servers(benchmark: Any, crowded: ApiSession,
                                                 bare_url: str, http: httpx.Client) -> None:
    """GET /servers/detail?limit=1000 with 10,000 servers in the project."""
    reference = 1 / requests_per_second(lambda: http.get(bare_url), 200)

    def page() -> None:
        response = crowded.compute("GET", "/servers/detail", params={"limit": 1000})
        assert response.status_code == 200
        assert len(response.json()["servers"]) == 1000

    benchmark.pedantic(page, rounds=5, iterations=1, warmup_rounds=1)
    ratio = benchmark.stats.stats.median / reference
    benchmark.extra_info.update(ratio_to_reference=round(ratio, 1))
    RATIOS[benchmark.name] = (ratio, "one bare Starlette JSON request (slower is higher)")
    assert ratio > 0
