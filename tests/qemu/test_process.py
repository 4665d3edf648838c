"""The QEMU backend's lower layers against real qemu-system-x86_64 processes.

No guest is booted: the processes start with ``-S`` (status ``prelaunch``), and after
``cont`` SeaBIOS finds nothing to boot, which is enough for the monitor, the events and
the process life cycle. Each test runs one scenario in one event loop (a QMP client
belongs to the loop it connected in); each scenario kills what it started, and the
``run_dir`` fixture kills and reaps whatever is left.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from backends.base import BackendError, InstanceExists, PowerState, SpawnFailed
from backends.qemu import states
from backends.qemu.process import (
    InstancePaths,
    MachineConfig,
    ProcessError,
    ProcessManager,
    QemuProcess,
    build_argv,
    qemu_alive,
    read_pid,
)
from backends.qemu.qmp import (
    CommandFailed,
    Monitor,
    MonitorConnectError,
    MonitorDisconnected,
    MonitorTimeout,
)

pytestmark = pytest.mark.qemu

T = TypeVar("T")


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await scenario()
    return asyncio.run(main())


def bare(name: str, **changes: object) -> MachineConfig:
    """A machine with nothing to boot, held before its first instruction."""
    fields: dict[str, object] = {"start_paused": True, "network": False, "vnc": False,
                                 "hotplug_ports": 0, "memory_mb": 32}
    fields.update(changes)
    return MachineConfig(name, **fields)  # type: ignore[arg-type]


@asynccontextmanager
async def started(manager: ProcessManager, config: MachineConfig) -> AsyncIterator[QemuProcess]:
    process = await manager.start(config)
    try:
        yield process
    finally:
        await process.kill()


# --- the command line (no process) ------------------------------------------------------

def test_argv_kernel_boot_with_disk_net_and_vnc() -> None:
    paths = InstancePaths(Path("/tmp/ne/vm1"))
    config = MachineConfig("vm1", memory_mb=128, vcpus=2, kernel=Path("/g/vmlinux"),
                           initrd=Path("/g/initramfs.cpio.gz"), append="console=ttyS0",
                           base_image=Path("/g/base.qcow2"), hostfwd=(40080, 80))
    argv = build_argv(config, paths)
    joined = " ".join(argv)
    assert argv[0] == "qemu-system-x86_64"
    assert argv[argv.index("-accel") + 1] == "tcg"
    assert argv[argv.index("-m") + 1] == "128" and argv[argv.index("-smp") + 1] == "2"
    assert argv[argv.index("-kernel") + 1] == "/g/vmlinux"
    assert argv[argv.index("-initrd") + 1] == "/g/initramfs.cpio.gz"
    assert argv[argv.index("-append") + 1] == "console=ttyS0"
    assert "filename=/tmp/ne/vm1/disk.qcow2" in joined
    assert "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40080-:80" in argv
    assert "-vnc" in argv and "unix:/tmp/ne/vm1/vnc.sock" in argv
    assert "unix:/tmp/ne/vm1/qmp.sock,server=on,wait=off" in argv
    assert "file:/tmp/ne/vm1/console.log" in argv
    assert "pcie-root-port,id=rp2,chassis=2,bus=pcie.0" in argv
    assert "-no-shutdown" in argv and "-S" not in argv and "-incoming" not in argv


def test_argv_disk_only_bios_boot_and_options() -> None:
    paths = InstancePaths(Path("/tmp/ne/vm2"))
    argv = build_argv(MachineConfig("vm2", base_image=Path("/g/base.qcow2"), network=False,
                                    vnc=False, hotplug_ports=0, start_paused=True,
                                    incoming=True, accel="kvm"), paths)
    assert "-kernel" not in argv and "-netdev" not in argv and "-vnc" not in argv
    assert not any(arg.startswith("pcie-root-port") for arg in argv)
    assert "-S" in argv and argv[argv.index("-incoming") + 1] == "defer"
    assert argv[argv.index("-accel") + 1] == "kvm"
    assert any("bootindex=0" in arg for arg in argv)


def test_socket_path_limit(tmp_path: Path) -> None:
    manager = ProcessManager(tmp_path / ("x" * 100))
    with pytest.raises(ProcessError, match="longer than 107 bytes"):
        manager.paths("vm")


def test_states_table() -> None:
    assert states.power_state("running") == PowerState.RUNNING
    assert states.power_state("prelaunch") == PowerState.PAUSED
    assert states.power_state("postmigrate") == PowerState.PAUSED
    assert states.power_state("shutdown") == PowerState.SHUTDOWN
    assert states.power_state("suspended") == PowerState.SUSPENDED
    assert states.power_state("guest-panicked") == PowerState.CRASHED
    assert states.power_state("internal-error") == PowerState.CRASHED
    assert states.power_state("no-such-state") == PowerState.NOSTATE
    assert states.after_event("STOP") == PowerState.PAUSED
    assert states.after_event("RESUME") == PowerState.RUNNING
    assert states.after_event("SHUTDOWN") == PowerState.SHUTDOWN
    assert states.after_event("GUEST_PANICKED") == PowerState.CRASHED
    assert states.after_event("RESET") is None
    assert states.after_event("DEVICE_DELETED") is None


# --- real processes ---------------------------------------------------------------------

def test_states_table_covers_qemus_schema(run_dir: Path) -> None:
    """Every RunState of this QEMU is in the table; every event named there exists."""
    async def scenario() -> tuple[set[str], set[str]]:
        async with started(ProcessManager(run_dir, die_with_parent=True), bare("schema")) as p:
            schema = await p.monitor.execute("query-qmp-schema")
        assert isinstance(schema, list)
        run_states: set[str] = set()
        events: set[str] = set()
        for entity in schema:
            if entity["meta-type"] == "event":
                events.add(entity["name"])
            if entity["meta-type"] == "enum" and {"prelaunch", "postmigrate"} <= set(
                    entity["values"]):
                run_states = set(entity["values"])
        return run_states, events
    run_states, events = run(scenario)
    assert run_states and run_states <= set(states.RUN_STATES)
    assert set(states.EVENTS) <= events


def test_start_status_files_and_quit(run_dir: Path) -> None:
    manager = ProcessManager(run_dir, die_with_parent=True)

    async def scenario() -> None:
        t0 = time.monotonic()
        process = await manager.start(bare("vm1", vnc=True))
        try:
            connected = time.monotonic() - t0
            assert connected < 5.0
            paths = process.paths
            assert paths.pid_file.read_text().strip() == str(process.pid)
            assert json.loads(paths.argv_file.read_text())[0] == "qemu-system-x86_64"
            assert paths.console_log.exists() and paths.qmp_sock.exists()
            assert process.is_alive() and not process.adopted
            assert manager.names() == ["vm1"] and manager.running_pid("vm1") == process.pid
            assert await process.monitor.status() == "prelaunch"
            vnc = await process.monitor.query("query-vnc")
            assert vnc["service"] == str(paths.vnc_sock)
            assert await process.stop() == "quit"
            assert process.returncode == 0 and not process.is_alive()
            assert not paths.pid_file.exists() and not paths.qmp_sock.exists()
            assert paths.console_log.exists()  # kept: the console log outlives the process
            assert manager.running_pid("vm1") is None and manager.names() == []
        finally:
            await process.kill()
    run(scenario)
    manager.remove("vm1")
    assert not (run_dir / "vm1").exists()


def test_cont_stop_events_and_status(run_dir: Path) -> None:
    async def scenario() -> None:
        async with started(ProcessManager(run_dir, die_with_parent=True), bare("ev")) as p:
            mon = p.monitor
            resumed = await mon.execute_and_wait("cont", None, "RESUME", 5.0)
            assert resumed.name == "RESUME" and resumed.timestamp > 0
            assert await mon.status() == "running"
            with mon.listen("STOP") as stops:
                t0 = time.monotonic()
                assert await mon.execute("stop") == {}
                stopped = await stops.wait(5.0)
                assert time.monotonic() - t0 < 1.0
            assert states.after_event(stopped.name) == PowerState.PAUSED
            assert states.power_state(await mon.status()) == PowerState.PAUSED
            with mon.listen(["STOP", "RESUME"]) as seen:
                await mon.execute("cont")
                await mon.execute("stop")
                assert [(await seen.wait(5.0)).name for _ in range(2)] == ["RESUME", "STOP"]
                assert seen.pending() == []
                with pytest.raises(MonitorTimeout, match="no RESUME, STOP event"):
                    await seen.wait(0.05)
            reset = await mon.execute_and_wait(
                "system_reset", None, "RESET", 5.0, where=lambda e: "reason" in e.data)
            assert reset.data["reason"] == "host-qmp-system-reset"
    run(scenario)


def test_command_errors_carry_qemus_message(run_dir: Path) -> None:
    async def scenario() -> None:
        async with started(ProcessManager(run_dir, die_with_parent=True), bare("err")) as p:
            with pytest.raises(CommandFailed) as unknown:
                await p.monitor.execute("no-such-command")
            assert isinstance(unknown.value, BackendError)
            assert str(unknown.value) == "The command no-such-command has not been found"
            assert unknown.value.error_class == "CommandNotFound"
            assert unknown.value.command == "no-such-command"
            with pytest.raises(CommandFailed, match="node-name='nope'"):
                await p.monitor.execute("blockdev-del", {"node-name": "nope"})
            with pytest.raises(CommandFailed, match="does not support hotplugging"):
                await p.monitor.execute("device_add", {"driver": "virtio-blk-pci",
                                                       "id": "v1", "bus": "pcie.0"})
            # the connection survives a refused command
            assert await p.monitor.status() == "prelaunch"
    run(scenario)


def test_sigkill_is_detected_and_the_socket_error_mapped(run_dir: Path) -> None:
    timings: dict[str, float] = {}

    async def scenario() -> None:
        async with started(ProcessManager(run_dir, die_with_parent=True), bare("k")) as p:
            await p.monitor.execute("cont")
            with p.monitor.listen("SHUTDOWN") as waiter:
                os.kill(p.pid, signal.SIGKILL)
                t0 = time.monotonic()
                while p.is_alive():
                    assert time.monotonic() - t0 < 1.0, "liveness still true after 1 s"
                    await asyncio.sleep(0.005)
                timings["liveness"] = time.monotonic() - t0
                with pytest.raises(MonitorDisconnected):
                    await waiter.wait(2.0)
            assert not p.monitor.connected  # the monitor noticed the hang-up by itself
            with pytest.raises(MonitorDisconnected):
                await p.monitor.execute("query-status")
            assert await p.wait(2.0) and p.returncode == -signal.SIGKILL
            assert await p.stop() == "gone"
    run(scenario)
    assert timings["liveness"] < 1.0


def test_vanished_socket_is_a_backend_error(run_dir: Path) -> None:
    async def scenario() -> None:
        monitor = Monitor(run_dir / "nobody.sock")
        t0 = time.monotonic()
        with pytest.raises(MonitorConnectError) as missing:
            await monitor.connect(0.2)
        assert 0.15 < time.monotonic() - t0 < 2.0
        assert isinstance(missing.value, BackendError)
        with pytest.raises(MonitorDisconnected, match="not connected"):
            await monitor.execute("query-status")
        await monitor.disconnect()  # harmless when never connected
        # a socket whose process is gone: the file stays, nothing listens
        process = await ProcessManager(run_dir, die_with_parent=True).start(bare("gone"))
        sock = process.paths.qmp_sock
        await process.monitor.disconnect()
        os.kill(process.pid, signal.SIGKILL)
        await process.wait(5.0)
        assert sock.exists()
        with pytest.raises(MonitorConnectError):
            await Monitor(sock).connect(0.1)
        await process.kill()
    run(scenario)


def test_spawn_failure_reports_qemus_message(run_dir: Path) -> None:
    manager = ProcessManager(run_dir, die_with_parent=True)

    async def scenario() -> None:
        with pytest.raises(SpawnFailed, match="-no-such-option: invalid option"):
            await manager.start(bare("bad", extra_args=("-no-such-option",)))
    run(scenario)
    assert manager.running_pid("bad") is None


def test_second_start_is_instance_exists(run_dir: Path) -> None:
    manager = ProcessManager(run_dir, die_with_parent=True)

    async def scenario() -> None:
        async with started(manager, bare("twice")):
            with pytest.raises(InstanceExists):
                await manager.start(bare("twice"))
    run(scenario)


def test_stop_escalates_to_sigterm_and_sigkill(run_dir: Path) -> None:
    manager = ProcessManager(run_dir, die_with_parent=True)

    async def scenario() -> None:
        async with started(manager, bare("term")) as p:
            await p.monitor.disconnect()  # no monitor: quit cannot be sent
            assert await p.stop(term_timeout=5.0) == "sigterm"
            assert not p.is_alive() and p.returncode == 0  # QEMU exits cleanly on SIGTERM
        async with started(manager, bare("hung")) as p:
            os.kill(p.pid, signal.SIGSTOP)  # answers nothing, ignores SIGTERM
            t0 = time.monotonic()
            assert await p.stop(quit_timeout=0.3, term_timeout=0.3) == "sigkill"
            assert time.monotonic() - t0 < 5.0
            assert p.returncode == -signal.SIGKILL and not p.is_alive()
    run(scenario)


def test_adoption_by_a_fresh_manager(run_dir: Path) -> None:
    async def scenario() -> None:
        first = ProcessManager(run_dir, die_with_parent=True)
        original = await first.start(bare("kept"))
        try:
            await original.monitor.execute("cont")
            # while the first emulator still holds the monitor, a second cannot get in
            fresh = ProcessManager(run_dir, connect_timeout=0.5)
            with pytest.raises(MonitorConnectError, match="no greeting"):
                await fresh.adopt("kept")
            await original.monitor.disconnect()  # the first emulator "exits"

            t0 = time.monotonic()
            adopted = await fresh.adopt("kept")
            assert adopted is not None and time.monotonic() - t0 < 1.0
            assert adopted.adopted and adopted.pid == original.pid
            assert await adopted.monitor.status() == "running"
            await adopted.monitor.execute_and_wait("stop", None, "STOP", 5.0)
            assert await adopted.monitor.status() == "paused"
            assert await adopted.stop() == "quit"
            assert not adopted.is_alive() and not adopted.paths.pid_file.exists()
            assert await original.wait(5.0) and original.returncode == 0  # reaped
            assert await fresh.adopt("kept") is None
        finally:
            await original.kill()
    run(scenario)


def test_adoption_of_a_qemu_whose_pid_file_was_never_written(run_dir: Path) -> None:
    """An emulator killed between starting QEMU and writing its pid file: the next one
    still finds that QEMU (by its monitor socket on its command line) and can stop it."""
    async def scenario() -> None:
        first = ProcessManager(run_dir, die_with_parent=True)
        original = await first.start(bare("orphan"))
        try:
            await original.monitor.disconnect()
            original.paths.pid_file.unlink()  # as if the kill came before it was written
            fresh = ProcessManager(run_dir)
            adopted = await fresh.adopt("orphan")
            assert adopted is not None and adopted.pid == original.pid
            assert read_pid(adopted.paths.pid_file) == original.pid
            assert await adopted.stop() == "quit"
            assert await original.wait(5.0)
            assert await fresh.adopt("orphan") is None
        finally:
            await original.kill()
    run(scenario)


#: Runs in a child session that is a subreaper, so a QEMU orphaned by the "emulator" that
#: started it is reparented to, and reaped by, this script rather than by pid 1.
_RESTART = r"""
import asyncio, ctypes, json, os, subprocess, sys, time
from backends.qemu.process import MachineConfig, ProcessManager, qemu_alive
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
run_dir, result = sys.argv[1], {}
STARTER = ("import asyncio, os, sys; from backends.qemu.process import MachineConfig, "
           "ProcessManager; m = ProcessManager(sys.argv[1], die_with_parent=sys.argv[3] == '1');"
           "asyncio.run(m.start(MachineConfig(sys.argv[2], start_paused=True, network=False,"
           " vnc=False, hotplug_ports=0, memory_mb=32))); os._exit(0)")
