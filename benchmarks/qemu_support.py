"""Helpers of the QEMU benchmarks: an emulator on the qemu backend, the same guest started
by hand (the in-run reference), pollers, host CPU of processes, percentiles.

The bare guest runs the backend's own command line: the ``argv.json`` the backend wrote
for a server of the same flavor, moved to the bare guest's directory, on a qcow2 overlay
made as the backend makes it (same backing file and size), outside the timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import tomli_w

from backends.qemu.instance_dir import BOOT_RECORD
from backends.qemu.process import QEMU_BINARY, InstancePaths, QemuProcess
from backends.qemu.qmp import Monitor
from conformance.client import ApiSession
from conformance.conftest import seeded_accounts
from conformance.process import UNLIMITED_QUOTAS, EmulatorProcess
from emulator.qemu import GUEST_IMAGE_ID

T = TypeVar("T")

#: How often a console is read, through the API (os-getConsoleOutput) and from the bare
#: guest's serial log file alike.
CONSOLE_POLL = 0.025
#: How often a server's status is read (GET /servers/{id}) while waiting for a state.
STATUS_POLL = 0.01
BANNER = "GUEST-BANNER"
READY = "GUEST-READY"
#: m1.nano: 128 MiB (the free guest's minimum), 1 vCPU, 1 GiB root disk.
FLAVOR = "42"
def emulator_config(run_dir: Path, hosts: int = 1) -> str:
    """Room for the density runs: 2 cores x 16 = 32 one-vCPU guests (on ``hosts``
    compute hosts sharing the machine)."""
    return tomli_w.dumps({"compute": {"backend": "qemu"},
                          "qemu": {"run_dir": str(run_dir), "cpu_allocation_ratio": 16.0,
                                   "hosts": hosts},
                          "quota": dict(UNLIMITED_QUOTAS)})


_PR_SET_PDEATHSIG = 1


def require_qemu() -> None:
    if shutil.which(QEMU_BINARY) is None or shutil.which("qemu-img") is None:
        pytest.skip(f"{QEMU_BINARY} and qemu-img are not installed (see .ci/run)")


def short_run_dir() -> Path:
    """A fresh short directory under /tmp (UNIX socket paths are limited to 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="nb-", dir="/tmp"))


# --- figures ----------------------------------------------------------------------------------


def p50(samples: list[float]) -> float:
    return float(statistics.median(samples))


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return float(samples[0])
    return float(statistics.quantiles(samples, n=20, method="inclusive")[18])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def summary(samples: list[float]) -> str:
    return f"p50 {ms(p50(samples))}, p95 {ms(p95(samples))} (n={len(samples)})"


# --- processes on this host -------------------------------------------------------------------


def qemus_under(root: Path) -> dict[int, str]:
    """pid -> ``-name`` of the qemu-system processes whose command line mentions ``root``."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if argv and "qemu-system" in argv[0] and any(str(root) in part for part in argv):
            name = argv[argv.index("-name") + 1] if "-name" in argv[:-1] else ""
            found[int(entry.name)] = name
    return found


def kill_qemus_under(root: Path) -> list[int]:
    """SIGKILL whatever qemu still runs from ``root`` (a failed run); the pids killed."""
    leftovers = list(qemus_under(root))
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while qemus_under(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    return leftovers


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of ``pids`` so far (a pid that is gone counts 0)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def host_busy_seconds() -> float:
    """CPU-seconds this machine has been busy (all cores; /proc/stat, idle and iowait out)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuWindow:
    """CPU-seconds spent between ``start()`` and ``stop()``: by the host as a whole, by
    this (client) process, and by the ``pids`` watched."""

    pids: list[int] = field(default_factory=list)
    host: float = 0.0
    client: float = 0.0
    watched: float = 0.0
    wall: float = 0.0

    def start(self) -> CpuWindow:
        self.host, self.client = host_busy_seconds(), time.process_time()
        self.watched, self.wall = cpu_seconds(self.pids), time.perf_counter()
        return self

    def stop(self) -> CpuWindow:
        self.host = host_busy_seconds() - self.host
        self.client = time.process_time() - self.client
        self.watched = cpu_seconds(self.pids) - self.watched
        self.wall = time.perf_counter() - self.wall
        return self


