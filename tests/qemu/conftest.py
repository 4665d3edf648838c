"""Fixtures of the QEMU tests: a short run directory, and nothing left behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


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


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A short directory (UNIX socket paths are limited to 107 bytes) for instance files.

    At the end every qemu still running from it is killed and reaped, and the test fails:
    a test must stop what it starts.
    """
    if shutil.which("qemu-system-x86_64") is None:
        pytest.fail("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
    root = Path(tempfile.mkdtemp(prefix="ne-", dir="/tmp"))
    try:
        yield root
    finally:
        leftovers = _qemus_under(root)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while _qemus_under(root) and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(root, ignore_errors=True)
        if leftovers:
            pytest.fail(f"qemu processes left running: {leftovers}")
