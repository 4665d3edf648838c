"""qemu-system processes: one directory, one process and one QMP monitor per instance.

An instance directory (``<run_dir>/<name>/``) holds everything of one VM::

    disk.qcow2    root disk: a qcow2 overlay on the base image (kept across restarts)
    console.log   the serial console (``-serial file:``; SeaBIOS writes there too)
    sercon-port   SeaBIOS's serial console port, read through fw_cfg (BIOS boots only)
    qmp.sock      the QMP monitor;  vnc.sock  the VNC console
    qemu.pid      the process id, written once QEMU is running
    argv.json     the command line it was started with
    qemu.log      QEMU's own stdout and stderr (its error message when it will not start)

``ProcessManager.start`` builds the command line from a ``MachineConfig`` (``build_argv``:
a pure function), starts QEMU as a direct child and connects its monitor.
``ProcessManager.adopt`` finds a QEMU that outlived the emulator from its pid file and
socket. ``QemuProcess.stop`` escalates ``quit`` -> SIGTERM -> SIGKILL and always waits for
the process to be gone. Liveness is "the pid exists and its command line is our QEMU
with this directory's monitor socket", so a recycled pid is never mistaken for a VM.

Every failure is a ``BackendError`` (monitor errors come from ``backends.qemu.qmp``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backends.base import BackendError, InstanceExists, SpawnFailed
from backends.qemu.qmp import Monitor, MonitorError, MonitorTimeout

log = logging.getLogger(__name__)

QEMU_BINARY = "qemu-system-x86_64"

#: sun_path is 108 bytes with its NUL: QEMU refuses longer socket paths.
MAX_SOCKET_PATH = 107

_PR_SET_PDEATHSIG = 1

#: SeaBIOS mirrors its screen (banner, "Booting from Hard Disk...", "No bootable
#: device.") to the UART at this port when fw_cfg has ``etc/sercon-port``; our ``-serial``
#: is COM1. SeaBIOS reads the file as a little-endian integer of 1, 2, 4 or 8 bytes, so it
#: is a 2-byte file: ``-fw_cfg string=0x3f8`` (5 ASCII bytes) is silently ignored.
#: NOTE: QEMU warns that external fw_cfg names "should be prefixed with opt/"; SeaBIOS
#: reads this one name only, so the warning lands in qemu.log at every BIOS boot.
SERCON_FW_CFG = "etc/sercon-port"
SERCON_PORT = 0x3F8


class ProcessError(BackendError):
    """A QEMU process could not be managed (started, signalled, found)."""


@dataclass(frozen=True)
class MachineConfig:
    """What one QEMU process runs. Boot from ``kernel`` (+ ``initrd``, ``append``) when
    given, else SeaBIOS boots the root disk; no ``base_image`` and no kernel: nothing to
    boot (fine with ``start_paused``, as the tests do)."""

    name: str
    memory_mb: int = 128
    vcpus: int = 1
    kernel: Path | None = None
    initrd: Path | None = None
    append: str | None = None
    #: The root disk is a per-instance qcow2 overlay on this image (created on start if
    #: missing), optionally grown to ``disk_size_mb``.
    base_image: Path | None = None
    disk_size_mb: int | None = None
    #: A user-mode NIC (``restrict=on``: the guest reaches nothing outside); ``hostfwd``
    #: forwards 127.0.0.1:host port to the guest port (host, guest).
    network: bool = True
    mac: str = "52:54:00:00:00:01"
    hostfwd: tuple[int, int] | None = None
    #: More ``hostfwd`` rules of that NIC (``tcp:127.24.4.5:22-:22``: ``reach``).
    forwards: tuple[str, ...] = ()
    accel: str = "tcg"  # never "kvm" by default: KVM is present here but boots nothing
    machine: str = "q35"
    #: Empty PCIe root ports for hot-plugged volumes and NICs (rp1, rp2, ...).
    hotplug_ports: int = 4
    vnc: bool = True
    start_paused: bool = False  # -S: status "prelaunch" until `cont`
    incoming: bool = False  # -incoming defer: the target of a migration or a restore
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstancePaths:
    """The files of one instance directory."""

    root: Path

    @property
    def disk(self) -> Path:
        return self.root / "disk.qcow2"

    @property
    def console_log(self) -> Path:
        return self.root / "console.log"

    @property
    def qmp_sock(self) -> Path:
        return self.root / "qmp.sock"

    @property
    def vnc_sock(self) -> Path:
        return self.root / "vnc.sock"

    @property
    def observer_sock(self) -> Path:
        """A second QMP monitor, free for anyone to look (the first is the backend's)."""
        return self.root / "qmp-obs.sock"

    @property
    def pid_file(self) -> Path:
        return self.root / "qemu.pid"

    @property
    def argv_file(self) -> Path:
        return self.root / "argv.json"

    @property
    def log_file(self) -> Path:
        return self.root / "qemu.log"

    @property
    def sercon_port(self) -> Path:
        return self.root / "sercon-port"

    def forget_runtime_files(self) -> None:
        """Remove what only a running QEMU has: its pid file and sockets."""
        for path in (self.pid_file, self.qmp_sock, self.vnc_sock, self.observer_sock):
            path.unlink(missing_ok=True)


def bios_boots(config: MachineConfig) -> bool:
    """Whether SeaBIOS boots the guest (no ``-kernel``), so its console is worth having."""
    return config.kernel is None


def build_argv(config: MachineConfig, paths: InstancePaths,
               binary: str = QEMU_BINARY) -> list[str]:
    """The QEMU command line of ``config`` living in ``paths`` (the one the reference
    measured: -nodefaults, q35, virtio, user-mode net, serial to a file, QMP on a socket)."""
    argv = [binary, "-name", config.name, "-nodefaults", "-no-user-config",
            "-display", "none", "-accel", config.accel, "-machine", config.machine,
            "-m", str(config.memory_mb), "-smp", str(config.vcpus)]
    if config.kernel is not None:
        argv += ["-kernel", str(config.kernel)]
        if config.initrd is not None:
            argv += ["-initrd", str(config.initrd)]
        if config.append:
            argv += ["-append", config.append]
    if config.base_image is not None:
        # -kernel takes boot index 0 itself (QEMU: "The bootindex 0 has already been used")
        boot = ",bootindex=0" if config.kernel is None else ""
        argv += ["-blockdev", f"driver=file,filename={paths.disk},node-name=root-file",
                 "-blockdev", "driver=qcow2,file=root-file,node-name=root",
                 "-device", f"virtio-blk-pci,drive=root,id=rootdisk,bus=pcie.0{boot}"]
    if config.network:
        netdev = "user,id=n0,restrict=on"
        if config.hostfwd is not None:
            host_port, guest_port = config.hostfwd
            netdev += f",hostfwd=tcp:127.0.0.1:{host_port}-:{guest_port}"
        netdev += "".join(f",hostfwd={rule}" for rule in config.forwards)
        argv += ["-netdev", netdev, "-device",
                 f"virtio-net-pci,netdev=n0,id=nic0,romfile=,mac={config.mac},bus=pcie.0"]
    if config.vnc:
        # A standard VGA behind the VNC console: with -nodefaults there is no display
        # device, and a VNC client sees only "Display output is not active". VGA (not
        # bochs-display) keeps the legacy text mode that SeaBIOS, boot loaders and a
        # guest kernel's VGA console write to. Measured on the free guest (128 MiB, TCG):
        # RSS +2-3 MiB (234-235 -> 237 MiB; the 16 MiB of VRAM stay untouched), boot to
        # GUEST-READY unchanged within the noise (2.5-3.8 s with and without).
        argv += ["-vnc", f"unix:{paths.vnc_sock}", "-device", "VGA"]
    for port in range(1, config.hotplug_ports + 1):
        argv += ["-device", f"pcie-root-port,id=rp{port},chassis={port},bus=pcie.0"]
    if bios_boots(config):  # the free guest's kernel boots alone: no BIOS text, no delay
        argv += ["-fw_cfg", f"name={SERCON_FW_CFG},file={paths.sercon_port}"]
    argv += ["-serial", f"file:{paths.console_log}",
             "-qmp", f"unix:{paths.qmp_sock},server=on,wait=off",
             # A second monitor for observers (tests, a debugger): QMP serves one client
             # per socket, and the backend holds the first for the instance's life.
             "-qmp", f"unix:{paths.observer_sock},server=on,wait=off",
             "-no-shutdown"]
    if config.start_paused:
        argv.append("-S")
    if config.incoming:
        argv += ["-incoming", "defer"]
    return argv + list(config.extra_args)


def _cmdline(pid: int) -> list[str] | None:
    """The pid's argv, or None when it is gone or a zombie (whose cmdline is empty)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.rstrip(b"\0").decode(errors="replace").split("\0") if raw else None


def qemu_alive(pid: int, qmp_sock: Path) -> bool:
    """Whether ``pid`` is a running QEMU serving the monitor socket ``qmp_sock``."""
    argv = _cmdline(pid)
    if not argv or not os.path.basename(argv[0]).startswith("qemu-system"):
        return False
    marker = f"unix:{qmp_sock},"
    return any(arg.startswith(marker) for arg in argv)


def find_qemu(qmp_sock: Path) -> int | None:
    """The running QEMU serving ``qmp_sock`` whatever its pid file says: one an emulator
    started and was killed before it wrote the pid file (a scan of ``/proc``)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and qemu_alive(int(entry.name), qmp_sock):
            return int(entry.name)
    return None


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


async def qemu_img(*args: str) -> str:
    """Run ``qemu-img`` with ``args``; its output. ``ProcessError`` with its message when
    it fails."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "qemu-img", *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except OSError as err:
        raise ProcessError(f"cannot run qemu-img: {err}") from err
    out, err_out = await proc.communicate()
    if proc.returncode != 0:
        raise ProcessError(f"qemu-img {args[0]} failed: "
                           f"{err_out.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


async def create_overlay(base: Path, target: Path, size_mb: int | None = None) -> None:
    """``qemu-img create -f qcow2 -b base -F qcow2 target [size]`` (~10 ms)."""
    size = () if size_mb is None else (f"{size_mb}M",)
    await qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(target),
                   *size)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class QemuProcess:
    """One running QEMU: its pid, its files and its (connected) monitor. ``child`` is
    None for a process adopted from an earlier emulator (it cannot be awaited; its exit
    is polled)."""

    def __init__(self, name: str, paths: InstancePaths, pid: int, monitor: Monitor,
                 child: asyncio.subprocess.Process | None = None) -> None:
        self.name = name
        self.paths = paths
        self.pid = pid
        self.monitor = monitor
        self._child = child

    def __repr__(self) -> str:
        return f"<QemuProcess {self.name} pid={self.pid}{' adopted' if self.adopted else ''}>"

    @property
    def adopted(self) -> bool:
        return self._child is None

    @property
    def returncode(self) -> int | None:
        """The exit status of a child that has been reaped (None: running, or adopted)."""
        return None if self._child is None else self._child.returncode

    def is_alive(self) -> bool:
        return qemu_alive(self.pid, self.paths.qmp_sock)

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the process to end (reaping our child); whether
        it has."""
        if self._child is not None:
            try:
                await asyncio.wait_for(self._child.wait(), timeout)
            except TimeoutError:
                return False
            return True
        deadline = time.monotonic() + timeout
        while self.is_alive():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def signal(self, signum: int) -> bool:
        """Send ``signum`` if the pid is still our QEMU; whether it was sent."""
        if not self.is_alive():
            return False
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            return False
        except PermissionError as err:
            raise ProcessError(f"cannot signal QEMU {self.name} (pid {self.pid}): {err}"
                               ) from err
        return True

    async def stop(self, quit_timeout: float = 3.0, term_timeout: float = 3.0) -> str:
        """End the process: QMP ``quit``, then SIGTERM, then SIGKILL; always wait for it to
        be gone. How it ended: ``quit``, ``sigterm``, ``sigkill`` or ``gone`` (already)."""
        how = "gone"
        try:
            if self.is_alive() and self.monitor.connected:
                how = "quit"
                try:
                    await self.monitor.execute("quit", timeout=quit_timeout)
                except MonitorTimeout:  # hung: go straight to the signals
                    how = "gone"
                except MonitorError as err:  # it may hang up before answering
                    log.debug("%s: quit: %s", self.name, err)
            await self.monitor.disconnect()
            if how == "quit" and await self.wait(quit_timeout):
                return how
            if self.signal(signal.SIGTERM):
                how = "sigterm"
                if await self.wait(term_timeout):
                    return how
            if self.signal(signal.SIGKILL):
                how = "sigkill"
            if not await self.wait(10.0):
                raise ProcessError(f"QEMU {self.name} (pid {self.pid}) survived SIGKILL")
            return how
        finally:
            await self.monitor.disconnect()
            if not self.is_alive():
                self.paths.forget_runtime_files()

    async def kill(self) -> None:
        """SIGKILL and reap, with no attempt to be polite (tests, a hung QEMU)."""
        await self.monitor.disconnect()
        self.signal(signal.SIGKILL)
        if not await self.wait(10.0):
            raise ProcessError(f"QEMU {self.name} (pid {self.pid}) survived SIGKILL")
        self.paths.forget_runtime_files()


class ProcessManager:
    """Starts, adopts and lists the QEMU processes of instance directories in ``run_dir``.

    ``die_with_parent``: the child gets PR_SET_PDEATHSIG(SIGTERM), so it dies when the
    thread that started it does (tests; no strays after a crash). Leave it False when VMs
    must outlive an emulator restart (then ``adopt`` finds them again)."""

    def __init__(self, run_dir: Path | str, *, binary: str = QEMU_BINARY,
                 die_with_parent: bool = False, connect_timeout: float = 10.0) -> None:
        self.run_dir = Path(run_dir)
        self.binary = binary
        self.die_with_parent = die_with_parent
        self.connect_timeout = connect_timeout

    def paths(self, name: str) -> InstancePaths:
        if not name or "/" in name or name in (".", ".."):
            raise ProcessError(f"invalid instance directory name {name!r}")
        paths = InstancePaths(self.run_dir / name)
        longest = max((paths.qmp_sock, paths.observer_sock, paths.vnc_sock),
                      key=lambda p: len(str(p).encode()))
        if len(str(longest).encode()) > MAX_SOCKET_PATH:
            raise ProcessError(f"socket path {longest} is longer than "
                               f"{MAX_SOCKET_PATH} bytes; use a shorter run directory")
        return paths

    def names(self) -> list[str]:
        """Instance directories that have a pid file (running, or left by a crash)."""
        if not self.run_dir.is_dir():
            return []
        return sorted(p.parent.name for p in self.run_dir.glob("*/qemu.pid"))

    def running_pid(self, name: str) -> int | None:
        """The pid of ``name``'s QEMU if it runs, else None."""
        paths = self.paths(name)
        pid = read_pid(paths.pid_file)
        return pid if pid is not None and qemu_alive(pid, paths.qmp_sock) else None

    async def start(self, config: MachineConfig) -> QemuProcess:
        """Start ``config``'s QEMU and connect its monitor; ``SpawnFailed`` (with QEMU's
        own message) when it exits or does not answer."""
        paths = self.paths(config.name)
        if self.running_pid(config.name) is not None:
            raise InstanceExists(f"QEMU {config.name} is already running")
        paths.root.mkdir(parents=True, exist_ok=True)
        paths.forget_runtime_files()
        if config.base_image is not None and not paths.disk.exists():
            await create_overlay(config.base_image, paths.disk, config.disk_size_mb)
        if bios_boots(config):
            paths.sercon_port.write_bytes(SERCON_PORT.to_bytes(2, "little"))
        argv = build_argv(config, paths, self.binary)
        paths.argv_file.write_text(json.dumps(argv, indent=1) + "\n")
        preexec: Callable[[], None] | None = _die_with_parent if self.die_with_parent else None
        with paths.log_file.open("ab") as out:
            out.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} start\n".encode())
            out.flush()
            try:
                child = await asyncio.create_subprocess_exec(
                    *argv, stdin=asyncio.subprocess.DEVNULL, stdout=out,
                    stderr=asyncio.subprocess.STDOUT, preexec_fn=preexec,
                    start_new_session=True)
            except OSError as err:
                raise SpawnFailed(f"cannot run {self.binary}: {err}") from err
        monitor = Monitor(paths.qmp_sock, config.name)
        process = QemuProcess(config.name, paths, child.pid, monitor, child)
        paths.pid_file.write_text(f"{child.pid}\n")
        try:
            await monitor.connect(self.connect_timeout,
                                  gone=lambda: child.returncode is not None)
        except MonitorError as err:
            exited = await process.wait(0.5)
            if not exited:
                await process.kill()
            message = self._last_words(paths) or str(err)
            raise SpawnFailed(f"QEMU {config.name} did not start: {message}") from err
        return process

    async def adopt(self, name: str) -> QemuProcess | None:
        """The QEMU of ``name`` left running by an earlier emulator, connected again;
        None (and its stale pid file and sockets removed) when it is not running."""
        paths = self.paths(name)
        pid = read_pid(paths.pid_file)
        if pid is None or not qemu_alive(pid, paths.qmp_sock):
            # /proc is scanned only for a socket a QEMU made (a stopped instance has none)
            exists = paths.qmp_sock.exists()
            pid = await asyncio.to_thread(find_qemu, paths.qmp_sock) if exists else None
            if pid is None:
                paths.forget_runtime_files()
                return None
            paths.pid_file.write_text(f"{pid}\n")
        monitor = Monitor(paths.qmp_sock, name)
        await monitor.connect(min(self.connect_timeout, 5.0),
                              gone=lambda: not qemu_alive(pid, paths.qmp_sock))
        return QemuProcess(name, paths, pid, monitor)

    def remove(self, name: str) -> None:
        """Delete ``name``'s directory (disk included); it must not be running."""
        if self.running_pid(name) is not None:
            raise ProcessError(f"QEMU {name} is still running")
        shutil.rmtree(self.paths(name).root, ignore_errors=True)

    @staticmethod
    def _last_words(paths: InstancePaths) -> str:
        """QEMU's last message in its log (what it said when refusing to start)."""
        with contextlib.suppress(OSError):
            lines = [line.strip() for line in paths.log_file.read_text(
                errors="replace").splitlines() if line.strip()]
            if lines and not lines[-1].startswith("--- "):
                return lines[-1]
        return ""
