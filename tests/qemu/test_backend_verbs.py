"""The QEMU backend's verbs that save state or replace disks, on real free guests (TCG):
suspend/resume, snapshot, rebuild, resize (confirm, revert), rescue/unrescue,
shelve/offload/unshelve, soft delete/restore, diagnostics, re-adoption with orphans reaped,
and a lost QMP monitor. Each is checked on the hypervisor (``query-status``, the process
table, the files of the instance directory, the guest's console), not only the verb's
return."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from backends.base import InstanceSpec, PowerState, SpawnFailed
from backends.qemu.backend import QemuBackend, ResizeError
from backends.qemu.disks import image_info
from backends.qemu.guest import GuestImage, build_guest, default_cache_dir
from backends.qemu.instance_dir import PRE_RESIZE_DISK, RESCUED_DISK, SHELVED_DIR, SUSPEND_STATE
from backends.qemu.machines import MonitorUnreachable
from tests.qemu.test_backend import (
    backend,
    console_count,
    is_qemu,
    pid_of,
    run,
    run_state,
    spec,
)

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def guest() -> GuestImage:
    return build_guest(default_cache_dir())


def argv(run_dir: Path, instance: InstanceSpec) -> list[str]:
    """The command line the instance's QEMU was last started with."""
    return list(json.loads((run_dir / instance.uuid / "argv.json").read_text()))


def memory_of(run_dir: Path, instance: InstanceSpec) -> str:
    args = argv(run_dir, instance)
    return args[args.index("-m") + 1]


async def virtual_size(path: Path) -> int:
    return (await image_info(path))[1]


