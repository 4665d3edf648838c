"""The host's tools the build runs (Debian packages only), and how it runs them."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backends.base import BackendError

REQUIRED_TOOLS = {
    "apt-get": "apt",
    "apt-cache": "apt",
    "dpkg-deb": "dpkg",
    "busybox": "busybox-static",
    "lz4": "lz4",
    "mke2fs": "e2fsprogs",
    "debugfs": "e2fsprogs",
    "qemu-img": "qemu-utils",
    "ldd": "libc-bin",
}


class GuestBuildError(BackendError):
    """The guest image could not be built (a missing tool or package, a failed step)."""


def check_tools() -> None:
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise GuestBuildError(
            "the guest build needs the Debian packages " + " ".join(missing)
            + " (apt-get install --no-install-recommends ...)"
        )


def check_static(busybox: Path) -> None:
    """The guest has no C library: refuse a dynamically linked busybox (package ``busybox``)."""
    data = busybox.read_bytes()
    if data[:6] != b"\x7fELF\x02\x01":
        raise GuestBuildError(f"{busybox} is not an x86-64 ELF binary")
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    pt_interp = 3
    if any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == pt_interp
           for i in range(phnum)):
        raise GuestBuildError(f"{busybox} is dynamically linked; install busybox-static")


def which(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise GuestBuildError(f"{tool} not found (Debian package {REQUIRED_TOOLS.get(tool, tool)})")
    return found


def run(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            check=False,
        )
    except OSError as exc:
        raise GuestBuildError(f"{argv[0]}: {exc}") from exc
    if result.returncode != 0:
        raise GuestBuildError(
            f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result.stdout


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
