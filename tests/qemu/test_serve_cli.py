"""The issue's walk-through on ``nova-emulator serve`` with the qemu backend, driven by the
real ``openstack`` CLI: create --wait, console log with the guest's banner and hostname,
then every action, each checked on the hypervisor: QMP ``query-status`` on the instance's
observer monitor, the process table, the files of its instance directory."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backends.qemu.qmp import Monitor
from conformance import bios_image
from conformance.cli import openstack_json, run_openstack
from conformance.client import Account, ApiSession
from conformance.conftest import seeded_accounts
from emulator.qemu import GUEST_IMAGE_NAME
from tests.qemu.conftest import ServedQemu

pytestmark = pytest.mark.qemu

TIMEOUT = 120.0


def qmp_status(run_dir: Path, server_id: str) -> str | None:
    """``query-status`` on the instance's observer monitor; None when no QEMU runs."""
    sock = run_dir / server_id / "qmp-obs.sock"
    if not sock.exists():
        return None

    async def ask() -> str:
        monitor = Monitor(sock, "observer")
        async with monitor.session(timeout=5.0):
            return await monitor.status()
    return asyncio.run(ask())


def argv(run_dir: Path, server_id: str) -> list[str]:
    return list(json.loads((run_dir / server_id / "argv.json").read_text()))


def memory_mb(run_dir: Path, server_id: str) -> int:
    args = argv(run_dir, server_id)
    return int(args[args.index("-m") + 1])


class Walk:
    """One member's view of the served emulator: the CLI, the API, and the hypervisor."""

    def __init__(self, served: ServedQemu, http: httpx.Client) -> None:
        self.served = served
        self.account: Account = seeded_accounts(served.url)["member"]
        self.api = ApiSession(self.account, http)

    def cli(self, *args: str) -> str:
        done = run_openstack(self.account, *args, timeout=TIMEOUT + 60)
        assert done.returncode == 0, f"openstack {' '.join(args)}: {done.stderr}"
        return done.stdout

    def server(self, server_id: str) -> dict[str, Any]:
        got = self.api.compute("GET", f"/servers/{server_id}")
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()["server"]
        return body

    def wait(self, server_id: str, status: str) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            body = self.server(server_id)
            if body["status"] == status and body["OS-EXT-STS:task_state"] is None:
                return body
            assert body["status"] != "ERROR", body.get("fault")
            if time.monotonic() > deadline:
                pytest.fail(f"{server_id} not {status} within {TIMEOUT} s: {body['status']}")
            time.sleep(0.2)

    def console_until(self, server_id: str, text: str, count: int = 1) -> str:
        deadline = time.monotonic() + TIMEOUT
        while True:
            got = self.api.compute("POST", f"/servers/{server_id}/action",
                                   json={"os-getConsoleOutput": {}})
            assert got.status_code == 200, got.text
            output = str(got.json()["output"])
            if output.count(text) >= count:
                return output
            if time.monotonic() > deadline:
                pytest.fail(f"{count} x {text!r} not on the console of {server_id}")
            time.sleep(0.3)

    def qemus(self, server_id: str) -> list[int]:
        return [pid for pid in self.served.qemus()
                if server_id in " ".join(Path(f"/proc/{pid}/cmdline").read_text()
                                         .split("\0"))]


@pytest.fixture(scope="module")
def walk(qemu_emulator: ServedQemu) -> Iterator[Walk]:
    with httpx.Client(timeout=60.0) as http:
        yield Walk(qemu_emulator, http)


