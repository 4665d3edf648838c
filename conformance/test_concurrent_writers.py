"""Concurrent writers through the API (the scheduling reference's S4 and S6), each client
on its own connection, so that with API workers (the conformance-postgresql stage runs
every emulator with 2) they land on different processes:

- 32 creators in one project hammer ``POST /servers`` against an instance quota: exactly
  the quota is admitted (the rest 403), and the quota's usage says so;
- 8 writers create servers into a cloud with room for fewer: no host ever holds more than
  its inventory (placement's usage within capacity), the rest end in ERROR (NoValidHost).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import Target, dedicated_emulator, seeded_accounts

pytestmark = [pytest.mark.emulator_only,
              pytest.mark.simulated_only(reason="dozens of creates at once: simulated guests")]

QUOTA = 20
CREATORS = 32
WRITERS, ATTEMPTS = 8, 4
#: Two hosts of 4 vCPUs (no overcommit): 8 one-vCPU servers fit, 32 are asked for.
SMALL_CLOUD = """
[simulated]
vcpus = 4
memory_mb = 65536
cpu_allocation_ratio = 1.0
[[simulated.zones]]
name = "nova"
hosts = 2
[quota]
instances = -1
cores = -1
ram = -1
"""


def _in_parallel(count: int, work: Callable[[ApiSession], list[int]],
                 account: Any) -> list[int]:
    """``work`` in ``count`` threads, each with a session (and connection) of its own."""
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        with httpx.Client(timeout=120.0) as client:
            try:
                found = work(ApiSession(account, client))
            except BaseException as exc:  # reported below
                errors.append(exc)
                return
            with lock:
                results.extend(found)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[0]
    return results


def _body(session: ApiSession, name: str) -> dict[str, Any]:
    images = session.request("GET", f"{session.endpoint('image')}/v2/images").json()
    return {"server": {"name": name, "imageRef": images["images"][0]["id"],
                       "flavorRef": "1", "networks": "none"}}


def test_32_creators_are_admitted_exactly_the_quota(target: Target, http: httpx.Client) -> None:
    config = f"[quota]\ninstances = {QUOTA}\ncores = -1\nram = -1\n"
    with dedicated_emulator(target, config) as process:
        accounts = seeded_accounts(process.url)
        body = _body(ApiSession(accounts["member"], http), "quota")

        def creator(session: ApiSession) -> list[int]:
            statuses = []
            while True:
                answer = session.compute("POST", "/servers", json=body, version="2.37")
                statuses.append(answer.status_code)
                if answer.status_code != 202:
                    assert answer.status_code == 403, answer.text
                    assert "Quota exceeded for instances" in answer.text, answer.text
                    return statuses

        statuses = _in_parallel(CREATORS, creator, accounts["member"])
        assert statuses.count(202) == QUOTA, statuses.count(202)
        assert statuses.count(403) == CREATORS
        admin = ApiSession(accounts["admin"], http)
        member = ApiSession(accounts["member"], http)
        servers = member.compute("GET", "/servers").json()["servers"]
        assert len(servers) == QUOTA
        usage = admin.compute("GET", f"/os-quota-sets/{member.project_id}/detail").json()
        assert usage["quota_set"]["instances"]["in_use"] == QUOTA


def test_8_writers_never_overcommit_a_host(target: Target, http: httpx.Client) -> None:
    with dedicated_emulator(target, SMALL_CLOUD) as process:
        accounts = seeded_accounts(process.url)
        body = _body(ApiSession(accounts["member"], http), "claim")

        def writer(session: ApiSession) -> list[int]:
            statuses = []
            for _ in range(ATTEMPTS):
                answer = session.compute("POST", "/servers", json=body, version="2.37")
                assert answer.status_code == 202, answer.text
                statuses.append(answer.status_code)
            return statuses

        assert len(_in_parallel(WRITERS, writer, accounts["member"])) == WRITERS * ATTEMPTS
        admin = ApiSession(accounts["admin"], http)
        servers = _settled(admin)
        statuses = [s["status"] for s in servers]
        assert statuses.count("ACTIVE") == 8 and statuses.count("ERROR") == 24, statuses
        for server in servers:
            if server["status"] == "ERROR":
                assert "No valid host" in server["fault"]["message"], server["fault"]
        hypervisors = admin.compute("GET", "/os-hypervisors/detail", version="2.1").json()[
            "hypervisors"]
        for hypervisor in hypervisors:
            assert hypervisor["vcpus_used"] <= hypervisor["vcpus"], hypervisor
        assert sum(h["vcpus_used"] for h in hypervisors) == 8


def _settled(admin: ApiSession) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        servers: list[dict[str, Any]] = admin.compute(
            "GET", "/servers/detail?all_tenants=1").json()["servers"]
        if all(s["status"] != "BUILD" for s in servers):
            return servers
        assert time.monotonic() < deadline, [s["status"] for s in servers]
        time.sleep(0.1)