for name, dies in (("kept", "0"), ("dies", "1")):
    subprocess.run([sys.executable, "-c", STARTER, run_dir, name, dies], check=True)
manager = ProcessManager(run_dir)
paths = manager.paths("dies")
pid = int(paths.pid_file.read_text())
deadline = time.monotonic() + 3
while qemu_alive(pid, paths.qmp_sock) and time.monotonic() < deadline:
    time.sleep(0.01)
result["died_with_parent"] = not qemu_alive(pid, paths.qmp_sock)
async def adopt():
    process = await manager.adopt("kept")
    assert process is not None
    result["status"] = await process.monitor.status()
    result["stop"] = await process.stop()
    return process.pid
kept = asyncio.run(adopt())
for orphan in (pid, kept):  # reparented to us: reap them
    try:
        os.waitpid(orphan, 0)
    except ChildProcessError:
        pass
result["names_left"] = manager.names()
print(json.dumps(result))
"""


def test_a_vm_outlives_its_emulator_unless_told_to_die_with_it(run_dir: Path) -> None:
    """An "emulator" process starts two VMs and exits without stopping them: the one
    started with ``die_with_parent`` is gone, the other is adopted by a fresh manager."""
    out = subprocess.run([sys.executable, "-c", _RESTART, str(run_dir)], check=True,
                         capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert json.loads(out) == {"died_with_parent": True, "status": "prelaunch",
                               "stop": "quit", "names_left": ["dies"]}


def test_adopt_ignores_dead_and_foreign_pids(run_dir: Path) -> None:
    manager = ProcessManager(run_dir)
    paths = manager.paths("stale")
    paths.root.mkdir()
    paths.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not a QEMU
    paths.qmp_sock.touch()
    assert not qemu_alive(os.getpid(), paths.qmp_sock)
    assert run(lambda: manager.adopt("stale")) is None
    assert not paths.pid_file.exists() and not paths.qmp_sock.exists()
    assert run(lambda: manager.adopt("never-started")) is None


def test_root_disk_overlay_on_a_base_image(run_dir: Path) -> None:
    base = run_dir / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "16M"], check=True)
    manager = ProcessManager(run_dir, die_with_parent=True)

    async def scenario() -> list[object]:
        async with started(manager, bare("disk", base_image=base, disk_size_mb=32)) as p:
            blocks = await p.monitor.execute("query-named-block-nodes")
        assert isinstance(blocks, list)
        return blocks

    nodes = run(scenario)
    assert any(isinstance(n, dict) and n.get("node-name") == "root" for n in nodes)
    info = json.loads(subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(run_dir / "disk" / "disk.qcow2")],
        check=True, capture_output=True, text=True).stdout)
    assert info["backing-filename"] == str(base)
    assert info["virtual-size"] == 32 * 1024 * 1024
