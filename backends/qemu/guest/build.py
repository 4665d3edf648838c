"""Building the guest into a cache directory, once per set of inputs (see the package
docstring for what is built and how it is cached)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backends.qemu.guest.kernel import download, extract_vmlinux, kernel_package
from backends.qemu.guest.rootfs import cpio, populate_rootfs, root_disk
from backends.qemu.guest.ssh import libraries, ssh_binaries
from backends.qemu.guest.tools import check_static, check_tools, locked, run, sha256, which

#: Bump when the shape of the outputs changes in a way the source hash would not show.
RECIPE_VERSION = 1
OUTPUTS = ("vmlinux", "initramfs.cpio.gz", "base.qcow2")

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class GuestImage:
    """A built guest: boot ``vmlinux`` + ``initramfs``, with ``root=/dev/vda`` on an overlay
    of ``base_qcow2`` when the server needs a disk."""

    vmlinux: Path
    initramfs: Path
    base_qcow2: Path
    #: ``<recipe>-<kernel release>-<input hash>``; also printed in the guest's banner.
    version: str
    kernel_release: str


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nova-emulator/guest``, else ``~/.cache/nova-emulator/guest``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nova-emulator" / "guest"


def build_guest(cache_dir: Path, *, progress: Progress | None = None) -> GuestImage:
    """The guest image in ``cache_dir``: built on the first call, reused while inputs hold."""
    report: Progress = progress or (lambda _message, _fraction: None)
    check_tools()
    cache_dir = Path(cache_dir).absolute()
    debs = cache_dir / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    report("resolving the kernel package", 0.0)
    package, version = kernel_package(debs)
    busybox = Path(which("busybox"))
    check_static(busybox)
    key = _build_key(package, version, busybox)
    out = cache_dir / key[:16]
    cached = _load_manifest(out, key)
    if cached is not None:
        report("cached", 1.0)
        return cached
    with locked(cache_dir / ".lock"):
        cached = _load_manifest(out, key)  # another process may have built it meanwhile
        if cached is not None:
            report("cached", 1.0)
            return cached
        with tempfile.TemporaryDirectory(prefix=".build-", dir=cache_dir) as tmp:
            image = _build(Path(tmp), out, key, package, version, busybox, debs, report)
    report("done", 1.0)
    return image


def _build(
    work: Path,
    out: Path,
    key: str,
    package: str,
    version: str,
    busybox: Path,
    debs: Path,
    report: Progress,
) -> GuestImage:
    report(f"downloading {package} {version}", 0.05)
    deb = download(package, version, debs)
    report("unpacking the kernel package", 0.2)
    kernel_tree = work / "kernel"
    run("dpkg-deb", "-x", str(deb), str(kernel_tree))
    (module_root,) = (kernel_tree / "lib" / "modules").iterdir()
    release = module_root.name
    guest_version = f"{RECIPE_VERSION}-{release}-{key[:12]}"
    staged = work / "out"
    staged.mkdir()

    report("extracting vmlinux", 0.4)
    extract_vmlinux(kernel_tree / "boot" / f"vmlinuz-{release}", staged / "vmlinux")

    report("assembling the root tree", 0.5)
    rootfs = work / "rootfs"
    populate_rootfs(rootfs, busybox, module_root, guest_version)
    shutil.rmtree(kernel_tree)

    report("writing the initramfs", 0.65)
    (staged / "initramfs.cpio.gz").write_bytes(
        gzip.compress(cpio(rootfs), compresslevel=9, mtime=0)
    )

    report("making the root disk", 0.8)
    root_disk(rootfs, work / "base.raw", staged / "base.qcow2")

    report("recording the manifest", 0.95)
    manifest = {
        "key": key,
        "version": guest_version,
        "kernel_release": release,
        "kernel_package": f"{package}={version}",
        "files": {
            name: {"size": (staged / name).stat().st_size, "sha256": sha256(staged / name)}
            for name in OUTPUTS
        },
    }
    if out.exists():  # a partial or stale output directory
        shutil.rmtree(out)
    staged.rename(out)
    tmp_manifest = out / "manifest.json.tmp"
    tmp_manifest.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp_manifest.rename(out / "manifest.json")
    return _image(out, guest_version, release)


def _image(out: Path, version: str, release: str) -> GuestImage:
    return GuestImage(
        vmlinux=out / "vmlinux",
        initramfs=out / "initramfs.cpio.gz",
        base_qcow2=out / "base.qcow2",
        version=version,
        kernel_release=release,
    )


def _load_manifest(out: Path, key: str) -> GuestImage | None:
    try:
        manifest = json.loads((out / "manifest.json").read_text())
        if manifest["key"] != key:
            return None
        for name in OUTPUTS:
            if (out / name).stat().st_size != manifest["files"][name]["size"]:
                return None
        return _image(out, str(manifest["version"]), str(manifest["kernel_release"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _recipe_hash() -> str:
    """A hash of this package's source: every module of the recipe."""
    modules = sorted(Path(__file__).parent.glob("*.py"))
    return hashlib.sha256("".join(f"{m.name}:{sha256(m)}\n" for m in modules).encode()
                          ).hexdigest()


def _build_key(package: str, version: str, busybox: Path) -> str:
    inputs = {
        "recipe": RECIPE_VERSION,
        "source": _recipe_hash(),
        "kernel": f"{package}={version}",
        "busybox": sha256(busybox),
        # dropbear and every library it loads: a host upgrade rebuilds the guest
        "ssh": sorted({f"{p}:{sha256(p)}" for b in ssh_binaries().values()
                       for p in (b, *libraries(b))}),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