def _until(what: str, probe: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def test_every_action_on_a_real_guest(walk: Walk) -> None:
    run_dir = walk.served.run_dir
    created = json.loads(walk.cli("server", "create", "--image", GUEST_IMAGE_NAME,
                                  "--flavor", "m1.tiny", "--wait", "-f", "json", "walk-1"))
    sid = created["id"]
    snapshot_server: str | None = None
    try:
        assert created["status"] == "ACTIVE"
        assert qmp_status(run_dir, sid) == "running" and len(walk.qemus(sid)) == 1
        hostname = walk.server(sid)["name"]
        walk.console_until(sid, f"GUEST-READY hostname={hostname}")
        log = walk.cli("console", "log", "show", sid)
        assert "GUEST-BANNER nova-emulator guest" in log
        assert f"GUEST-READY hostname={hostname}" in log

        walk.cli("server", "stop", sid)
        walk.wait(sid, "SHUTOFF")
        assert qmp_status(run_dir, sid) in ("shutdown", None)  # ACPI off (or QEMU stopped)
        assert "GUEST-SHUTDOWN" in walk.console_until(sid, "GUEST-SHUTDOWN")
        walk.cli("server", "start", sid)
        walk.wait(sid, "ACTIVE")
        assert qmp_status(run_dir, sid) == "running"

        walk.cli("server", "pause", sid)
        walk.wait(sid, "PAUSED")
        assert qmp_status(run_dir, sid) == "paused"
        walk.cli("server", "unpause", sid)
        walk.wait(sid, "ACTIVE")
        assert qmp_status(run_dir, sid) == "running"

        walk.console_until(sid, "GUEST-READY", 2)  # acpid is up again before suspend
        walk.cli("server", "suspend", sid)
        walk.wait(sid, "SUSPENDED")
        assert walk.qemus(sid) == [] and (run_dir / sid / "suspend.state").exists()
        walk.cli("server", "resume", sid)
        walk.wait(sid, "ACTIVE")
        assert qmp_status(run_dir, sid) == "running"
        assert not (run_dir / sid / "suspend.state").exists()

        walk.cli("server", "reboot", "--wait", sid)
        walk.wait(sid, "ACTIVE")
        walk.console_until(sid, "GUEST-READY", 3)
        walk.cli("server", "reboot", "--hard", "--wait", sid)
        walk.wait(sid, "ACTIVE")
        walk.console_until(sid, "GUEST-READY", 4)
        assert qmp_status(run_dir, sid) == "running"

        before = memory_mb(run_dir, sid)
        walk.cli("server", "resize", "--flavor", "m1.small", "--wait", sid)
        walk.wait(sid, "VERIFY_RESIZE")
        assert memory_mb(run_dir, sid) == 2048 != before
        assert qmp_status(run_dir, sid) == "running"
        walk.cli("server", "resize", "revert", sid)
        walk.wait(sid, "ACTIVE")
        assert memory_mb(run_dir, sid) == before
        assert walk.server(sid)["flavor"]["id"] == "1"  # m1.tiny again
        walk.cli("server", "resize", "--flavor", "m1.small", "--wait", sid)
        walk.wait(sid, "VERIFY_RESIZE")
        walk.cli("server", "resize", "confirm", sid)
        walk.wait(sid, "ACTIVE")
        assert memory_mb(run_dir, sid) == 2048
        assert not (run_dir / sid / "disk.pre-resize.qcow2").exists()

        # (that the disk is a new one is checked in test_backend_verbs, with a marker)
        walk.cli("server", "rebuild", "--image", GUEST_IMAGE_NAME, "--wait", sid)
        walk.wait(sid, "ACTIVE")
        walk.console_until(sid, "GUEST-READY", 6)
        assert qmp_status(run_dir, sid) == "running"

        walk.cli("server", "rescue", sid)
        walk.wait(sid, "RESCUE")
        assert "virtio-blk-pci,drive=data,id=datadisk,bus=pcie.0" in argv(run_dir, sid)
        assert qmp_status(run_dir, sid) == "running"
        walk.cli("server", "unrescue", sid)
        walk.wait(sid, "ACTIVE")
        assert "datadisk" not in " ".join(argv(run_dir, sid))

        walk.console_until(sid, "GUEST-READY", 7)
        image = json.loads(walk.cli("server", "image", "create", "--name", "walk-snap",
                                    "--wait", "-f", "json", sid))
        assert qmp_status(run_dir, sid) == "running"  # a live snapshot
        shown = openstack_json(walk.account, "image", "show", image["id"])
        assert shown["status"] == "active" and shown["disk_format"] == "qcow2"
        # NOTE: Nova gives a snapshot min_disk = the server's root disk (m1.small's 20 GB)
        booted = json.loads(walk.cli("server", "create", "--image", image["id"], "--flavor",
                                     "m1.small", "--wait", "-f", "json", "walk-from-snap"))
        snapshot_server = booted["id"]
        walk.console_until(snapshot_server, "GUEST-READY hostname=walk-from-snap")
        walk.cli("server", "delete", "--wait", snapshot_server)
        snapshot_server = None
        walk.cli("image", "delete", image["id"])

        walk.cli("server", "shelve", "--wait", sid)
        walk.wait(sid, "SHELVED_OFFLOADED")
        assert walk.qemus(sid) == [] and not (run_dir / sid).exists()
        walk.cli("server", "unshelve", "--wait", sid)
        walk.wait(sid, "ACTIVE")
        assert qmp_status(run_dir, sid) == "running"
        walk.console_until(sid, f"GUEST-READY hostname={hostname}")
    finally:
        for server_id in (snapshot_server, sid):
            if server_id is not None:
                run_openstack(walk.account, "server", "delete", "--wait", server_id,
                              timeout=TIMEOUT)
    assert walk.qemus(sid) == [] and not (run_dir / sid).exists()
    _until("no instance directory left", lambda: not any(
        p.is_dir() and not p.name.startswith(".") for p in run_dir.iterdir()))
    shelved = run_dir / ".shelved"
    assert not shelved.exists() or not any(shelved.iterdir())


def test_change_password_needs_a_guest_agent(walk: Walk) -> None:
    """Nova's libvirt sets a password through the QEMU guest agent, which these guests do
    not run: ``changePassword`` is a 409 at once (Nova makes that call synchronously)."""
    image = bios_image.upload(walk.api)  # SeaBIOS boots its one sector: cheap
    created = walk.api.compute("POST", "/servers", json={"server": {
        "name": "no-agent", "imageRef": image, "flavorRef": "1"}})
    assert created.status_code == 202, created.text
    sid = created.json()["server"]["id"]
    try:
        walk.wait(sid, "ACTIVE")
        refused = walk.api.compute("POST", f"/servers/{sid}/action",
                                   json={"changePassword": {"adminPass": "s3cret"}})
        assert refused.status_code == 409, refused.text
        assert refused.json() == {"conflictingRequest": {
            "code": 409, "message": "QEMU guest agent is not enabled"}}
        body = walk.server(sid)
        assert (body["status"], body["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    finally:
        walk.api.compute("DELETE", f"/servers/{sid}")
        _until("deleted", lambda: walk.api.compute("GET", f"/servers/{sid}").status_code == 404)
        walk.api.request("DELETE", f"{walk.api.endpoint('image')}/v2/images/{image}")