async def _qemu_io(*args: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        "qemu-io", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, _err = await proc.communicate()
    return 1 if b"Pattern verification failed" in out else proc.returncode or 0


async def mark(disk: Path) -> None:
    assert await _qemu_io("-f", "qcow2", "-c", "write -P 0xab 512 512", str(disk)) == 0


async def marked(disk: Path) -> bool:
    return await _qemu_io("-U", "-r", "-f", "qcow2", "-c", "read -P 0xab 512 512",
                          str(disk)) == 0


def test_suspend_resume_snapshot_and_diagnostics(run_dir: Path, guest: GuestImage) -> None:
    vm, clone = spec("susp"), spec("clone", image_id="snap")

    async def scenario() -> None:
        images: dict[str, Path] = {"free": guest.base_qcow2}
        qemu = QemuBackend(run_dir, guest, images, die_with_parent=True,
                           shutdown_timeout=30.0)
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")
            pid = pid_of(run_dir, vm)
            diagnostics = await qemu.get_diagnostics(vm)
            assert diagnostics.state == "running" and diagnostics.driver == "libvirt"
            assert diagnostics.memory_maximum == 128
            assert diagnostics.uptime is not None and diagnostics.uptime >= 0
            assert [c["id"] for c in diagnostics.cpu_details] == [0]
            assert (diagnostics.cpu_details[0]["time"] or 0) > 0
            # counters of this QEMU process: the root disk and the (forced) config drive,
            # both read by the guest at boot
            assert diagnostics.config_drive is True
            assert len(diagnostics.disk_details) == 2
            for disk in diagnostics.disk_details:
                assert (disk["read_bytes"] or 0) > 0 and (disk["read_requests"] or 0) > 0
            assert {"vda_read", "sda_read"} <= set(diagnostics.legacy)

            await qemu.suspend(vm)
            saved = run_dir / vm.uuid / SUSPEND_STATE
            assert saved.stat().st_size > 1_000_000  # the guest's memory
            assert not is_qemu(pid)  # the process is gone, as a managed save leaves it
            assert (await qemu.get_info(vm)).power_state == PowerState.SUSPENDED

            await qemu.resume(vm)
            assert await run_state(qemu, vm) == "running"
            assert is_qemu(pid_of(run_dir, vm)) and pid_of(run_dir, vm) != pid
            assert not saved.exists()
            # the same boot goes on: no second banner, the guest still answers ACPI later
            console = await qemu.get_console_output(vm)
            assert console.count("GUEST-BANNER") == 1

            data = await qemu.snapshot(vm)
            assert data[:4] == b"QFI\xfb"  # a qcow2 image
            assert await run_state(qemu, vm) == "running"  # live: the guest went on
            snap = run_dir / "snap.qcow2"
            snap.write_bytes(data)
            images["snap"] = snap
            await qemu.spawn(clone)  # the snapshot boots as a new server
            await console_count(qemu, clone, f"GUEST-READY hostname={clone.hostname}")
        finally:
            await qemu.destroy(clone)
            await qemu.destroy(vm)
            await qemu.close()
        assert not (run_dir / vm.uuid).exists() and not (run_dir / clone.uuid).exists()
    run(scenario)


def test_rebuild_resize_revert_confirm(run_dir: Path, guest: GuestImage) -> None:
    vm = spec("rsz")
    bigger = spec("rsz", memory_mb=192, root_gb=2)
    smaller = spec("rsz", root_gb=0)

    async def scenario() -> None:
        qemu = backend(run_dir, guest)
        disk = run_dir / vm.uuid / "disk.qcow2"
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")
            await qemu.soft_delete(vm)  # QEMU gone: the disk is not locked
            await mark(disk)  # in the boot sector's unused bytes: ext4 does not look there
            assert await marked(disk)
            await qemu.rebuild(vm, power_on=True)
            assert not await marked(disk)  # a new overlay on the image
            assert await run_state(qemu, vm) == "running"
            await console_count(qemu, vm, "GUEST-READY", 2)

            with pytest.raises(ResizeError, match="Unable to resize disk down"):
                await qemu.resize(smaller, vm)
            await qemu.resize(bigger, vm)
            assert memory_of(run_dir, vm) == "192"
            assert await virtual_size(disk) == 2 * 2**30
            assert (run_dir / vm.uuid / PRE_RESIZE_DISK).exists()
            assert await run_state(qemu, vm) == "running"
            await console_count(qemu, vm, "GUEST-READY", 3)

            await qemu.revert_resize(vm, vm)
            assert memory_of(run_dir, vm) == "128"
            assert await virtual_size(disk) == 1 * 2**30
            assert not (run_dir / vm.uuid / PRE_RESIZE_DISK).exists()
            assert await run_state(qemu, vm) == "running"

            await qemu.resize(bigger, vm)
            await qemu.confirm_resize(bigger)
            assert not (run_dir / vm.uuid / PRE_RESIZE_DISK).exists()
            assert memory_of(run_dir, vm) == "192"
            assert await run_state(qemu, vm) == "running"

            await qemu.power_off(bigger)
            await qemu.rebuild(bigger, power_on=False)  # a stopped server stays stopped
            assert (await qemu.get_info(bigger)).power_state == PowerState.SHUTDOWN
            assert not is_qemu(pid_of(run_dir, vm))
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        assert not (run_dir / vm.uuid).exists()
    run(scenario)


def test_rescue_shelve_soft_delete(run_dir: Path, guest: GuestImage) -> None:
    vm = spec("resc")

    async def scenario() -> None:
        qemu = backend(run_dir, guest)
        root = run_dir / vm.uuid
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")

            await qemu.rescue(vm, "secret")
            assert (root / RESCUED_DISK).exists()
            assert "virtio-blk-pci,drive=data,id=datadisk,bus=pcie.0" in argv(run_dir, vm)
            assert await run_state(qemu, vm) == "running"
            await console_count(qemu, vm, "GUEST-READY", 2)  # booted the rescue disk
            await qemu.unrescue(vm)
            assert not (root / RESCUED_DISK).exists()
            assert "datadisk" not in " ".join(argv(run_dir, vm))
            await console_count(qemu, vm, "GUEST-READY", 3)

            await qemu.soft_delete(vm)
            assert not is_qemu(pid_of(run_dir, vm))
            assert (await qemu.get_info(vm)).power_state == PowerState.SHUTDOWN
            await qemu.restore(vm)
            assert await run_state(qemu, vm) == "running"

            await qemu.shelve(vm)
            assert (await qemu.get_info(vm)).power_state == PowerState.SHUTDOWN
            await qemu.shelve_offload(vm)
            assert not root.exists()
            shelved = run_dir / SHELVED_DIR / f"{vm.uuid}.qcow2"
            assert shelved.exists()
            await qemu.unshelve(vm)
            assert await run_state(qemu, vm) == "running"
            assert not shelved.exists()
            await console_count(qemu, vm, f"GUEST-READY hostname={vm.hostname}")
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        assert not root.exists()
        assert not (run_dir / SHELVED_DIR / f"{vm.uuid}.qcow2").exists()
    run(scenario)


def test_recover_reaps_orphans_and_keeps_suspended(run_dir: Path, guest: GuestImage) -> None:
    kept, orphan, saved = spec("kept"), spec("orph"), spec("save")

    async def scenario() -> None:
        first = backend(run_dir, guest)
        for instance in (kept, orphan, saved):
            await first.spawn(instance)
        await console_count(first, saved, "GUEST-READY")
        await first.suspend(saved)
        orphan_pid = pid_of(run_dir, orphan)
        await first.close()  # guests keep running

        second = backend(run_dir, guest)
        try:
            found = await second.recover([(kept, PowerState.RUNNING),
                                          (saved, PowerState.SUSPENDED)])
            assert found == {kept.uuid: PowerState.RUNNING, saved.uuid: PowerState.SUSPENDED}
            assert not is_qemu(orphan_pid)  # its server is gone: reaped
            assert not (run_dir / orphan.uuid).exists()
            await second.resume(saved)
            assert await run_state(second, saved) == "running"
        finally:
            for instance in (kept, saved):
                await second.destroy(instance)
            await second.close()
        assert sorted(os.listdir(run_dir)) == []
    run(scenario)


def test_lost_monitor_is_a_clear_fault_and_loses_nothing(run_dir: Path,
                                                         guest: GuestImage) -> None:
    vm = spec("lost")

    async def scenario() -> None:
        first = backend(run_dir, guest)
        await first.spawn(vm)
        pid = pid_of(run_dir, vm)
        await first.close()
        # The monitor socket disappears while QEMU runs (deleted by a cleaner, say).
        (run_dir / vm.uuid / "qmp.sock").unlink()

        second = backend(run_dir, guest)
        try:
            found = await second.recover([(vm, PowerState.RUNNING)])
            assert found == {vm.uuid: PowerState.RUNNING}  # the recorded state, kept
            with pytest.raises(MonitorUnreachable, match=r"unreachable.*still runs"):
                await second.pause(vm)
            assert is_qemu(pid)  # nothing lost: the guest runs on
            assert (await second.get_info(vm)).power_state == PowerState.RUNNING
        finally:
            await second.destroy(vm)  # ends it by its pid
            await second.close()
        assert not is_qemu(pid)
        assert not (run_dir / vm.uuid).exists()
    run(scenario)


def test_snapshot_of_a_stopped_guest(run_dir: Path, guest: GuestImage) -> None:
    vm = spec("stop")

    async def scenario() -> None:
        qemu = backend(run_dir, guest)
        try:
            await qemu.spawn(vm)
            await qemu.soft_delete(vm)  # no process: qemu-img reads the disk
            data = await qemu.snapshot(vm)
            assert data[:4] == b"QFI\xfb"
            assert not any(p.name.startswith("snapshot") for p in (run_dir / vm.uuid).iterdir())
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        shutil.rmtree(run_dir / SHELVED_DIR, ignore_errors=True)
    run(scenario)


def test_images_that_refer_to_host_files_are_refused(run_dir: Path, guest: GuestImage) -> None:
    """Nova's image safety check: an image with a backing file (here: a host file) is
    unacceptable, whatever Glance was told its format is; nothing is started or left."""
    sneaky = run_dir / "sneaky.img"

    async def scenario() -> None:
        proc = await asyncio.create_subprocess_exec(
            "qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw",
            str(sneaky))
        assert await proc.wait() == 0
        qemu = QemuBackend(run_dir, guest, {"sneaky": sneaky}, die_with_parent=True)
        vm = spec("snky", image_id="sneaky")
        try:
            with pytest.raises(SpawnFailed, match=r"aborted: Image sneaky is unacceptable: "
                                                  r"it refers to other files"):
                await qemu.spawn(vm)
            assert not (run_dir / vm.uuid).exists()
        finally:
            await qemu.close()
        sneaky.unlink()
    run(scenario)


def test_rescue_boots_the_rescue_image_asked_for(run_dir: Path, guest: GuestImage) -> None:
    vm = spec("rimg")
    blank = run_dir / "blank.qcow2"

    async def backing(disk: Path) -> str:
        proc = await asyncio.create_subprocess_exec(
            "qemu-img", "info", "-U", "--output=json", str(disk),
            stdout=asyncio.subprocess.PIPE)
        out, _err = await proc.communicate()
        return str(json.loads(out)["backing-filename"])

    async def scenario() -> None:
        proc = await asyncio.create_subprocess_exec("qemu-img", "create", "-q", "-f", "qcow2",
                                                    str(blank), "64M")
        assert await proc.wait() == 0
        qemu = QemuBackend(run_dir, guest, {"free": guest.base_qcow2, "blank": blank},
                           die_with_parent=True, shutdown_timeout=1.0)
        disk = run_dir / vm.uuid / "disk.qcow2"
        try:
            await qemu.spawn(vm)
            await qemu.rescue(vm, "pw", rescue_image_id="blank")
            assert await backing(disk) == str(blank)  # the rescue disk is the one asked for
            assert await backing(run_dir / vm.uuid / RESCUED_DISK) == str(guest.base_qcow2)
            assert "-kernel" not in argv(run_dir, vm)  # a disk image: SeaBIOS boots it
            assert await run_state(qemu, vm) == "running"
            await qemu.unrescue(vm)
            assert await backing(disk) == str(guest.base_qcow2)
            assert "-kernel" in argv(run_dir, vm)
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        blank.unlink()
    run(scenario)
