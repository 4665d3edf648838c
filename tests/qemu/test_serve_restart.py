"""Guests outlive the emulator, as they outlive nova-compute: with a file state, a restart
re-adopts every running VM (same processes) and they stay manageable; a killed QEMU turns
its server SHUTOFF within a second and ``start`` brings it back; deleting every server
leaves no process and no disk file."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from backends.qemu.qmp import Monitor
from conformance.process import EmulatorProcess
from tests.qemu.conftest import _qemus_under, qemu_config
from tests.qemu.served import Cloud, poll

pytestmark = pytest.mark.qemu


def observed_status(run_dir: Path, server_id: str) -> str:
    async def ask() -> str:
        monitor = Monitor(run_dir / server_id / "qmp-obs.sock", "observer")
        async with monitor.session(timeout=5.0):
            return await monitor.status()
    return asyncio.run(ask())


def settled(cloud: Cloud, server_id: str, status: str, timeout: float = 120.0
            ) -> dict[str, Any]:
    """The server once it shows ``status`` with no task in flight (ERROR fails)."""
    def probe() -> dict[str, Any] | None:
        body = cloud.server(server_id)
        assert body is not None and body["status"] != "ERROR", body
        done = body["status"] == status and body["OS-EXT-STS:task_state"] is None
        return body if done else None
    return poll(f"{server_id} {status}", probe, timeout, interval=0.05)


def qemu_of(run_dir: Path, server_id: str) -> list[int]:
    return _qemus_under(run_dir / server_id)


def test_restart_keeps_vms_and_delete_leaves_nothing(run_dir: Path) -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="ne-state-"))
    emulator = EmulatorProcess(config=qemu_config(run_dir, shutdown_timeout=10.0),
                               state=f"sqlite:///{state_dir}/state.db")
    try:
        emulator.start(timeout=300.0)
        with httpx.Client(timeout=60.0) as http:
            cloud = Cloud(emulator.url, http)
            guest = cloud.guest_image()
            running, paused, saved = (cloud.create_server(name, guest)
                                      for name in ("keep-running", "keep-paused", "keep-saved"))
            for server_id in (running, paused, saved):
                settled(cloud, server_id, "ACTIVE")
            poll("saved guest ready", lambda: "GUEST-READY" in cloud.console(saved), 120.0)
            assert cloud.member.compute("POST", f"/servers/{paused}/action",
                                        json={"pause": None}).status_code == 202
            assert cloud.member.compute("POST", f"/servers/{saved}/action",
                                        json={"suspend": None}).status_code == 202
            settled(cloud, paused, "PAUSED")
            settled(cloud, saved, "SUSPENDED")
            pids = {sid: qemu_of(run_dir, sid) for sid in (running, paused)}
            assert all(len(found) == 1 for found in pids.values()), pids

            emulator.restart()  # SIGTERM; the guests go on without it

            cloud = Cloud(emulator.url, http)
            assert {sid: qemu_of(run_dir, sid) for sid in (running, paused)} == pids
            assert settled(cloud, running, "ACTIVE")["OS-EXT-STS:power_state"] == 1
            assert settled(cloud, paused, "PAUSED")["OS-EXT-STS:power_state"] == 3
            assert settled(cloud, saved, "SUSPENDED")["OS-EXT-STS:power_state"] == 7
            assert observed_status(run_dir, running) == "running"
            assert observed_status(run_dir, paused) == "paused"

            # still manageable: every kind of state answers its actions
            for server_id, action, status, qmp in ((paused, "unpause", "ACTIVE", "running"),
                                                   (saved, "resume", "ACTIVE", "running"),
                                                   (running, "pause", "PAUSED", "paused")):
                answer = cloud.member.compute("POST", f"/servers/{server_id}/action",
                                              json={action: None})
                assert answer.status_code == 202, answer.text
                settled(cloud, server_id, status)
                assert observed_status(run_dir, server_id) == qmp

            # a killed QEMU: SHUTOFF within a second, and start brings it back
            [victim] = qemu_of(run_dir, paused)
            os.kill(victim, signal.SIGKILL)
            killed = time.monotonic()
            settled(cloud, paused, "SHUTOFF", timeout=5.0)
            noticed = time.monotonic() - killed
            assert noticed <= 1.0, f"SHUTOFF after {noticed:.2f} s"
            actions = cloud.admin.compute("GET", f"/servers/{paused}/os-instance-actions")
            stop = actions.json()["instanceActions"][0]  # newest first
            assert stop["action"] == "stop", actions.text
            shown = cloud.admin.compute(
                "GET", f"/servers/{paused}/os-instance-actions/{stop['request_id']}")
            assert [(e["event"], e["result"]) for e in shown.json()["instanceAction"]
                    ["events"]] == [("compute_stop_instance", "Success")], shown.text
            assert cloud.member.compute("POST", f"/servers/{paused}/action",
                                        json={"os-start": None}).status_code == 202
            settled(cloud, paused, "ACTIVE")
            assert observed_status(run_dir, paused) == "running"
            assert qemu_of(run_dir, paused) not in ([], [victim])

            for server_id in (running, paused, saved):
                cloud.delete_server(server_id, timeout=60.0)
        assert _qemus_under(run_dir) == []
        leftovers = [p for p in run_dir.rglob("*") if p.is_file()]
        assert leftovers == [], leftovers
    finally:
        emulator.stop()
        shutil.rmtree(emulator.workdir, ignore_errors=True)
        shutil.rmtree(state_dir, ignore_errors=True)


def test_lost_monitor_fails_the_action_clearly_and_keeps_the_server(run_dir: Path) -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="ne-state-"))
    emulator = EmulatorProcess(config=qemu_config(run_dir, shutdown_timeout=10.0),
                               state=f"sqlite:///{state_dir}/state.db")
    try:
        emulator.start(timeout=300.0)
        with httpx.Client(timeout=60.0) as http:
            cloud = Cloud(emulator.url, http)
            server_id = cloud.create_server("lost-monitor", cloud.guest_image())
            settled(cloud, server_id, "ACTIVE")
            [pid] = qemu_of(run_dir, server_id)
            emulator.stop()
            (run_dir / server_id / "qmp.sock").unlink()  # the monitor's socket is gone
            emulator.start(timeout=300.0)

            cloud = Cloud(emulator.url, http)
            assert settled(cloud, server_id, "ACTIVE")["OS-EXT-STS:power_state"] == 1
            paused = cloud.member.compute("POST", f"/servers/{server_id}/action",
                                          json={"pause": None})
            assert paused.status_code == 202, paused.text
            request_id = paused.headers["x-openstack-request-id"]
            body = settled(cloud, server_id, "ACTIVE")  # the action failed, the server stays
            assert body["OS-EXT-STS:vm_state"] == "active"
            shown = cloud.admin.compute(
                "GET", f"/servers/{server_id}/os-instance-actions/{request_id}")
            [event] = shown.json()["instanceAction"]["events"]
            assert (event["event"], event["result"]) == ("compute_pause_instance", "Error")
            assert "QMP monitor" in event["traceback"] and "unreachable" in event["traceback"]
            assert qemu_of(run_dir, server_id) == [pid]  # the guest runs on

            cloud.delete_server(server_id, timeout=60.0)  # ends QEMU by its pid
            assert qemu_of(run_dir, server_id) == []
            assert not (run_dir / server_id).exists()
    finally:
        emulator.stop()
        shutil.rmtree(emulator.workdir, ignore_errors=True)
        shutil.rmtree(state_dir, ignore_errors=True)
