"""Fixtures of the QEMU tests: short run directories, a served emulator on the qemu
backend, and nothing left behind: each test's run directory is checked when it ends, and
every run directory of the session once more when the session ends."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w

from conformance.process import EmulatorProcess

#: Every run directory this session made (the session-end check looks under each).
RUN_DIRS: list[Path] = []


def _qemus_under(root: Path) -> list[int]:
    """Pids of qemu-system processes whose command line mentions ``root``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and b"qemu-system" in cmdline[0] and any(
                str(root).encode() in part for part in cmdline):
            found.append(int(entry.name))
    return found


def _reap(roots: list[Path]) -> list[int]:
    """SIGKILL every qemu under ``roots`` and wait (5 s) until they are gone; their pids."""
    leftovers = [pid for root in roots for pid in _qemus_under(root)]
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while any(_qemus_under(root) for root in roots) and time.monotonic() < deadline:
        time.sleep(0.05)
    return leftovers


def new_run_dir() -> Path:
    """A short directory (UNIX socket paths are limited to 107 bytes) for instance files,
    registered for the session-end check."""
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
    root = Path(tempfile.mkdtemp(prefix="ne-", dir="/tmp"))
    RUN_DIRS.append(root)
    return root


def close_run_dir(root: Path) -> None:
    """Kill and reap every qemu still running from ``root``, remove it, and fail the test
    if there was one: a test must stop what it starts."""
    leftovers = _reap([root])
    shutil.rmtree(root, ignore_errors=True)
    if leftovers:
        pytest.fail(f"qemu processes left running under {root}: {leftovers}")


@pytest.fixture(scope="session", autouse=True)
def no_qemu_survives_the_run() -> Iterator[None]:
    """When the session ends, no qemu-system process started under any of its run
    directories may still run (one that outlived its test's own check, e.g. started by an
    emulator after that check looked); survivors are killed and the session fails."""
    yield
    survivors = _reap(RUN_DIRS)
    for root in RUN_DIRS:
        shutil.rmtree(root, ignore_errors=True)
    if survivors:
        pytest.fail(f"qemu processes survived the test run: {survivors} "
                    f"(under {', '.join(map(str, RUN_DIRS))})")


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A run directory for one test, checked and removed at its end."""
    root = new_run_dir()
    try:
        yield root
    finally:
        close_run_dir(root)


def qemu_config(run_dir: Path, **qemu: float | str) -> str:
    """TOML of an emulator serving with the qemu backend from ``run_dir``."""
    return tomli_w.dumps({"compute": {"backend": "qemu"},
                          "qemu": {"run_dir": str(run_dir), **qemu}})


@dataclass(frozen=True)
class ServedQemu:
    """A running ``nova-emulator serve`` on the qemu backend, and its run directory."""

    emulator: EmulatorProcess
    run_dir: Path

    @property
    def url(self) -> str:
        return self.emulator.url

    def qemus(self) -> list[int]:
        return _qemus_under(self.run_dir)

    def instance_dirs(self) -> list[str]:
        return sorted(os.listdir(self.run_dir))


@pytest.fixture(scope="module")
def qemu_emulator() -> Iterator[ServedQemu]:
    """One ``nova-emulator serve --backend qemu`` for a module's tests. Tests delete what
    they create; at the end the emulator stops (its guests would outlive it, by design) and
    its run directory must hold no QEMU."""
    root = new_run_dir()
    # boot_grace: images without the free guest's ready marker hold a boot slot this long.
    emulator = EmulatorProcess(config=qemu_config(root, boot_grace=0.5, shutdown_timeout=5.0))
    try:
        emulator.start(timeout=300.0)
        yield ServedQemu(emulator, root)
    finally:
        emulator.stop()
        shutil.rmtree(emulator.workdir, ignore_errors=True)
        close_run_dir(root)
