"""``POST /_emulator/reset`` and ``nova-emulator reset`` on the qemu backend: every server
is deleted through the backend (no qemu process, no instance directory left), fault rules
are forgotten, and the emulator serves on as fresh."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.qemu.conftest import ServedQemu
from tests.qemu.served import Cloud

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def cloud(qemu_emulator: ServedQemu) -> Iterator[Cloud]:
    with httpx.Client(timeout=120.0) as http:
        yield Cloud(qemu_emulator.url, http)


def control(cloud: Cloud, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return cloud.admin.request(method, f"{cloud.url}/_emulator{path}", **kwargs)


def all_servers(cloud: Cloud) -> list[dict[str, object]]:
    listed = cloud.admin.compute("GET", "/servers/detail", params={"all_tenants": "1"})
    assert listed.status_code == 200, listed.text
    servers: list[dict[str, object]] = listed.json()["servers"]
    return servers


def test_reset_destroys_every_guest(qemu_emulator: ServedQemu, cloud: Cloud) -> None:
    rule = control(cloud, "POST", "/faults", json={"match": {"server_name": "^doomed"},
                                                   "build": "error"})
    assert rule.status_code == 201, rule.text
    free = cloud.create_server("free", cloud.guest_image())
    tiny = cloud.create_server("tiny", cloud.bios_image())
    doomed = cloud.create_server("doomed", cloud.guest_image())  # ERROR: never on QEMU
    for server_id in (free, tiny):
        cloud.wait_status(server_id, "ACTIVE")
    cloud.wait_status(doomed, "ERROR")
    assert len(qemu_emulator.qemus()) == 2
    assert sorted(qemu_emulator.instance_dirs()) == sorted([free, tiny])

    # A mode is the simulated clock's: refused here, and nothing is reset.
    refused = control(cloud, "POST", "/reset", json={"mode": "manual"})
    assert refused.status_code == 409, refused.text
    assert "clock" in refused.json()["conflictingRequest"]["message"]
    assert len(qemu_emulator.qemus()) == 2

    response = control(cloud, "POST", "/reset")
    assert response.status_code == 204, response.text
    assert qemu_emulator.qemus() == []
    assert qemu_emulator.instance_dirs() == []
    assert all_servers(cloud) == []
    for server_id in (free, tiny, doomed):
        assert cloud.server(server_id) is None
    assert control(cloud, "GET", "/faults").json()["rules"] == []
    assert control(cloud, "GET", "/clock").status_code == 409  # still simulated-only
    assert cloud.healthy()

    # The emulator serves on: a new server builds (and a second reset is fine).
    again = cloud.create_server("after-reset", cloud.bios_image())
    cloud.wait_status(again, "ACTIVE")
    assert qemu_emulator.instance_dirs() == [again]
    assert control(cloud, "POST", "/reset").status_code == 204
    assert qemu_emulator.qemus() == [] and qemu_emulator.instance_dirs() == []


def test_reset_during_a_build(qemu_emulator: ServedQemu, cloud: Cloud) -> None:
    """A build still in flight is cancelled, and what it started is gone too."""
    server_ids = [cloud.create_server(f"racing-{n}", cloud.guest_image()) for n in range(3)]
    response = control(cloud, "POST", "/reset")
    assert response.status_code == 204, response.text
    assert qemu_emulator.qemus() == []
    assert qemu_emulator.instance_dirs() == []
    assert all(cloud.server(s) is None for s in server_ids)
    assert cloud.healthy()


def reset_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", "reset", *args],
                          capture_output=True, text=True, timeout=300)


def test_cli_reset(qemu_emulator: ServedQemu, cloud: Cloud) -> None:
    server_id = cloud.create_server("cli", cloud.bios_image())
    cloud.wait_status(server_id, "ACTIVE")
    assert len(qemu_emulator.qemus()) == 1

    wrong = reset_cli("--url", cloud.url, "--username", "admin", "--password", "nope")
    assert wrong.returncode == 1, wrong
    assert "login as admin failed: 401" in wrong.stderr, wrong.stderr
    member = reset_cli("--url", cloud.url, "--username", "demo", "--password", "demo")
    assert member.returncode == 1 and "reset failed: 403" in member.stderr, member
    assert len(qemu_emulator.qemus()) == 1

    done = reset_cli("--url", cloud.url)  # the seeded admin
    assert done.returncode == 0, done
    assert f"nova-emulator at {cloud.url} reset" in done.stdout
    assert qemu_emulator.qemus() == []
    assert qemu_emulator.instance_dirs() == []
    assert cloud.server(server_id) is None

    unreachable = reset_cli("--url", "http://127.0.0.1:9")
    assert unreachable.returncode == 1 and "cannot reach" in unreachable.stderr, unreachable
    log = qemu_emulator.emulator.log()
    # NOTE: not "no Traceback": qemu.qmp's reader of a QEMU that hung up (quit of guests
    # destroyed at once) can leave an asyncio "_GatheringFuture exception was never
    # retrieved" (EOFError) in the log; that is the QMP adapter's, reported.
    assert "ERROR nova_emulator" not in log and "Exception in ASGI" not in log, log
