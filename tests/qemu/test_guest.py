"""The free guest image: built from Debian packages, cached, and booted for real (TCG)."""

from __future__ import annotations

import asyncio
import ctypes
import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from qemu.qmp import EventListener, QMPClient

from backends.qemu.guest import GuestImage, build_guest
from emulator.cli import main

pytestmark = pytest.mark.qemu

BOOT_TIMEOUT = 60.0
POWERDOWN_TIMEOUT = 30.0


@dataclass
class Built:
    image: GuestImage
    cache: Path
    seconds: float


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    cache = tmp_path_factory.mktemp("guest-cache")
    start = time.monotonic()
    image = build_guest(cache)
    return Built(image, cache, time.monotonic() - start)


@dataclass
class Vm:
    proc: subprocess.Popen[bytes]
    log: Path
    qmp: Path
    dir: Path

    def console(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, text: str, timeout: float = BOOT_TIMEOUT) -> float:
        """Seconds until ``text`` shows on the serial console; fails after ``timeout``."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if text in self.console():
                return time.monotonic() - start
            assert self.proc.poll() is None, f"qemu exited:\n{self.console()}"
            time.sleep(0.05)
        pytest.fail(f"no {text!r} within {timeout} s; console:\n{self.console()}")


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@pytest.fixture
def boot(built: Built) -> Iterator[Callable[..., Vm]]:
    """Starts qemu; teardown always kills and reaps it and removes its directory."""
    vms: list[Vm] = []

    def start(append: str, *extra: str) -> Vm:
        # A short directory: UNIX socket paths are limited to 107 bytes.
        run = Path(tempfile.mkdtemp(prefix="nq-"))
        log, qmp = run / "console.log", run / "qmp.sock"
        argv = [
            "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m", "128",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", str(built.image.vmlinux), "-initrd", str(built.image.initramfs),
            "-append", append, "-serial", f"file:{log}", "-no-shutdown",
            "-qmp", f"unix:{qmp},server=on,wait=off", *extra,
        ]
        with (run / "qemu.stderr").open("wb") as stderr:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                preexec_fn=_die_with_parent,
            )
        vms.append(vm := Vm(proc=proc, log=log, qmp=qmp, dir=run))
        return vm

    yield start
    for vm in vms:
        if vm.proc.poll() is None:
            vm.proc.kill()
        vm.proc.wait(timeout=10)
        shutil.rmtree(vm.dir, ignore_errors=True)


async def _connect(vm: Vm) -> QMPClient:
    qmp = QMPClient(vm.dir.name)
    deadline = time.monotonic() + 10
    while True:  # connect() does not retry; the socket appears a few ms after exec
        try:
            await qmp.connect(str(vm.qmp))
            return qmp
        except Exception:
            if time.monotonic() > deadline or vm.proc.poll() is not None:
                raise
            await asyncio.sleep(0.01)


async def _power_off(vm: Vm) -> dict[str, object]:
    """ACPI power button; returns the SHUTDOWN event's data once it came."""
    qmp = await _connect(vm)
    try:
        listener = EventListener(["SHUTDOWN"])
        with qmp.listen(listener):  # listen before issuing the command
            await qmp.execute("system_powerdown")
            event = await asyncio.wait_for(listener.get(), POWERDOWN_TIMEOUT)
        status = await qmp.execute("query-status")
        assert isinstance(status, dict)
        assert status["status"] == "shutdown"  # -no-shutdown: the process stays
        data = event["data"]
        assert isinstance(data, dict)
        return data
    finally:
        await qmp.disconnect()


def test_build_outputs_and_cache_hit(built: Built) -> None:
    image = built.image
    assert image.vmlinux.read_bytes()[:4] == b"\x7fELF"
    assert 20 << 20 < image.vmlinux.stat().st_size < 200 << 20
    assert image.initramfs.read_bytes()[:2] == b"\x1f\x8b"
    assert 300 << 10 < image.initramfs.stat().st_size < 20 << 20
    info = json.loads(subprocess.run(
        ["qemu-img", "info", "--output=json", str(image.base_qcow2)],
        capture_output=True, check=True, text=True,
    ).stdout)
    assert info["format"] == "qcow2"
    assert info["virtual-size"] == 64 << 20
    assert image.kernel_release in image.version
    mtimes = [p.stat().st_mtime_ns for p in (image.vmlinux, image.initramfs, image.base_qcow2)]

    start = time.monotonic()
    again = build_guest(built.cache)
    cached_seconds = time.monotonic() - start

    assert again == image
    assert cached_seconds < 0.5, f"cache hit took {cached_seconds:.2f} s (cold {built.seconds:.1f})"
    assert mtimes == [p.stat().st_mtime_ns for p in (again.vmlinux, again.initramfs,
                                                       again.base_qcow2)]


def test_the_cache_key_covers_every_module_of_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """A change to any part of the recipe (the guest's scripts, the kernel modules it
    loads, how the root tree is made, ...) gives a new key, hence a new build."""
    from backends.qemu.guest import build

    hashed: list[str] = []
    sha256 = build.sha256

    def recording(path: Path) -> str:
        hashed.append(path.name)
        return sha256(path)

    monkeypatch.setattr(build, "sha256", recording)
    build._recipe_hash()
    modules = sorted(p.name for p in Path(build.__file__).parent.glob("*.py"))
    assert sorted(hashed) == modules
    assert {"files.py", "kernel.py", "rootfs.py", "tools.py", "build.py"} <= set(hashed)


def test_cli_guest_build_prints_the_paths(
    built: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["guest", "build", "--cache", str(built.cache)]) == 0
    out, err = capsys.readouterr()
    assert f"vmlinux:    {built.image.vmlinux}" in out
    assert f"base_qcow2: {built.image.base_qcow2}" in out
    assert built.image.version in out
    assert "100%" in err


def test_boot_initramfs_banner_ready_and_acpi_power_off(boot: Callable[..., Vm]) -> None:
    vm = boot("console=ttyS0 quiet no_timer_check hostname=testvm")
    vm.wait_for("GUEST-BANNER")
    vm.wait_for("GUEST-READY hostname=testvm root=initramfs")

    data = asyncio.run(_power_off(vm))

    assert data["guest"] is True
    assert data["reason"] == "guest-shutdown"
    assert "GUEST-SHUTDOWN hostname=testvm" in vm.console()


def test_boot_qcow2_root_with_fw_cfg_hostname(
    built: Built, boot: Callable[..., Vm], tmp_path: Path
) -> None:
    overlay = tmp_path / "overlay.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(built.image.base_qcow2),
         "-F", "qcow2", str(overlay)],
        check=True,
    )
    vm = boot(
        "console=ttyS0 quiet no_timer_check root=/dev/vda",
        "-blockdev", f"driver=file,filename={overlay},node-name=root-file",
        "-blockdev", "driver=qcow2,file=root-file,node-name=root",
        "-device", "virtio-blk-pci,drive=root,id=rootdisk,bus=pcie.0",
        "-fw_cfg", "name=opt/guest/hostname,string=fwcfgvm",
    )
    vm.wait_for("GUEST-BANNER")
    vm.wait_for("GUEST-READY hostname=fwcfgvm root=/dev/vda")

    data = asyncio.run(_power_off(vm))

    assert data["guest"] is True
    assert "GUEST-SHUTDOWN hostname=fwcfgvm" in vm.console()
