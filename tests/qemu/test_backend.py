"""The QEMU backend on real guests (TCG): the free guest spawned, driven and destroyed.

Each test runs one scenario in one event loop (a QMP client belongs to the loop it
connected in) and destroys what it spawned; the ``run_dir`` fixture fails the test if a
qemu process is left. Waits poll an observable state (the console, the run state, the
listener's calls) with generous timeouts: the machine may be busy.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from backends.base import (
    HostUnavailable,
    InstanceExists,
    InstanceNotFound,
    InstanceSpec,
    NotSupported,
    PowerState,
    SpawnFailed,
)
from backends.qemu.backend import QemuBackend
from backends.qemu.guest import GuestImage, build_guest
from backends.qemu.process import read_pid

pytestmark = pytest.mark.qemu

TIMEOUT = 60.0
T = TypeVar("T")


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> GuestImage:
    return build_guest(tmp_path_factory.mktemp("guest-cache"))


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await scenario()
    return asyncio.run(main())


def spec(name: str = "vm1", *, image_id: str | None = "free", **changes: object) -> InstanceSpec:
    fields: dict[str, object] = {
        "uuid": f"0000{name:0>4}-1111-2222-3333-444455556666"[-36:],
        "name": name, "hostname": f"{name}-host", "host": socket.gethostname(),
        "project_id": "p1", "vcpus": 1, "memory_mb": 128, "root_gb": 1,
        "image_id": image_id}
    fields.update(changes)
    return InstanceSpec(**fields)  # type: ignore[arg-type]


def backend(run_dir: Path, guest: GuestImage, **options: object) -> QemuBackend:
    return QemuBackend(run_dir, guest, {"free": guest.base_qcow2}, die_with_parent=True,
                       shutdown_timeout=30.0, **options)  # type: ignore[arg-type]


async def poll(check: Callable[[], Awaitable[bool]], what: str,
               timeout: float = TIMEOUT) -> float:
    """Seconds until ``check()`` holds; fails after ``timeout``."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def console_count(qemu: QemuBackend, instance: InstanceSpec, text: str,
                        count: int = 1) -> float:
    """Seconds until ``text`` shows ``count`` times on the instance's console."""
    async def seen() -> bool:
        return (await qemu.get_console_output(instance)).count(text) >= count
    return await poll(seen, f"{count} x {text!r} on the console of {instance.name}")


def pid_of(run_dir: Path, instance: InstanceSpec) -> int | None:
    return read_pid(run_dir / instance.uuid / "qemu.pid")


