"""The boot plan's probe of an image's first sectors (does it boot the free guest's kernel?)
reads them into a scratch directory of the run directory; an emulator killed during a probe
leaves that directory, and the next one removes it before it serves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backends.qemu.boot import PROBE_PREFIX, BootPlan
from backends.qemu.guest.build import GuestImage


def _guest(root: Path) -> GuestImage:
    return GuestImage(vmlinux=root / "vmlinux", initramfs=root / "initramfs",
                      base_qcow2=root / "base.qcow2", version="test", kernel_release="6")


def test_a_probe_a_killed_emulator_left_is_removed_and_nothing_else(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    stale = run_dir / f"{PROBE_PREFIX}abc123"
    stale.mkdir(parents=True)
    (stale / "head").write_bytes(b"\0" * 2048)
    kept = [run_dir / ".shelved" / "vm.qcow2", run_dir / "compute-1" / "vm" / "disk.qcow2"]
    for path in kept:
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x")
    BootPlan(_guest(tmp_path), {}, "tcg", run_dir)
    assert not stale.exists()
    assert all(path.read_bytes() == b"x" for path in kept)


def test_a_probe_reads_the_head_and_leaves_no_scratch(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    plan = BootPlan(_guest(tmp_path), {}, "tcg", run_dir)
    ext4 = bytearray(1 << 16)
    ext4[1080:1082] = b"\x53\xef"
    bare_fs, mbr = tmp_path / "fs.raw", tmp_path / "mbr.raw"
    bare_fs.write_bytes(bytes(ext4))
    mbr.write_bytes(bytes(1 << 16))
    assert asyncio.run(plan.kernel_boots(bare_fs)) is True
    assert asyncio.run(plan.kernel_boots(mbr)) is False
    assert list(run_dir.iterdir()) == []
