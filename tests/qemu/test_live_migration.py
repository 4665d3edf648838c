"""Live migration between two QEMU hosts of this machine, on real free guests (TCG).

Each test checks the hypervisor, not only the verb's return: which QEMU runs (the source
process gone, the destination's ``query-status``), where the instance's files are, and the
guest itself: one ``GUEST-BANNER`` on its console (it never booted again) and the kernel's
own clock, read from the timestamp of an NMI's message (``trigger_crash_dump``), going on
from before the migration. Abort and force-complete need a migration that lasts: those
tests lower ``MAX_BANDWIDTH`` (the backend raises it to 10 GiB/s).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from backends.base import (
    BackendError,
    InstanceSpec,
    MigrationAborted,
    MigrationProgress,
    NoLiveMigration,
    PowerState,
)
from backends.qemu import migration
from backends.qemu.backend import QemuBackend
from backends.qemu.guest import GuestImage
from backends.qemu.migration import LiveMigrationFailed
from tests.qemu.test_backend import backend, console_count, is_qemu, pid_of, poll, run, spec
from tests.qemu.test_backend_verbs import guest, mark, marked

pytestmark = pytest.mark.qemu

__all__ = ["guest"]  # the module's fixture, shared

H1, H2 = "qemu-1", "qemu-2"
#: bytes/s of a migration that lasts seconds (a 128 MiB guest sends ~65-70 MB).
SLOW = 8 * 2**20


def two_hosts(run_dir: Path, guest: GuestImage) -> QemuBackend:
    return backend(run_dir, guest, hosts=2)


def on(host: str, instance: InstanceSpec) -> InstanceSpec:
    return dataclasses.replace(instance, host=host)


async def guest_clock(qemu: QemuBackend, instance: InstanceSpec, nmis: int) -> float:
    """The guest kernel's uptime now: an NMI makes it print a line stamped with it."""
    await qemu.trigger_crash_dump(instance)
    await console_count(qemu, instance, "NMI received", nmis)
    stamps = re.findall(r"\[\s*([0-9.]+)\] Uhhuh\. NMI received",
                        await qemu.get_console_output(instance))
    return float(stamps[-1])


async def status(qemu: QemuBackend, instance: InstanceSpec) -> str:
    process = qemu.instances[instance.uuid].process
    assert process is not None
    return await process.monitor.status()


class Progress(list[MigrationProgress]):
    """A progress listener that keeps what it was told."""

    def __call__(self, progress: MigrationProgress) -> None:
        self.append(progress)


Scenario = Callable[[QemuBackend, InstanceSpec, InstanceSpec], Awaitable[None]]


def on_two_hosts(run_dir: Path, guest: GuestImage, name: str, scenario: Scenario) -> None:
    """``scenario(backend, vm, moved)`` with ``vm`` booted on host 1 (``moved``: the same
    instance on host 2); the guest is destroyed wherever it ended up."""
    vm = on(H1, spec(name))

    async def main() -> None:
        qemu = two_hosts(run_dir, guest)
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")
            await scenario(qemu, vm, on(H2, vm))
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        assert os.listdir(run_dir / H1) == os.listdir(run_dir / H2) == []
    run(main)


async def under_way(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec,
                    block: bool = False) -> tuple[asyncio.Task[None], Progress]:
    """A live migration of ``vm`` to ``moved``'s host, once its memory copy has begun."""
    progress = Progress()
    moving = asyncio.create_task(qemu.live_migrate(moved, vm, progress, block))

    async def copying() -> bool:
        return bool(progress) and progress[-1].memory_processed > 0
    await poll(copying, "the memory copy under way")
    return moving, progress


def test_live_migrate_a_running_guest_and_recover_it(run_dir: Path, guest: GuestImage) -> None:
    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        before = await guest_clock(qemu, vm, 1)
        source_pid = pid_of(run_dir / H1, vm)
        uptime = (await qemu.get_diagnostics(vm)).uptime
        assert uptime is not None
        progress = Progress()
        await qemu.live_migrate(moved, vm, progress, False)

        assert not is_qemu(source_pid)
        assert not (run_dir / H1 / vm.uuid).exists()
        assert is_qemu(pid_of(run_dir / H2, vm))
        assert await status(qemu, moved) == "running"
        assert (await qemu.get_vnc_socket(moved)).startswith(str(run_dir / H2 / vm.uuid))
        # the guest went on: no second boot, its clock goes on from before
        assert await guest_clock(qemu, moved, 2) > before
        assert (await qemu.get_diagnostics(moved)).uptime >= uptime  # type: ignore[operator]
        console = await qemu.get_console_output(moved)
        assert console.count("GUEST-BANNER") == 1 and console.count("GUEST-READY") == 1
        # progress: memory only (the disk is shared), ending with nothing left
        assert progress and progress[-1].memory_total > 0
        assert progress[-1].memory_processed > 0 and progress[-1].memory_remaining == 0
        assert all(p.disk_total == 0 for p in progress)

        await qemu.close()  # the guest outlives the backend; a new one adopts it on host 2
        again = two_hosts(run_dir, guest)
        try:
            pid = pid_of(run_dir / H2, vm)
            found = await again.recover([(moved, PowerState.RUNNING)])
            assert found == {vm.uuid: PowerState.RUNNING}
            assert pid_of(run_dir / H2, vm) == pid and is_qemu(pid)
            assert await guest_clock(again, moved, 3) > before
        finally:
            await again.destroy(moved)
            await again.close()
    on_two_hosts(run_dir, guest, "live", scenario)