def is_qemu(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return b"qemu-system" in argv0


async def run_state(qemu: QemuBackend, instance: InstanceSpec) -> str:
    process = qemu.instances[instance.uuid].process
    assert process is not None
    return await process.monitor.status()


# --- without a guest ------------------------------------------------------------------------

def test_host_is_this_machine(run_dir: Path, guest: GuestImage) -> None:
    qemu = QemuBackend(run_dir, guest, cpu_allocation_ratio=2.0, ram_allocation_ratio=1.5)
    [host] = qemu.hosts()
    assert host.name == socket.gethostname()
    assert (host.availability_zone, host.hypervisor_type) == ("nova", "QEMU")
    assert host.vcpus == os.cpu_count()
    assert host.memory_mb > 0 and host.local_gb > 0
    assert (host.cpu_allocation_ratio, host.ram_allocation_ratio) == (2.0, 1.5)


def test_unknown_instances(run_dir: Path, guest: GuestImage) -> None:
    async def scenario() -> None:
        qemu = backend(run_dir, guest)
        ghost = spec("ghost")
        await qemu.destroy(ghost)  # unknown: fine
        with pytest.raises(InstanceNotFound):
            await qemu.get_info(ghost)
        with pytest.raises(InstanceNotFound):
            await qemu.get_console_output(ghost)
        with pytest.raises(SpawnFailed, match="not available"):
            await qemu.spawn(spec("noimg", image_id="missing"))
        with pytest.raises(HostUnavailable):
            await qemu.spawn(spec("elsewhere", host="compute-999"))
        assert not any(run_dir.iterdir())
        for verb, args in [("suspend", ()), ("resume", ()), ("rebuild", (True,)),
                           ("resize", (ghost,)), ("confirm_resize", ()),
                           ("revert_resize", (ghost,)), ("snapshot", ()), ("rescue", ("pw",)),
                           ("unrescue", ()), ("shelve", ()), ("shelve_offload", ()),
                           ("soft_delete", ()), ("restore", ()), ("get_diagnostics", ()),
                           ("get_vnc_socket", ())]:
            with pytest.raises(InstanceNotFound):
                await getattr(qemu, verb)(ghost, *args)
        with pytest.raises(SpawnFailed, match="no shelved disk"):
            await qemu.unshelve(ghost)
        with pytest.raises(NotSupported):  # no guest agent
            await qemu.set_admin_password(ghost, "pw")
        assert await qemu.recover([(ghost, PowerState.RUNNING)]) == {
            ghost.uuid: PowerState.NOSTATE}
        await qemu.close()
    run(scenario)


# --- the free guest ---------------------------------------------------------------------------

def test_spawn_pause_reboot_destroy(run_dir: Path, guest: GuestImage) -> None:
    vm = spec("vm1")

    async def scenario() -> None:
        qemu = backend(run_dir, guest)
        changes: list[tuple[str, PowerState]] = []

        async def listener(uuid: str, state: PowerState) -> None:
            changes.append((uuid, state))
        qemu.set_power_listener(listener)
        try:
            start = time.monotonic()
            await qemu.spawn(vm)
            running_after = time.monotonic() - start
            assert await run_state(qemu, vm) == "running"
            assert (await qemu.get_info(vm)).power_state == PowerState.RUNNING
            assert is_qemu(pid_of(run_dir, vm))
            with pytest.raises(InstanceExists):
                await qemu.spawn(vm)
            ready = await console_count(qemu, vm, f"GUEST-READY hostname={vm.hostname}")
            print(f"spawn->running {running_after:.2f} s, "
                  f"spawn->GUEST-READY {running_after + ready:.2f} s")

            await qemu.pause(vm)
            assert await run_state(qemu, vm) == "paused"
            assert (await qemu.get_info(vm)).power_state == PowerState.PAUSED
            await qemu.unpause(vm)
            assert await run_state(qemu, vm) == "running"

            await qemu.trigger_crash_dump(vm)
            assert (await qemu.get_info(vm)).power_state == PowerState.RUNNING

            await qemu.reboot_hard(vm)
            assert await run_state(qemu, vm) == "running"
            await console_count(qemu, vm, "GUEST-READY", 2)
            assert (vm.uuid, PowerState.PAUSED) in changes
            assert changes[-1] == (vm.uuid, PowerState.RUNNING)
        finally:
            pid = pid_of(run_dir, vm)
            await qemu.destroy(vm)
            await qemu.close()
        assert not is_qemu(pid)
        assert not (run_dir / vm.uuid).exists()
        with pytest.raises(InstanceNotFound):
            await qemu.get_info(vm)
    run(scenario)


def test_power_off_power_on_and_soft_reboot(run_dir: Path, guest: GuestImage) -> None:
    vm = spec("vm2")

    async def scenario() -> None:
        qemu = backend(run_dir, guest)
        changes: list[PowerState] = []

        async def listener(_uuid: str, state: PowerState) -> None:
            changes.append(state)
        qemu.set_power_listener(listener)
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")  # acpid runs from here on
            await qemu.power_off(vm)
            assert (await qemu.get_info(vm)).power_state == PowerState.SHUTDOWN
            process = qemu.instances[vm.uuid].process
            assert process is None or await process.monitor.status() == "shutdown"
            assert "GUEST-SHUTDOWN" in await qemu.get_console_output(vm)
            assert changes[-1] == PowerState.SHUTDOWN

            await qemu.power_on(vm)
            assert await run_state(qemu, vm) == "running"
            assert (await qemu.get_info(vm)).power_state == PowerState.RUNNING
            await console_count(qemu, vm, f"GUEST-READY hostname={vm.hostname}", 2)

            await qemu.reboot_soft(vm)  # ACPI power-off, then a boot again
            assert await run_state(qemu, vm) == "running"
            await console_count(qemu, vm, "GUEST-READY", 3)
            assert (await qemu.get_console_output(vm)).count("GUEST-SHUTDOWN") == 2
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        assert not (run_dir / vm.uuid).exists()
    run(scenario)


def test_guest_power_off_and_sigkill_are_noticed(run_dir: Path, guest: GuestImage) -> None:
    """The watcher sees a guest powering itself off and a killed QEMU (within 1 s); a
    fresh backend recovers the dead one as SHUTDOWN and power_on starts it again."""
    vm = spec("vm3")

    async def first() -> None:
        qemu = backend(run_dir, guest)
        seen: asyncio.Queue[tuple[str, PowerState, float]] = asyncio.Queue()

        async def listener(uuid: str, state: PowerState) -> None:
            seen.put_nowait((uuid, state, time.monotonic()))
        qemu.set_power_listener(listener)
        try:
            await qemu.spawn(vm)
            await console_count(qemu, vm, "GUEST-READY")
            while not seen.empty():
                seen.get_nowait()
            process = qemu.instances[vm.uuid].process
            assert process is not None
            # the guest powers off on its own (its ACPI button pressed behind our back)
            await process.monitor.execute("system_powerdown")
            uuid, state, _ = await asyncio.wait_for(seen.get(), TIMEOUT)
            assert (uuid, state) == (vm.uuid, PowerState.SHUTDOWN)
            assert await process.monitor.status() == "shutdown"
            await qemu.power_on(vm)
            assert (await seen.get())[1] == PowerState.RUNNING
            await console_count(qemu, vm, "GUEST-READY", 2)

            pid = pid_of(run_dir, vm)
            assert is_qemu(pid) and pid is not None
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            uuid, state, when = await asyncio.wait_for(seen.get(), 5.0)
            print(f"SIGKILL->listener {when - killed:.3f} s")
            assert (uuid, state) == (vm.uuid, PowerState.SHUTDOWN)
            assert when - killed < 1.0
            assert (await qemu.get_info(vm)).power_state == PowerState.SHUTDOWN
            assert not is_qemu(pid)
        except BaseException:
            await qemu.destroy(vm)
            raise
        finally:
            await qemu.close()

    async def second() -> None:
        qemu = backend(run_dir, guest)
        try:
            assert await qemu.recover([(vm, PowerState.RUNNING)]) == {
                vm.uuid: PowerState.SHUTDOWN}
            assert "GUEST-READY" in await qemu.get_console_output(vm)
            await qemu.power_on(vm)  # a new QEMU on the same disk
            assert await run_state(qemu, vm) == "running"
            assert is_qemu(pid_of(run_dir, vm))
            await console_count(qemu, vm, f"GUEST-READY hostname={vm.hostname}", 3)
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        assert not (run_dir / vm.uuid).exists()

    run(first)
    run(second)


def test_recover_adopts_a_running_instance(run_dir: Path, guest: GuestImage) -> None:
    vm = spec("vm4")

    async def first() -> int:
        qemu = backend(run_dir, guest)
        await qemu.spawn(vm)
        await qemu.close()  # the guest keeps running
        pid = pid_of(run_dir, vm)
        assert pid is not None and is_qemu(pid)
        return pid

    async def second(pid: int) -> None:
        qemu = backend(run_dir, guest)
        changes: list[PowerState] = []

        async def listener(_uuid: str, state: PowerState) -> None:
            changes.append(state)
        qemu.set_power_listener(listener)
        try:
            assert await qemu.recover([(vm, PowerState.RUNNING)]) == {
                vm.uuid: PowerState.RUNNING}
            process = qemu.instances[vm.uuid].process
            assert process is not None and process.adopted and process.pid == pid
            await console_count(qemu, vm, f"GUEST-READY hostname={vm.hostname}")
            await qemu.pause(vm)
            assert (await qemu.get_info(vm)).power_state == PowerState.PAUSED
            await qemu.unpause(vm)
            assert await run_state(qemu, vm) == "running"
            assert changes[-2:] == [PowerState.PAUSED, PowerState.RUNNING]
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        assert not is_qemu(pid)
        assert not (run_dir / vm.uuid).exists()

    pid = run(first)
    try:
        run(lambda: second(pid))
    finally:
        if is_qemu(pid):
            os.kill(pid, signal.SIGKILL)


def test_other_images_boot_through_the_bios(run_dir: Path, guest: GuestImage,
                                            tmp_path: Path) -> None:
    blank = tmp_path / "blank.raw"
    blank.write_bytes(b"\0" * 2**20)  # nothing to boot: SeaBIOS keeps trying, QEMU runs
    vm = spec("bios", image_id="blank")

    async def scenario() -> None:
        qemu = QemuBackend(run_dir, guest, {"blank": blank}, die_with_parent=True)
        try:
            await qemu.spawn(vm)
            assert (await qemu.get_info(vm)).power_state == PowerState.RUNNING
            argv = (run_dir / vm.uuid / "argv.json").read_text()
            assert "-kernel" not in argv and "bootindex=0" in argv
            assert '"-m",\n "128"' in argv  # at least 128 MiB
        finally:
            await qemu.destroy(vm)
            await qemu.close()
        assert not (run_dir / vm.uuid).exists()
    run(scenario)


def test_boots_wait_for_a_boot_slot(run_dir: Path, guest: GuestImage) -> None:
    """With one boot slot, the second spawn starts QEMU only once the first guest is up."""
    one, two = spec("one"), spec("two")

    async def scenario() -> None:
        qemu = backend(run_dir, guest, boot_concurrency=1)
        tasks = {asyncio.create_task(qemu.spawn(s)): s for s in (one, two)}
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            assert len(done) == 1 and len(pending) == 1  # the other waits for the slot
            first, second = tasks[done.pop()], tasks[next(iter(pending))]
            while not all(task.done() for task in tasks):
                # read in this order: once the second runs, the first was ready before
                second_started = (run_dir / second.uuid / "qemu.pid").exists()
                first_ready = "GUEST-READY" in await qemu.get_console_output(first)
                assert first_ready or not second_started
                await asyncio.sleep(0.02)
            for task in tasks:
                task.result()
            await console_count(qemu, second, f"GUEST-READY hostname={second.hostname}")
        finally:
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(qemu.destroy(one), qemu.destroy(two))
            await qemu.close()
    run(scenario)
