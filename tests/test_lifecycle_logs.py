"""What the emulator logs of its servers' lives, at info, each line with the request id of
the request that caused it: where a build went, a build that failed (NoValidHost with what
was asked, an injected fault), a backend verb that failed, a delete."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import EmulatorProcess


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorProcess]:
    with EmulatorProcess() as process:
        yield process


@pytest.fixture(scope="module")
def sessions(emulator: EmulatorProcess) -> Iterator[tuple[ApiSession, ApiSession]]:
    with httpx.Client(timeout=30.0) as http:
        accounts = seeded_accounts(emulator.url)
        yield ApiSession(accounts["member"], http), ApiSession(accounts["admin"], http)


def settled(session: ApiSession, server_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while True:
        server: dict[str, object] = session.compute(
            "GET", f"/servers/{server_id}").json()["server"]
        if server["status"] != "BUILD" and server["OS-EXT-STS:task_state"] is None:
            return server
        assert time.monotonic() < deadline, server
        time.sleep(0.05)


def create(session: ApiSession, flavor: str = "1", name: str = "logged") -> tuple[str, str]:
    image = session.compute("GET", "/images").json()["images"][0]["id"]
    response = session.compute("POST", "/servers", json={"server": {
        "name": name, "imageRef": image, "flavorRef": flavor}})
    assert response.status_code == 202, response.text
    return response.json()["server"]["id"], response.headers["x-compute-request-id"]


def lines_of(emulator: EmulatorProcess, request_id: str) -> list[str]:
    return [line for line in emulator.log().splitlines()
            if f" INFO nova_emulator.lifecycle {request_id}: " in line]


def test_a_build_logs_its_host_and_its_end(
        emulator: EmulatorProcess, sessions: tuple[ApiSession, ApiSession]) -> None:
    member, _admin = sessions
    server_id, request_id = create(member)
    settled(member, server_id)
    lines = lines_of(emulator, request_id)
    assert any(f"build of server {server_id} scheduled to host compute-" in line
               for line in lines), lines
    assert any(f"server {server_id} is ACTIVE on compute-" in line for line in lines), lines
    deleted = member.compute("DELETE", f"/servers/{server_id}")
    gone = deleted.headers["x-compute-request-id"]
    deadline = time.monotonic() + 10
    while not lines_of(emulator, gone):
        assert time.monotonic() < deadline, emulator.log()[-2000:]
        time.sleep(0.05)
    assert f"server {server_id} deleted" in lines_of(emulator, gone)[-1]


def test_no_valid_host_logs_what_was_asked(
        emulator: EmulatorProcess, sessions: tuple[ApiSession, ApiSession]) -> None:
    _member, admin = sessions
    flavor = admin.compute("POST", "/flavors", json={"flavor": {
        "name": "too-big-to-place", "ram": 64, "vcpus": 1, "disk": 10_000_000}})
    assert flavor.status_code == 200, flavor.text
    flavor_id = flavor.json()["flavor"]["id"]
    try:
        server_id, request_id = create(admin, flavor=flavor_id)
        assert settled(admin, server_id)["status"] == "ERROR"
        lines = lines_of(emulator, request_id)
        assert any(f"NoValidHost for server {server_id} (VCPU 1, MEMORY_MB 64, "
                   "DISK_GB 10000000, zone None)" in line for line in lines), lines
        assert any(f"server {server_id} is ERROR: No valid host was found." in line
                   for line in lines), lines
    finally:
        admin.compute("DELETE", f"/flavors/{flavor_id}")


def test_a_failed_build_and_a_failed_verb_log_their_fault(
        emulator: EmulatorProcess, sessions: tuple[ApiSession, ApiSession]) -> None:
    member, admin = sessions
    control = f"{emulator.url}/_emulator"
    rule = admin.request("POST", f"{control}/faults", json={
        "match": {"server_name": "^doomed"}, "build": "error", "message": "disk on fire",
        "times": 1})
    assert rule.status_code == 201, rule.text
    server_id, request_id = create(member, name="doomed")
    assert settled(member, server_id)["status"] == "ERROR"
    assert any(f"server {server_id} is ERROR: disk on fire" in line
               for line in lines_of(emulator, request_id))

    healthy, _ = create(member)
    settled(member, healthy)
    stage = admin.request("PUT", f"{control}/stages/pause", json={"fails": True})
    assert stage.status_code == 200, stage.text
    try:
        paused = member.compute("POST", f"/servers/{healthy}/action", json={"pause": None})
        assert paused.status_code == 202, paused.text
        settled(member, healthy)
        lines = lines_of(emulator, paused.headers["x-compute-request-id"])
        assert any(f"compute_pause_instance of server {healthy} failed: " in line
                   for line in lines), lines
    finally:
        admin.request("PUT", f"{control}/stages/pause", json={"fails": False})