def test_live_migrate_a_paused_guest_and_back(run_dir: Path, guest: GuestImage) -> None:
    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        await qemu.pause(vm)
        await qemu.live_migrate(moved, vm, Progress(), False)
        assert await status(qemu, moved) == "paused"
        assert (await qemu.get_info(moved)).power_state == PowerState.PAUSED
        await qemu.unpause(moved)
        assert await status(qemu, moved) == "running"
        await qemu.live_migrate(vm, moved, Progress(), False)  # and back again
        assert await status(qemu, vm) == "running"
        assert is_qemu(pid_of(run_dir / H1, vm))
        assert not (run_dir / H2 / vm.uuid).exists()
        assert (await qemu.get_console_output(vm)).count("GUEST-BANNER") == 1
        with pytest.raises(LiveMigrationFailed, match="already"):
            await qemu.live_migrate(vm, vm, Progress(), False)
        with pytest.raises(NoLiveMigration, match="no live migration"):
            await qemu.live_migration_abort(vm)
        with pytest.raises(NoLiveMigration, match="no live migration"):
            await qemu.live_migration_force_complete(vm)
    on_two_hosts(run_dir, guest, "paused", scenario)


def test_abort_leaves_the_guest_on_the_source(run_dir: Path, guest: GuestImage,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migration, "MAX_BANDWIDTH", SLOW)

    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        source_pid = pid_of(run_dir / H1, vm)
        moving, progress = await under_way(qemu, vm, moved)
        await qemu.live_migration_abort(vm)
        with pytest.raises(MigrationAborted):
            await moving
        assert progress[-1].memory_remaining > 0  # it was cut short
        assert pid_of(run_dir / H1, vm) == source_pid and is_qemu(source_pid)
        assert await status(qemu, vm) == "running"
        assert not (run_dir / H2 / vm.uuid).exists()
        assert qemu.instances[vm.uuid].host.name == H1
        await guest_clock(qemu, vm, 1)  # the guest still answers, where it was
    on_two_hosts(run_dir, guest, "abort", scenario)


def test_a_destination_that_dies_leaves_the_guest_on_the_source(
        run_dir: Path, guest: GuestImage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migration, "MAX_BANDWIDTH", SLOW)

    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        moving, _progress = await under_way(qemu, vm, moved)
        target = pid_of(run_dir / H2, vm)
        assert target is not None and is_qemu(target)
        os.kill(target, signal.SIGKILL)
        with pytest.raises(BackendError) as failed:
            await moving
        assert not isinstance(failed.value, MigrationAborted)
        assert await status(qemu, vm) == "running"
        assert not (run_dir / H2 / vm.uuid).exists()
        await guest_clock(qemu, vm, 1)
    on_two_hosts(run_dir, guest, "fail", scenario)


def test_force_complete_switches_to_post_copy(run_dir: Path, guest: GuestImage,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migration, "MAX_BANDWIDTH", SLOW // 4)  # ~30 s for the whole copy

    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        before = await guest_clock(qemu, vm, 1)
        moving, _progress = await under_way(qemu, vm, moved)
        assert qemu.live_migration(vm.uuid).postcopy  # userfaultfd is there
        await qemu.live_migration_force_complete(vm)
        await asyncio.wait_for(moving, 10.0)  # not the ~30 s a pre-copy would take
        with pytest.raises(NoLiveMigration, match="no live migration"):
            await qemu.live_migration_abort(vm)
        assert await status(qemu, moved) == "running"
        assert await guest_clock(qemu, moved, 2) > before
    on_two_hosts(run_dir, guest, "post", scenario)


def test_block_migration_copies_the_disk_and_force_complete_pauses(
        run_dir: Path, guest: GuestImage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migration, "MAX_BANDWIDTH", SLOW * 2)

    async def scenario(qemu: QemuBackend, vm: InstanceSpec, moved: InstanceSpec) -> None:
        source_disk = run_dir / H1 / vm.uuid / "disk.qcow2"
        await qemu.soft_delete(vm)  # QEMU gone: the disk can be written here
        await mark(source_disk)
        await qemu.restore(vm)
        await console_count(qemu, vm, "GUEST-READY", 2)
        source_inode = source_disk.stat().st_ino
        moving, progress = await under_way(qemu, vm, moved, block=True)
        assert not qemu.live_migration(vm.uuid).postcopy  # not with a disk copy
        await qemu.live_migration_force_complete(vm)  # the source paused ...
        assert await status(qemu, vm) == "paused"  # (its QEMU, until the switch-over)
        await moving
        assert await status(qemu, moved) == "running"  # ... and the guest goes on
        disk = run_dir / H2 / vm.uuid / "disk.qcow2"
        assert disk.stat().st_ino != source_inode  # a copy, not the same file
        assert await marked(disk)
        assert progress[-1].disk_total > 0
        assert progress[-1].disk_processed == progress[-1].disk_total
        assert progress[-1].disk_remaining == 0
        console = await qemu.get_console_output(moved)
        assert console.count("GUEST-BANNER") == 2  # the boots before; none after
        await guest_clock(qemu, moved, 1)
    on_two_hosts(run_dir, guest, "block", scenario)
