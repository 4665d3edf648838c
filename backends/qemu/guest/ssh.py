"""The guest's SSH server: Debian's ``dropbear-bin`` (installed on the host, as
``busybox-static`` is), copied into the root tree with the shared libraries it loads.

Debian builds dropbear dynamically linked (libc, libz, libcrypt, libtomcrypt, libtommath,
libgmp); the guest has no C library of its own, so the build copies the library closure
that ``ldd`` names, each to the path the dynamic loader looks in (as initramfs-tools does
for ``dropbear-initramfs``). glibc's ``files`` NSS module is part of libc itself (2.34 on),
so ``getpwnam`` reads the guest's ``/etc/passwd`` with nothing more.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from backends.qemu.guest.tools import GuestBuildError, run

#: The binaries, each to its place in the guest (Debian's paths): the SSH server, and
#: util-linux's ``lsblk``, which Tempest's validation runs in a guest to count its disks
#: (busybox has none).
SSH_BINARIES = {"dropbear": "usr/sbin/dropbear", "dropbearkey": "usr/bin/dropbearkey",
                "lsblk": "usr/bin/lsblk"}
#: The Debian package of each binary, for the message when one is missing.
PACKAGES = {"dropbear": "dropbear-bin", "dropbearkey": "dropbear-bin", "lsblk": "util-linux"}
#: Where the host's binaries are looked for (``/usr/sbin`` is not on every user's PATH).
_SEARCH_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
#: A line of ``ldd``'s answer: ``libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)`` or
#: ``/lib64/ld-linux-x86-64.so.2 (0x...)``.
_LDD_PATH = re.compile(r"(?:=>\s*)?(/\S+)\s+\(0x[0-9a-f]+\)")


def ssh_binaries() -> dict[str, Path]:
    """The host's dropbear binaries by name; ``GuestBuildError`` when the package is
    missing."""
    found = {name: shutil.which(name, path=_SEARCH_PATH) for name in SSH_BINARIES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        packages = " ".join(sorted({PACKAGES[name] for name in missing}))
        raise GuestBuildError(
            f"{', '.join(missing)} not found: the guest's SSH server and tools need the "
            f"Debian packages {packages} (apt-get install --no-install-recommends "
            f"{packages})")
    return {name: Path(str(path)) for name, path in found.items()}


def libraries(binary: Path) -> list[Path]:
    """The shared libraries ``binary`` loads (the dynamic loader included), from ``ldd``."""
    paths = {Path(m.group(1)) for m in map(_LDD_PATH.search, run("ldd", str(binary))
                                             .splitlines()) if m}
    return sorted(paths)


def install_ssh_server(root: Path) -> None:
    """Copy dropbear, dropbearkey and their libraries into the guest tree ``root``."""
    needed: set[Path] = set()
    for name, binary in ssh_binaries().items():
        target = root / SSH_BINARIES[name]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(binary, target)
        target.chmod(0o755)
        needed.update(libraries(binary))
    for library in sorted(needed):
        # The path the loader asks for (a soname link on the host): the file it names.
        target = root / library.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(library.resolve(), target)
        target.chmod(0o755)
