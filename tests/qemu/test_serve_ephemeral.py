"""An emulator whose state is in memory (the default) cannot re-adopt its guests after a
restart, so they end with it: each such emulator has a run directory of its own (two of
them never reap each other's guests) and removes it, guests and all, when it stops."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import httpx
import pytest

from conformance.process import EmulatorProcess
from tests.qemu.served import Cloud

pytestmark = pytest.mark.qemu

CONFIG = '[compute]\nbackend = "qemu"\n\n[qemu]\nboot_grace = 0.5\nshutdown_timeout = 5.0\n'


def qemu_of(server_id: str) -> tuple[int, Path] | None:
    """(pid, run directory) of the qemu-system process of ``server_id``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if argv and "qemu-system" in argv[0] and "-name" in argv \
                and argv[argv.index("-name") + 1] == server_id:
            sock = next(a for a in argv if a.startswith("unix:") and "qmp.sock" in a)
            return int(entry.name), Path(sock[len("unix:"):]).parent.parent
    return None


def test_in_memory_emulators_keep_to_their_own_guests_and_end_them() -> None:
    first, second = EmulatorProcess(config=CONFIG), EmulatorProcess(config=CONFIG)
    made: list[str] = []
    try:
        first.start(timeout=300.0)
        with httpx.Client(timeout=60.0) as http:
            cloud = Cloud(first.url, http)
            server_id = cloud.create_server("mine", cloud.bios_image())
            cloud.wait_status(server_id, "ACTIVE")
            made.append(server_id)
            located = qemu_of(server_id)
            assert located is not None
            _pid, run_dir = located
            assert run_dir.name.startswith(f"nova-emulator-{os.getuid()}-")

            second.start(timeout=300.0)  # its recover must not reap the first one's guest
            assert qemu_of(server_id) == located
            second.stop()

            first.stop()  # SIGTERM: the state dies, so do its guests
        assert qemu_of(server_id) is None
        assert not run_dir.exists()
    finally:
        for server_id in made:  # a failed test still leaves nothing running
            left = qemu_of(server_id)
            if left is not None:
                os.kill(left[0], signal.SIGKILL)
                shutil.rmtree(left[1], ignore_errors=True)
        for emulator in (first, second):
            emulator.stop()
            shutil.rmtree(emulator.workdir, ignore_errors=True)
