"""The kernel: Debian's cloud kernel package, its PVH ``vmlinux``, and the modules the
guest loads.

The package that ``apt-cache depends linux-image-cloud-amd64`` names is fetched with
``apt-get download`` and unpacked with ``dpkg-deb`` (never installed); the bzImage's
compressed payload (LZ4; XZ for the generic kernel) is decompressed, so ``-kernel
vmlinux`` boots without the real-mode setup code or the decompressor, which is slow under
TCG. The modules come with their dependencies, read from each module's ``.modinfo``
(the .deb has no modules.dep).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from backends.qemu.guest.tools import GuestBuildError, run, which

KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
#: Modules the guest loads (in this order); their dependencies come along.
GUEST_MODULES = (
    "virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "virtio_console",
    "virtio_balloon", "button", "evdev", "qemu_fw_cfg", "isofs",
    "virtio_scsi", "sr_mod",  # the config drive: a CD-ROM on virtio-scsi (no AHCI here)
    "crc32c_generic", "ext4",  # built into the cloud kernel, modules in the generic one
)
#: apt's package lists: their directory changes on ``apt-get update``.
APT_LISTS = Path("/var/lib/apt/lists")
#: bzImage payload magic -> the command that decompresses it from stdin.
DECOMPRESSORS: dict[bytes, tuple[str, ...]] = {
    b"\x02\x21\x4c\x18": ("lz4", "-dcq"),
    b"\xfd7zXZ\x00": ("xz", "-dcq"),
}


def kernel_package(debs: Path) -> tuple[str, str]:
    """The kernel package the meta-package names and its candidate version.

    apt's answer (~1 s) is remembered in ``debs/kernel.json`` until the package lists
    change (``apt-get update``). Falls back to the newest cached ``.deb`` when apt has no
    answer (no package lists, apt missing).
    """
    memo = debs / "kernel.json"
    try:
        stamp = str(APT_LISTS.stat().st_mtime_ns)
    except OSError:
        stamp = ""
    try:
        remembered = json.loads(memo.read_text())
        if stamp and remembered["stamp"] == stamp:
            return str(remembered["package"]), str(remembered["version"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    resolved = _ask_apt()
    if resolved is not None:
        if stamp:
            package, version = resolved
            memo.write_text(json.dumps({"stamp": stamp, "package": package, "version": version}))
        return resolved
    cached = sorted(debs.glob("linux-image-*.deb"), key=lambda p: p.stat().st_mtime)
    if cached:
        fields = run("dpkg-deb", "-f", str(cached[-1]), "Package", "Version")
        values = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
        return values["Package"], values["Version"]
    raise GuestBuildError(
        f"apt knows no {KERNEL_META_PACKAGE} (run apt-get update?) and no kernel .deb is cached"
    )


def _ask_apt() -> tuple[str, str] | None:
    try:
        depends = run("apt-cache", "depends", KERNEL_META_PACKAGE)
        names = [
            line.split(":", 1)[1].strip()
            for line in depends.splitlines()
            if line.strip().startswith("Depends:") and "linux-image-" in line
        ]
        if names:
            show = run("apt-cache", "show", "--no-all-versions", names[0])
            for line in show.splitlines():
                if line.startswith("Version:"):
                    return names[0], line.split(":", 1)[1].strip()
    except GuestBuildError:
        pass
    return None


def download(package: str, version: str, debs: Path) -> Path:
    quoted = version.replace(":", "%3a")
    found = sorted(debs.glob(f"{package}_{quoted}_*.deb"))
    if not found:
        # apt-get download writes into the current directory; a partial file is never kept.
        with tempfile.TemporaryDirectory(prefix=".download-", dir=debs) as tmp:
            run("apt-get", "download", "-q", f"{package}={version}", cwd=Path(tmp))
            for deb in Path(tmp).glob("*.deb"):
                deb.rename(debs / deb.name)
        found = sorted(debs.glob(f"{package}_{quoted}_*.deb"))
        if not found:
            raise GuestBuildError(f"apt-get download {package}={version} produced no .deb")
    for stale in debs.glob("linux-image-*.deb"):  # keep one kernel, not every one ever used
        if stale != found[0]:
            stale.unlink()
    return found[0]


def extract_vmlinux(bzimage: Path, target: Path) -> None:
    """The bzImage's payload, decompressed: an ELF kernel with a PVH entry note."""
    data = bzimage.read_bytes()
    if data[0x202:0x206] != b"HdrS":
        raise GuestBuildError(f"{bzimage.name} is not a bzImage")
    setup_sects = data[0x1F1] or 4
    payload_offset, payload_length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sects + 1) * 512 + payload_offset
    # The build appends the uncompressed size (4 bytes) to the compressed stream.
    payload = data[start : start + payload_length - 4]
    command = next((c for m, c in DECOMPRESSORS.items() if payload.startswith(m)), None)
    if command is None:
        raise GuestBuildError(f"{bzimage.name}: unknown payload compression {payload[:6]!r}")
    with target.open("wb") as sink:
        result = subprocess.run(
            [which(command[0]), *command[1:]], input=payload, stdout=sink,
            stderr=subprocess.PIPE, check=False,
        )
    if result.returncode != 0:
        raise GuestBuildError(f"{command[0]} failed: {result.stderr.decode(errors='replace')}")
    with target.open("rb") as head:
        if head.read(4) != b"\x7fELF":
            raise GuestBuildError("the decompressed kernel is not an ELF file")


def install_modules(source: Path, target: Path) -> list[str]:
    """Copy GUEST_MODULES and their dependencies; return the ones /init must load."""
    index = {
        ko.name.removesuffix(".ko").replace("-", "_"): ko
        for ko in (source / "kernel").rglob("*.ko")
    }
    builtin = {
        Path(line).name.removesuffix(".ko").replace("-", "_")
        for line in (source / "modules.builtin").read_text().split()
    }
    to_load = [m for m in GUEST_MODULES if m not in builtin]
    missing = [m for m in to_load if m not in index]
    if missing:
        raise GuestBuildError(f"kernel {source.name} lacks the modules {', '.join(missing)}")
    pending, copied = list(to_load), set[str]()
    while pending:
        name = pending.pop()
        if name in copied or name in builtin:
            continue
        if name not in index:
            raise GuestBuildError(f"kernel {source.name} lacks the module {name}")
        ko = index[name]
        dest = target / ko.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ko, dest)
        copied.add(name)
        depends = _modinfo(ko).get("depends", "")
        pending += [d.replace("-", "_") for d in depends.split(",") if d]
    for extra in ("modules.builtin", "modules.order"):
        shutil.copyfile(source / extra, target / extra)
    return to_load


def _modinfo(ko: Path) -> dict[str, str]:
    """The ``.modinfo`` section of a kernel module (ELF64 little-endian), as a mapping."""
    data = ko.read_bytes()
    if data[:6] != b"\x7fELF\x02\x01":
        raise GuestBuildError(f"{ko.name} is not a little-endian ELF64 module")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(i: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, offset, size = struct.unpack_from(
            "<IIQQQQ", data, shoff + i * shentsize
        )
        return name, offset, size

    _, names_offset, _ = section(shstrndx)
    for i in range(shnum):
        name, offset, size = section(i)
        end = data.index(b"\0", names_offset + name)
        if data[names_offset + name : end] == b".modinfo":
            entries = data[offset : offset + size].split(b"\0")
            pairs = (e.decode(errors="replace").partition("=") for e in entries if b"=" in e)
            return {k: v for k, _, v in pairs}
    return {}
