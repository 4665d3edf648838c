"""Several QEMU hosts on one machine: each reported with its share and its run directory;
a guest lives in its host's directory and moves with a cold migration (confirm, revert)
or an evacuation; recover re-adopts guests on every host. Checked on the hypervisor: the
QEMU processes, the files of each host's directory, the disk's own bytes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from backends.base import HostUnavailable, PowerState
from backends.qemu.backend import QemuBackend, ResizeError
from backends.qemu.guest import GuestImage
from backends.qemu.instance_dir import PRE_RESIZE_DISK
from backends.qemu.inventory import HostShare, meminfo_mb
from tests.qemu.test_backend import backend, console_count, is_qemu, pid_of, run, spec
from tests.qemu.test_backend_verbs import guest, mark, marked, memory_of
from tests.qemu.test_live_migration import H1, H2, on, status

pytestmark = pytest.mark.qemu

__all__ = ["guest"]  # the module's fixture, shared


def test_hosts_share_the_machine(run_dir: Path) -> None:
    qemu = QemuBackend(run_dir, hosts=2, vcpus=4, memory_mb=8704,
                       reserved_host_memory_mb=512, local_gb=100)
    assert [(h.name, h.vcpus, h.memory_mb, h.local_gb) for h in qemu.hosts()] == [
        (H1, 2, 4096, 50), (H2, 2, 4096, 50)]
    assert sorted(p.name for p in run_dir.iterdir()) == [H1, H2]
    assert qemu.machine_hosts[H2].run_dir == run_dir / H2
    listed = QemuBackend(run_dir, hosts=[HostShare("big", vcpus=3, memory_mb=6000),
                                         HostShare("small")], vcpus=4, local_gb=10)
    big, small = listed.hosts()
    assert (big.name, big.vcpus, big.memory_mb, big.local_gb) == ("big", 3, 6000, 5)
    assert (small.vcpus, small.memory_mb) == (2, meminfo_mb() // 2)
    assert (run_dir / "small").is_dir()
    # one host: this machine, its instances right in the run directory (as always)
    [one] = QemuBackend(run_dir, hosts=1, host_name="solo").hosts()
    assert (one.name, one.vcpus) == ("solo", QemuBackend(run_dir).hosts()[0].vcpus)
    with pytest.raises(ValueError, match="QEMU hosts must name each host once"):
        QemuBackend(run_dir, hosts=[HostShare("a"), HostShare("a")])
    with pytest.raises(ValueError, match="QEMU hosts must be at least 1"):
        QemuBackend(run_dir, hosts=0)
    with pytest.raises(ValueError, match=r"QEMU host b+: socket path .* is longer than 107"):
        QemuBackend(run_dir / ("d" * 30), hosts=[HostShare("a"), HostShare("b" * 32)])


def test_cold_migration_moves_the_disk_and_revert_and_confirm(run_dir: Path,
                                                             guest: GuestImage) -> None:
    vm = on(H1, spec("cold"))
    moved = on(H2, vm)
    bigger = dataclasses.replace(moved, memory_mb=192, root_gb=2)
    source, target = run_dir / H1 / vm.uuid, run_dir / H2 / vm.uuid

    async def scenario() -> None:
        qemu = backend(run_dir, guest, hosts=2)
        try:
            await qemu.spawn(vm)
            assert is_qemu(pid_of(run_dir / H1, vm)) and not target.exists()
            await console_count(qemu, vm, "GUEST-READY")
            await qemu.soft_delete(vm)  # QEMU gone: the disk can be written here
            await mark(source / "disk.qcow2")
            await qemu.power_on(vm)
            await console_count(qemu, vm, "GUEST-READY", 2)  # (its ACPI button works)
            with pytest.raises(HostUnavailable):
                await qemu.resize(on("qemu-9", vm), vm)

            await qemu.resize(moved, vm)  # same flavor: a cold migration
            assert await status(qemu, moved) == "running"
            assert is_qemu(pid_of(run_dir / H2, vm)) and not is_qemu(pid_of(run_dir / H1, vm))
            assert await marked(target / "disk.qcow2")  # the disk came along
            assert await marked(source / "disk.qcow2")  # the source's stays until confirm
            assert not (target / PRE_RESIZE_DISK).exists()
            await console_count(qemu, moved, "GUEST-READY", 3)  # history kept, booted there
            with pytest.raises(ResizeError, match="confirm or revert first"):
                await qemu.resize(vm, moved)

            await qemu.revert_resize(vm, vm)
            assert await status(qemu, vm) == "running"
            assert is_qemu(pid_of(run_dir / H1, vm)) and not target.exists()
            assert qemu.instances[vm.uuid].host.name == H1
            # the source's console: its own history and the boot of the revert
            await console_count(qemu, vm, "GUEST-READY", 3)

            await qemu.resize(bigger, vm)  # a resize to the other host, confirmed
            assert memory_of(run_dir / H2, vm) == "192"
            await qemu.confirm_resize(bigger)
            assert not source.exists() and await marked(target / "disk.qcow2")
            assert await status(qemu, bigger) == "running"
            await console_count(qemu, vm, "GUEST-READY", 4)
            await qemu.resize(on(H1, bigger), bigger)  # and back, left to the delete
            assert source.exists() and target.exists()
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        assert not source.exists() and not target.exists()
    run(scenario)


def test_evacuate_builds_the_guest_again_on_another_host(run_dir: Path,
                                                         guest: GuestImage) -> None:
    vm, stopped = on(H1, spec("evac")), on(H1, spec("evst"))

    async def scenario() -> None:
        qemu = backend(run_dir, guest, hosts=2)
        try:
            for instance in (vm, stopped):
                await qemu.spawn(instance)
            await console_count(qemu, vm, "GUEST-READY")
            await qemu.soft_delete(vm)
            await mark(run_dir / H1 / vm.uuid / "disk.qcow2")
            await qemu.power_on(vm)
            old_pids = [pid_of(run_dir / H1, i) for i in (vm, stopped)]
            with pytest.raises(HostUnavailable):
                await qemu.evacuate(on("qemu-9", vm), vm, True)
            assert is_qemu(old_pids[0])  # nothing touched

            await qemu.evacuate(on(H2, vm), vm, True)
            assert not is_qemu(old_pids[0]) and not (run_dir / H1 / vm.uuid).exists()
            assert await status(qemu, vm) == "running"
            assert is_qemu(pid_of(run_dir / H2, vm))
            assert not await marked(run_dir / H2 / vm.uuid / "disk.qcow2")  # from the image
            await console_count(qemu, vm, "GUEST-READY")
            console = await qemu.get_console_output(vm)
            assert console.count("GUEST-BANNER") == 1  # a new console: no earlier boots

            await qemu.evacuate(on(H2, stopped), stopped, False)  # stopped after evacuation
            assert not is_qemu(old_pids[1])
            assert (await qemu.get_info(stopped)).power_state == PowerState.SHUTDOWN
            assert not is_qemu(pid_of(run_dir / H2, stopped))
            assert (run_dir / H2 / stopped.uuid / "disk.qcow2").exists()
            await qemu.power_on(on(H2, stopped))
            assert await status(qemu, stopped) == "running"
        finally:
            for instance in (vm, stopped):
                await qemu.destroy(instance)
            await qemu.close()
    run(scenario)


def test_recover_adopts_guests_on_every_host(run_dir: Path, guest: GuestImage) -> None:
    first, second, orphan = on(H1, spec("rec1")), on(H2, spec("rec2")), on(H2, spec("orph"))
    resized = on(H2, first)

    async def scenario() -> None:
        qemu = backend(run_dir, guest, hosts=2)
        for instance in (first, second, orphan):
            await qemu.spawn(instance)
        await console_count(qemu, first, "GUEST-READY")  # its ACPI button works
        await qemu.resize(resized, first)  # to host 2, not confirmed yet
        pids = {i.uuid: pid_of(run_dir / H2, i) for i in (first, second, orphan)}
        await qemu.close()  # guests keep running

        again = backend(run_dir, guest, hosts=2)
        try:
            # the database says host 1 for the second: a move it did not hear the end of
            found = await again.recover([(resized, PowerState.RUNNING),
                                         (on(H1, second), PowerState.RUNNING)])
            assert found == {first.uuid: PowerState.RUNNING, second.uuid: PowerState.RUNNING}
            for instance in (first, second):
                assert pid_of(run_dir / H2, instance) == pids[instance.uuid]
                assert is_qemu(pids[instance.uuid])
                assert again.instances[instance.uuid].host.name == H2
            assert not is_qemu(pids[orphan.uuid])  # its server is gone: reaped
            assert not (run_dir / H2 / orphan.uuid).exists()
            assert (run_dir / H1 / first.uuid).exists()  # the resize's source waits
            await again.revert_resize(first, first)
            assert is_qemu(pid_of(run_dir / H1, first))
            assert await status(again, first) == "running"
        finally:
            for instance in (first, second):
                await again.destroy(instance)
            await again.close()
        assert [list((run_dir / h).iterdir()) for h in (H1, H2)] == [[], []]
    run(scenario)
