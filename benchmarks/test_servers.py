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
from conformance.process import free_port

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
