"""The QEMU host's inventory (this machine's, or configured) is what the scheduler places
against: a server that does not fit is Nova's "No valid host was found."; the host's
figures are this machine's by default."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import httpx
import pytest

from backends.qemu.backend import QemuBackend
from backends.qemu.inventory import meminfo_mb
from conformance.process import EmulatorProcess
from tests.qemu.conftest import qemu_config
from tests.qemu.served import Cloud, poll

pytestmark = pytest.mark.qemu


def test_default_inventory_is_this_machine_minus_reserved(run_dir: Path) -> None:
    [host] = QemuBackend(run_dir, reserved_host_memory_mb=512).hosts()
    assert host.name == socket.gethostname()
    assert host.vcpus == os.cpu_count()
    assert host.memory_mb == meminfo_mb() - 512
    assert host.local_gb == shutil.disk_usage(run_dir).total // 2**30
    [sized] = QemuBackend(run_dir, vcpus=3, memory_mb=4096, local_gb=50,
                          reserved_host_memory_mb=1024, ram_allocation_ratio=1.5).hosts()
    assert (sized.vcpus, sized.memory_mb, sized.local_gb) == (3, 3072, 50)
    assert sized.ram_allocation_ratio == 1.5


def test_a_server_that_does_not_fit_is_no_valid_host(run_dir: Path) -> None:
    # 1024 MiB left for guests: two m1.tiny (512 each) fit, a third does not; m1.small
    # (2048) never does.
    emulator = EmulatorProcess(config=qemu_config(
        run_dir, memory_mb=1536, reserved_host_memory_mb=512, boot_grace=0.5,
        shutdown_timeout=5.0))
    made: list[str] = []
    try:
        emulator.start(timeout=300.0)
        with httpx.Client(timeout=60.0) as http:
            cloud = Cloud(emulator.url, http)
            image = cloud.bios_image()  # one sector that SeaBIOS boots: cheap
            too_big = cloud.create_server("too-big", image, flavor="2")
            made.append(too_big)
            failed = cloud.wait_status(too_big, "ERROR")
            assert failed["fault"]["code"] == 500
            assert "No valid host was found" in failed["fault"]["message"]
            for name in ("fits-1", "fits-2"):
                made.append(cloud.create_server(name, image))
                cloud.wait_status(made[-1], "ACTIVE")
            full = cloud.create_server("full", image)
            made.append(full)
            assert "No valid host was found" in \
                cloud.wait_status(full, "ERROR")["fault"]["message"]
            for server_id in made:
                cloud.delete_server(server_id)
            made.clear()
    finally:
        if made:
            emulator.stop()  # close_run_dir kills what is left and fails the test
        emulator.stop()
        shutil.rmtree(emulator.workdir, ignore_errors=True)


def test_resize_on_one_host_follows_allow_resize_to_same_host(run_dir: Path) -> None:
    """Unset, a one-host QEMU cloud resizes in place (tests/qemu/test_serve_cli.py); set to
    false, as Nova's default, the scheduler has no other host: NoValidHost, and the server
    stays as it was."""
    config = qemu_config(run_dir, boot_grace=0.5, shutdown_timeout=5.0).replace(
        'backend = "qemu"', 'backend = "qemu"\nallow_resize_to_same_host = false')
    emulator = EmulatorProcess(config=config)
    try:
        emulator.start(timeout=300.0)
        with httpx.Client(timeout=60.0) as http:
            cloud = Cloud(emulator.url, http)
            server_id = cloud.create_server("stay", cloud.bios_image())
            cloud.wait_status(server_id, "ACTIVE")
            resize = cloud.member.compute("POST", f"/servers/{server_id}/action",
                                          json={"resize": {"flavorRef": "2"}})
            assert resize.status_code == 202, resize.text
            request_id = resize.headers["x-openstack-request-id"]

            def failed() -> bool:
                action = cloud.admin.compute(
                    "GET", f"/servers/{server_id}/os-instance-actions/{request_id}")
                events = action.json()["instanceAction"]["events"]
                return any(e["result"] == "Error" for e in events)
            poll("the resize fails", failed, 60.0)
            body = cloud.server(server_id)
            assert body is not None
            assert (body["status"], body["flavor"]["original_name"]) == ("ACTIVE", "m1.tiny")
            cloud.delete_server(server_id)
    finally:
        emulator.stop()
        shutil.rmtree(emulator.workdir, ignore_errors=True)


def test_two_hosts_place_servers_on_both_and_resize_across(run_dir: Path) -> None:
    """``[qemu] hosts = 2``: two compute hosts sharing the machine, each server in its
    host's run directory; a resize (Nova's default: to another host) moves the server's
    directory to the other host, and its confirm drops the source's."""
    emulator = EmulatorProcess(config=qemu_config(run_dir, hosts=2, boot_grace=0.5,
                                                  shutdown_timeout=2.0))
    made: list[str] = []
    try:
        emulator.start(timeout=300.0)
        with httpx.Client(timeout=60.0) as http:
            cloud = Cloud(emulator.url, http)

            def host_of(server_id: str) -> str:
                got = cloud.admin.compute("GET", f"/servers/{server_id}")
                return str(got.json()["server"]["OS-EXT-SRV-ATTR:host"])

            image = cloud.bios_image()  # one sector that SeaBIOS boots: cheap
            for name in ("left", "right"):
                made.append(cloud.create_server(name, image))
                cloud.wait_status(made[-1], "ACTIVE")
            hosts = [host_of(server_id) for server_id in made]
            assert sorted(hosts) == ["qemu-1", "qemu-2"]  # spread (Nova's RAM weigher)
            for host, server_id in zip(hosts, made, strict=True):
                assert (run_dir / host / server_id / "qemu.pid").exists()

            moving, source = made[0], hosts[0]
            resize = cloud.member.compute("POST", f"/servers/{moving}/action",
                                          json={"resize": {"flavorRef": "2"}})
            assert resize.status_code == 202, resize.text
            poll("VERIFY_RESIZE", lambda: (cloud.server(moving) or {}).get("status")
                 == "VERIFY_RESIZE", 60.0)
            target = host_of(moving)
            assert target != source
            assert (run_dir / target / moving / "qemu.pid").exists()
            assert (run_dir / source / moving).exists()  # kept until the confirm
            confirm = cloud.member.compute("POST", f"/servers/{moving}/action",
                                           json={"confirmResize": None})
            assert confirm.status_code == 204, confirm.text
            poll("ACTIVE", lambda: (cloud.server(moving) or {}).get("status") == "ACTIVE",
                 60.0)
            assert not (run_dir / source / moving).exists()  # the source's copy dropped
            assert (run_dir / target / moving / "qemu.pid").exists()
            for server_id in list(made):
                cloud.delete_server(server_id)
                made.remove(server_id)
    finally:
        emulator.stop()  # close_run_dir kills what is left and fails the test
        shutil.rmtree(emulator.workdir, ignore_errors=True)
