"""Server throughput on the simulated backend, as a ratio to a bare Starlette endpoint.

Both servers run the same stack (uvicorn, one process, loopback HTTP, one client), so
the ratio shows what the emulator's API, database and lifecycle cost per request.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from benchmarks.conftest import RATIOS, member_of, record_figure
from benchmarks.goals import record_goal
from benchmarks.reference_servers import serving
from conformance.client import ApiSession
from conformance.process import NO_QUOTAS, EmulatorProcess, free_port

SERVERS = 1000


@pytest.fixture(scope="module")
def bare_url() -> Iterator[str]:
    port = free_port()
    with serving([sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--port",
                  str(port), "--log-level", "warning"], f"http://127.0.0.1:{port}/") as url:
        yield url


def requests_per_second(send: Any, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        send()
    return count / (time.perf_counter() - started)


def listed(member: ApiSession, **filters: str) -> list[dict[str, Any]]:
    """Every server of the member's project the list shows (all pages, 1,000 a page)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1000, **filters}
    while True:
        response = member.compute("GET", "/servers", params=params)
        assert response.status_code == 200, response.text
        page = response.json()["servers"]
        found += page
        if len(page) < 1000:
            return found
        params["marker"] = page[-1]["id"]


def settled(member: ApiSession, expected: int, timeout: float = 600.0) -> float:
    """Wait until no server of the project builds; then every one of the ``expected``
    must be ACTIVE (none in ERROR, none missing). Seconds waited."""
    started = time.monotonic()
    while True:
        building = member.compute("GET", "/servers", params={"status": "BUILD", "limit": 1})
        assert building.status_code == 200, building.text
        if not building.json()["servers"]:
            break
        assert time.monotonic() - started < timeout, "servers still building"
        time.sleep(0.5)
    waited = time.monotonic() - started
    errors = listed(member, status="ERROR")
    assert not errors, f"{len(errors)} servers in ERROR, e.g. {errors[0]['id']}"
    active = {s["id"] for s in listed(member, status="ACTIVE")}
    every = {s["id"] for s in listed(member)}
    assert len(active) == len(every) == expected, (len(active), len(every), expected)
    return waited


def test_create_and_delete_1000_servers(benchmark: Any, member: ApiSession, bare_url: str,
                                        http: httpx.Client) -> None:
    """POST 1,000 servers, wait (untimed) until all are ACTIVE, then DELETE them all:
    requests/s of the two timed phases against the bare endpoint's."""
    reference = requests_per_second(lambda: http.post(bare_url, json={}), 2 * SERVERS)
    image = member.request("GET", f"{member.endpoint('image')}/v2/images").json()["images"][0]
    body = {"server": {"name": "bench", "imageRef": image["id"], "flavorRef": "42"}}
    assert listed(member) == [], "the project starts empty"
    phases: dict[str, float] = {}

    def create_and_delete() -> None:
        started = time.perf_counter()
        ids = []
        for _ in range(SERVERS):
            response = member.compute("POST", "/servers", json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["server"]["id"])
        phases["create"] = time.perf_counter() - started
        assert len(set(ids)) == SERVERS
        phases["active"] = settled(member, SERVERS)
        started = time.perf_counter()
        for server_id in ids:
            response = member.compute("DELETE", f"/servers/{server_id}")
            assert response.status_code == 204, response.text
        phases["delete"] = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while left := listed(member):
            assert time.monotonic() < deadline, f"{len(left)} servers not deleted"
            time.sleep(0.5)

    benchmark.pedantic(create_and_delete, rounds=1, iterations=1)
    rate = 2 * SERVERS / (phases["create"] + phases["delete"])
    ratio = rate / reference
    benchmark.extra_info.update(emulator_rps=round(rate, 1), bare_rps=round(reference, 1),
                                ratio_to_reference=round(ratio, 3),
                                create_s=round(phases["create"], 2),
                                all_active_after_s=round(phases["active"], 2),
                                delete_s=round(phases["delete"], 2))
    RATIOS[benchmark.name] = (ratio, f"bare Starlette JSON endpoint ({reference:.0f} req/s); "
                                     f"emulator {rate:.0f} req/s")
    record_figure(f"1,000 creates in {phases['create']:.1f} s, all ACTIVE "
                  f"{phases['active']:.1f} s later, 1,000 deletes in {phases['delete']:.1f} s")
    record_goal("create-1000", phases["create"])
    record_goal("delete-1000", phases["delete"])


