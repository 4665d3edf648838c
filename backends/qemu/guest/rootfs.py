"""The guest's root tree (busybox, its applets, dropbear, the modules,
``files.GUEST_FILES``) and the two forms it ships in: a gzipped ``newc`` cpio initramfs
and an ext4 root disk.

Both are reproducible: fixed modes, owners, ordering and timestamps
(``SOURCE_DATE_EPOCH``), a fixed filesystem UUID and hash seed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from backends.qemu.guest.files import GUEST_DIRS, GUEST_FILES
from backends.qemu.guest.kernel import install_modules
from backends.qemu.guest.ssh import install_ssh_server
from backends.qemu.guest.tools import run

ROOT_DISK_SIZE = "64M"
#: Every timestamp in the outputs (2023-11-14T22:13:20Z), for reproducible builds.
SOURCE_DATE_EPOCH = 1_700_000_000
#: Fixed ext4 UUID and directory hash seed, for reproducible builds.
ROOT_DISK_UUID = "6e6f7661-656d-4775-8573-742d726f6f74"


def populate_rootfs(root: Path, busybox: Path, module_root: Path, version: str) -> None:
    root.mkdir()
    for directory in GUEST_DIRS:
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "bin").mkdir()
    shutil.copyfile(busybox, root / "bin" / "busybox")
    (root / "bin" / "busybox").chmod(0o755)
    for applet in run(str(busybox), "--list-full").split():
        link = root / applet
        if applet == "bin/busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(root / "bin" / "busybox", link.parent))
    for name, (mode, content) in GUEST_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        path.chmod(mode)
    install_ssh_server(root)
    loaded = install_modules(module_root, root / "lib" / "modules" / module_root.name)
    run(str(busybox), "depmod", "-b", str(root), module_root.name)
    (root / "etc" / "modules").write_text("".join(f"{m}\n" for m in loaded))
    (root / "etc" / "guest-release").write_text(version + "\n")
    _normalise(root)


def _normalise(root: Path) -> None:
    """Fixed modes and timestamps, so the outputs do not depend on umask or build time."""
    for path in [root, *sorted(root.rglob("*"))]:
        if not path.is_symlink():
            if path.is_dir():
                path.chmod(0o1777 if path.relative_to(root).as_posix() == "tmp" else 0o755)
            else:
                path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)
        os.utime(path, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH), follow_symlinks=False)


def root_disk(rootfs: Path, raw: Path, target: Path) -> None:
    """An ext4 file system of ``rootfs`` (``mke2fs -d`` into the scratch file ``raw``),
    converted to the qcow2 ``target``."""
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": str(SOURCE_DATE_EPOCH),
           "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)}
    run(
        "mke2fs", "-q", "-F", "-t", "ext4", "-L", "guestroot", "-U", ROOT_DISK_UUID,
        "-E", f"root_owner=0:0,hash_seed={ROOT_DISK_UUID}", "-d", str(rootfs),
        str(raw), ROOT_DISK_SIZE, env=env,
    )
    _pin_inode_times(raw, rootfs, env)
    run("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(target))


def _pin_inode_times(raw: Path, root: Path, env: dict[str, str]) -> None:
    """``mke2fs -d`` copies the host files' ctime and atime; pin them with ``debugfs``."""
    paths = ["/", "/lost+found", *("/" + p.relative_to(root).as_posix() for p in root.rglob("*"))]
    commands = "".join(
        f"sif {path} {field} @{SOURCE_DATE_EPOCH}\n"
        for path in paths
        for field in ("atime", "ctime")
    )
    script = raw.with_suffix(".debugfs")
    script.write_text(commands)
    run("debugfs", "-w", "-f", str(script), str(raw), env=env)


def cpio(root: Path) -> bytes:
    """A ``newc`` archive of ``root`` (owner root, fixed times) plus ``/dev/console``."""
    chunks: list[bytes] = []

    def entry(name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        fields = (len(chunks) + 1, mode, 0, 0, 2 if mode & 0o040000 else 1, SOURCE_DATE_EPOCH,
                  len(data), 0, 0, rdev[0], rdev[1], len(name) + 1, 0)
        header = b"070701" + b"".join(b"%08X" % f for f in fields) + name.encode() + b"\0"
        chunks.append(header + b"\0" * (-len(header) % 4) + data + b"\0" * (-len(data) % 4))

    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        mode = path.lstat().st_mode
        if path.is_symlink():
            entry(name, mode, os.readlink(path).encode())
        elif path.is_dir():
            entry(name, mode)
        else:
            entry(name, mode, path.read_bytes())
    entry("dev/console", 0o020600, rdev=(5, 1))
    entry("TRAILER!!!", 0)
    return b"".join(chunks)