def cpu_used(pids: list[int], seconds: float) -> float:
    """Cores used by ``pids`` over ``seconds`` of wall time (1.0 = one whole core)."""
    before, started = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pids) - before) / (time.monotonic() - started)


def _die_with_parent() -> None:  # between fork and exec: no stray guest if pytest dies
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


# --- the bare guest ---------------------------------------------------------------------------


async def exec_qemu(argv: list[str], paths: InstancePaths, name: str) -> QemuProcess:
    """Exec ``argv`` (its output to ``paths``' log; it dies with this process) and connect
    its QMP monitor at ``paths``."""
    with paths.log_file.open("ab") as out:
        child = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out,
            stderr=asyncio.subprocess.STDOUT, preexec_fn=_die_with_parent,
            start_new_session=True)
    monitor = Monitor(paths.qmp_sock, name)
    await monitor.connect(10.0, gone=lambda: child.returncode is not None)
    return QemuProcess(name, paths, child.pid, monitor, child)


@dataclass
class BareBoot:
    """Seconds from exec of qemu-system: QMP ``running``, console banner, console ready;
    ``uptime`` is the guest's own uptime printed in its ready line."""

    running: float
    banner: float
    ready: float | None
    uptime: float | None
    #: CPU-seconds of the qemu process when the banner was seen; the window exec -> banner
    qemu_cpu: float = 0.0
    window: CpuWindow | None = None


def ready_uptime(console: str) -> float | None:
    found = re.search(r"GUEST-READY .*uptime=([0-9.]+)", console)
    return float(found.group(1)) if found else None


@dataclass
class BareGuest:
    """The free guest run with the backend's command line, without the emulator. Its
    coroutines run on ``runner``'s loop (a QMP monitor belongs to one loop)."""

    runner: asyncio.Runner
    run_dir: Path
    name: str = "bare"
    process: QemuProcess | None = None
    argv: list[str] = field(default_factory=list)
    #: the overlay's backing file, its format and the overlay's size (the backend's)
    backing: tuple[str, str, int] | None = None

    @property
    def paths(self) -> InstancePaths:
        return InstancePaths(self.run_dir / self.name)

    def copy_command_line(self, argv: list[str], instance_dir: Path) -> None:
        """Run what the backend ran for a server (its ``argv.json``), in this guest's own
        directory under this guest's name."""
        name = instance_dir.name
        self.argv = [arg.replace(str(instance_dir), str(self.paths.root)).replace(
            name, self.name) for arg in argv]
        disk = InstancePaths(instance_dir).disk
        info = json.loads(subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", str(disk)], check=True,
            capture_output=True, text=True).stdout)
        self.backing = (str(info["full-backing-filename"]), str(info["backing-filename-format"]),
                        int(info["virtual-size"]))

    def boot(self, until: str | None = READY, timeout: float = 120.0,
             interval: float = CONSOLE_POLL) -> BareBoot:
        """Start (a fresh overlay first, untimed) and wait for QMP ``running``, then
        (``until`` not None) the banner and ``until`` on the serial log, read every
        ``interval`` seconds."""
        self.stop()
        shutil.rmtree(self.paths.root, ignore_errors=True)
        self.paths.root.mkdir(parents=True)
        assert self.argv and self.backing, "copy_command_line first"
        base, fmt, size = self.backing
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", fmt,
                        str(self.paths.disk), str(size)], check=True)
        return self.runner.run(self._boot(until, timeout, interval))

    async def _boot(self, until: str | None, timeout: float, interval: float) -> BareBoot:
        paths = self.paths
        window = CpuWindow().start()
        started = time.perf_counter()
        self.process = await exec_qemu(self.argv, paths, self.name)
        monitor, pid = self.process.monitor, self.process.pid
        while await monitor.status() != "running":
            await asyncio.sleep(0.01)
        running = time.perf_counter() - started
        if until is None:
            return BareBoot(running, 0.0, None, None)
        banner = ready = None
        qemu_cpu = 0.0
        text = ""
        while ready is None:
            if time.perf_counter() - started > timeout:
                raise AssertionError(f"bare guest: no {until} within {timeout} s: {text!r}")
            with contextlib.suppress(OSError):
                text = paths.console_log.read_text(errors="replace")
            now = time.perf_counter() - started
            if banner is None and BANNER in text:
                banner = now
                qemu_cpu = cpu_seconds([pid])
                window.stop()
            if until in text:
                ready = now
                if banner is None:
                    banner, qemu_cpu = now, cpu_seconds([pid])
                    window.stop()
                break
            await asyncio.sleep(interval)
        assert banner is not None
        return BareBoot(running, banner, ready if until == READY else None,
                        ready_uptime(text), qemu_cpu, window)

    def stop_cont(self) -> tuple[float, float]:
        """Seconds of QMP ``stop`` -> STOP event and ``cont`` -> RESUME event."""
        return self.runner.run(self._stop_cont())

    async def _stop_cont(self) -> tuple[float, float]:
        assert self.process is not None
        monitor = self.process.monitor
        started = time.perf_counter()
        await monitor.execute_and_wait("stop", None, "STOP", 10.0)
        stopped = time.perf_counter()
        await monitor.execute_and_wait("cont", None, "RESUME", 10.0)
        return stopped - started, time.perf_counter() - stopped

    def query_status(self) -> float:
        """Seconds of one QMP ``query-status`` round trip."""
        return self.runner.run(self._query_status())

    async def _query_status(self) -> float:
        assert self.process is not None
        started = time.perf_counter()
        await self.process.monitor.status()
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.process is not None:
            process, self.process = self.process, None
            self.runner.run(process.stop())