MANY = 10_000
#: 100 hosts x 32 vCPUs x 4.0 allocation ratio: room for 10,000 one-vCPU servers and more.
MANY_HOSTS_CONFIG = """
[[simulated.zones]]
name = "nova"
hosts = 100
""" + NO_QUOTAS


@pytest.fixture(scope="module")
def crowded(http: httpx.Client) -> Iterator[ApiSession]:
    """An emulator holding 10,000 ACTIVE servers of the member's project (all checked)."""
    with EmulatorProcess(config=MANY_HOSTS_CONFIG) as emulator:
        member = member_of(emulator, http)
        image = member.request("GET", f"{member.endpoint('image')}/v2/images").json()
        body = {"server": {"name": "crowd", "imageRef": image["images"][0]["id"],
                           "flavorRef": "42", "min_count": 100, "max_count": 100}}
        for _ in range(MANY // 100):
            response = member.compute("POST", "/servers", json=body)
            assert response.status_code == 202, response.text
            assert response.json()["server"]["id"]
        waited = settled(member, MANY)
        record_figure(f"{MANY:,} servers (100 multi-creates of 100) all ACTIVE {waited:.0f} s "
                      "after the last create")
        yield member


def test_detail_page_of_1000_among_10000_servers(benchmark: Any, crowded: ApiSession,
                                                 bare_url: str, http: httpx.Client) -> None:
    """GET /servers/detail?limit=1000 with 10,000 servers in the project."""
    reference = 1 / requests_per_second(lambda: http.get(bare_url), 200)

    def page() -> None:
        response = crowded.compute("GET", "/servers/detail", params={"limit": 1000})
        assert response.status_code == 200, response.text
        body = response.json()
        servers = body["servers"]
        assert len({s["id"] for s in servers}) == 1000
        assert all(s["status"] == "ACTIVE" for s in servers)
        assert [link["rel"] for link in body["servers_links"]] == ["next"]

    benchmark.pedantic(page, rounds=5, iterations=1, warmup_rounds=1)
    ratio = benchmark.stats.stats.median / reference
    benchmark.extra_info.update(ratio_to_reference=round(ratio, 1))
    RATIOS[benchmark.name] = (ratio, "one bare Starlette JSON request (slower is higher)")


def test_active_page_after_marker_among_10000_servers(
        benchmark: Any, crowded: ApiSession, bare_url: str, http: httpx.Client) -> None:
    """GET /servers?status=ACTIVE&limit=1000&marker=<the 5,000th> among 10,000 servers:
    what counting a project's ACTIVE servers page by page costs for each page (the
    scale benchmark's count; a page should cost its own size, not the project's)."""
    reference = 1 / requests_per_second(lambda: http.get(bare_url), 200)
    marker = ""
    for _ in range(MANY // 2000):  # the marker: the last server of the fifth page
        response = crowded.compute("GET", "/servers",
                                   params={"limit": 1000, **({"marker": marker} if marker else {})})
        assert response.status_code == 200, response.text
        marker = response.json()["servers"][-1]["id"]
    params = {"status": "ACTIVE", "limit": 1000, "marker": marker}

    def page() -> None:
        response = crowded.compute("GET", "/servers", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        servers = body["servers"]
        assert len({s["id"] for s in servers}) == 1000
        assert marker not in {s["id"] for s in servers}
        assert [link["rel"] for link in body["servers_links"]] == ["next"]

    benchmark.pedantic(page, rounds=5, iterations=1, warmup_rounds=1)
    ratio = benchmark.stats.stats.median / reference
    benchmark.extra_info.update(ratio_to_reference=round(ratio, 1))
    RATIOS[benchmark.name] = (ratio, "one bare Starlette JSON request (slower is higher)")