@contextlib.contextmanager
def bare_guest(name: str = "bare") -> Iterator[BareGuest]:
    """A ``BareGuest`` in a run directory of its own; always stopped and removed."""
    require_qemu()
    root = short_run_dir()
    with asyncio.Runner() as runner:
        guest = BareGuest(runner, root, name)
        try:
            yield guest
        finally:
            with contextlib.suppress(Exception):
                guest.stop()
            leftovers = kill_qemus_under(root)
            shutil.rmtree(root, ignore_errors=True)
            assert not leftovers, f"bare qemu processes left running: {leftovers}"


# --- the emulator on the qemu backend ---------------------------------------------------------


def _utc(stamp: str) -> float:
    return datetime.fromisoformat(stamp.removesuffix("Z")).replace(tzinfo=UTC).timestamp()


def poll(what: str, probe: Callable[[], T | None], timeout: float, interval: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(interval)


@dataclass
class Created:
    """A server created through the API: its id, and when the POST was sent (wall clock,
    to compare with the backend's file times; and perf_counter) and answered."""

    server_id: str
    wall: float
    started: float
    answered: float
    request_id: str = ""


class QemuCloud:
    """An emulator process on the qemu backend (its own short run directory) and the
    member's session; ``close`` deletes every server it made, waits until their QEMUs
    are gone, stops the emulator and fails on any qemu left behind."""

    def __init__(self, http: httpx.Client, hosts: int = 1) -> None:
        require_qemu()
        self.run_dir = short_run_dir()
        self.emulator = EmulatorProcess(config=emulator_config(self.run_dir, hosts))
        self.emulator.start(timeout=300.0)
        self.http = http
        self.member = ApiSession(seeded_accounts(self.emulator.url)["member"], http)
        self.servers: list[str] = []
        #: seconds of each os-getConsoleOutput request made
        self.console_times: list[float] = []
        self._count = 0

    @property
    def emulator_pid(self) -> int:
        assert self.emulator.proc is not None
        return self.emulator.proc.pid

    def create(self, name: str | None = None) -> Created:
        self._count += 1
        body = {"server": {"name": name or f"bench-{self._count}",
                           "imageRef": GUEST_IMAGE_ID, "flavorRef": FLAVOR}}
        wall, started = time.time(), time.perf_counter()
        response = self.member.compute("POST", "/servers", json=body)
        answered = time.perf_counter()
        assert response.status_code == 202, response.text
        server_id = str(response.json()["server"]["id"])
        self.servers.append(server_id)
        return Created(server_id, wall, started, answered,
                       response.headers.get("x-openstack-request-id", ""))

    def status(self, server_id: str) -> str:
        response = self.member.compute("GET", f"/servers/{server_id}")
        assert response.status_code == 200, response.text
        server = response.json()["server"]
        assert server["status"] != "ERROR", server.get("fault")
        return str(server["status"])

    def wait_status(self, server_id: str, wanted: str, timeout: float = 120.0) -> float:
        """perf_counter when GET first shows ``wanted`` (polled every STATUS_POLL)."""
        return poll(f"{server_id} {wanted}",
                    lambda: time.perf_counter() if self.status(server_id) == wanted else None,
                    timeout, STATUS_POLL)

    def console(self, server_id: str) -> str | None:
        """The console log, or None while the server has none yet (404/409 during BUILD)."""
        started = time.perf_counter()
        response = self.member.compute("POST", f"/servers/{server_id}/action",
                                       json={"os-getConsoleOutput": {}})
        self.console_times.append(time.perf_counter() - started)
        if response.status_code in (404, 409):
            return None
        assert response.status_code == 200, response.text
        return str(response.json()["output"])

    def wait_console(self, server_id: str, marker: str, timeout: float = 120.0,
                     interval: float = CONSOLE_POLL) -> tuple[float, str]:
        """(perf_counter, output) when the console output first holds ``marker``."""
        def probe() -> tuple[float, str] | None:
            text = self.console(server_id)
            return (time.perf_counter(), text) if text and marker in text else None
        return poll(f"{server_id} console {marker}", probe, timeout, interval)

    def action(self, server_id: str, body: dict[str, Any]) -> str:
        """POST the action (202); its request id."""
        response = self.member.compute("POST", f"/servers/{server_id}/action", json=body)
        assert response.status_code == 202, response.text
        return str(response.headers.get("x-openstack-request-id", ""))

    def event_times(self, server_id: str, request_id: str) -> tuple[float, float] | None:
        """(start, finish) wall-clock times of the compute event of the instance action
        ``request_id`` (what the backend verb took, as the emulator recorded it)."""
        response = self.member.compute(
            "GET", f"/servers/{server_id}/os-instance-actions/{request_id}", version="2.51")
        if response.status_code != 200:
            return None
        for event in reversed(response.json()["instanceAction"].get("events") or []):
            if event.get("start_time") and event.get("finish_time"):
                return _utc(event["start_time"]), _utc(event["finish_time"])
        return None

    def file_time(self, server_id: str, name: str) -> float | None:
        """mtime (wall clock) of a file of the instance directory, if it is there."""
        with contextlib.suppress(OSError):
            return (self.run_dir / server_id / name).stat().st_mtime
        return None

    def exec_time(self, server_id: str) -> float | None:
        """When the backend wrote argv.json: right before it exec'd qemu-system."""
        return self.file_time(server_id, InstancePaths(self.run_dir / server_id).argv_file.name)

    def disk_time(self, server_id: str) -> float | None:
        """When the backend wrote boot.json: right after its qcow2 overlay was made."""
        return self.file_time(server_id, BOOT_RECORD)

    def argv(self, server_id: str) -> list[str]:
        path = InstancePaths(self.run_dir / server_id).argv_file
        return [str(arg) for arg in json.loads(path.read_text())]

    def delete(self, server_id: str, timeout: float = 60.0) -> None:
        """DELETE, then wait until GET answers 404 and its QEMU is gone."""
        response = self.member.compute("DELETE", f"/servers/{server_id}")
        assert response.status_code in (204, 404), response.text

        def gone() -> bool:
            got = self.member.compute("GET", f"/servers/{server_id}")
            return got.status_code == 404 and server_id not in qemus_under(
                self.run_dir).values()

        poll(f"{server_id} deleted", gone, timeout, 0.05)
        with contextlib.suppress(ValueError):
            self.servers.remove(server_id)

    def guest_pids(self) -> dict[int, str]:
        return qemus_under(self.run_dir)

    def close(self) -> None:
        try:
            for server_id in list(self.servers):
                with contextlib.suppress(Exception):
                    self.delete(server_id)
        finally:
            self.emulator.stop()  # guests outlive an emulator stop: delete them first
            leftovers = kill_qemus_under(self.run_dir)
            shutil.rmtree(self.run_dir, ignore_errors=True)
            assert not leftovers, f"qemu processes left running: {leftovers}"
