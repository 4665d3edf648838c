r"""The free guest image: a small Linux built from Debian packages only, cached.

``build_guest(cache_dir)`` makes the guest every QEMU-backed server boots unless a user
brings an image of its own (the recipe of ``shared/reference/qemu-backend.md``, section 3):

* ``vmlinux``: the Debian cloud kernel as an uncompressed PVH ELF. The package that
  ``apt-cache depends linux-image-cloud-amd64`` names is fetched with ``apt-get download``
  and unpacked with ``dpkg-deb`` (never installed); the bzImage's compressed payload (LZ4;
  XZ for the generic kernel) is decompressed, so ``-kernel vmlinux`` boots without the
  real-mode setup code or the decompressor, which is slow under TCG.
* ``initramfs.cpio.gz``: busybox (static) with a symlink per applet, the virtio, ACPI
  button, evdev, fw_cfg and isofs modules with their dependencies (``depmod``), and
  ``/init``. ``/init`` loads the modules, prints ``GUEST-BANNER`` on the console, switches
  to ``root=/dev/vda`` when the command line names it, and hands over to busybox init:
  ``rcS`` sets the hostname (kernel command line ``hostname=``, else fw_cfg
  ``opt/guest/hostname``), starts ``acpid`` (the ACPI power button powers the guest off)
  and prints ``GUEST-READY hostname=<name> root=<device|initramfs> uptime=<s>``; init
  respawns ``httpd`` on port 80 (``/cgi-bin/info`` reports hostname, uptime, addresses and
  block devices) and ``netwatch``, which runs ``udhcpc`` on every NIC, present at boot or
  hot-plugged, and prints ``GUEST-NET`` and ``GUEST-DHCP`` lines. ``guest.noacpid`` on the
  command line leaves ``acpid`` out (the guest then ignores ``system_powerdown``).
* ``base.qcow2``: the same tree on a 64 MiB ext4 root disk (``mke2fs -d``, then
  ``qemu-img convert``); boot it through a per-server overlay with ``root=/dev/vda``.

The console lines, in the order a boot prints them::

    GUEST-BANNER nova-emulator guest <version> kernel=<release>
    GUEST-READY hostname=<name> root=<device|initramfs> uptime=<seconds>
    GUEST-NET eth0 added mac=<mac>
    GUEST-DHCP eth0 ip=<address> router=<gateway>
    GUEST-SHUTDOWN hostname=<name>

Debian packages it needs on the host (``apt-get install --no-install-recommends``):
``qemu-system-x86`` (to boot it), ``qemu-utils`` (``qemu-img``), ``busybox-static``,
``e2fsprogs`` (``mke2fs``) and ``lz4``; ``apt`` and ``dpkg`` come with every Debian system.
The only network access is ``apt-get download`` from the configured Debian mirror.

Caching: the build is keyed by a hash of its inputs (this recipe's source, the kernel
package and version, the busybox binary). Outputs live in ``cache_dir/<key>/`` with a
``manifest.json`` written last; a call whose key has a complete manifest (files present,
sizes as recorded) returns at once. The downloaded ``.deb`` stays in ``cache_dir/debs/``
and is reused; when apt cannot answer (no package lists, offline) the newest cached kernel
``.deb`` is used. Builds of one cache directory are serialised with a lock file, and the
outputs are reproducible: fixed timestamps, owners and ordering, a fixed filesystem UUID
and hash seed, gzip without a timestamp.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backends.base import BackendError

#: Bump when the shape of the outputs changes in a way the source hash would not show.
RECIPE_VERSION = 1
#: The Debian meta-package whose dependency names the kernel package to use.
KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
#: Modules the guest loads (in this order); their dependencies come along.
GUEST_MODULES = (
    "virtio_pci", "virtio_blk", "virtio_net", "virtio_rng", "virtio_console",
    "virtio_balloon", "button", "evdev", "qemu_fw_cfg", "isofs",
    "crc32c_generic", "ext4",  # built into the cloud kernel, modules in the generic one
)
ROOT_DISK_SIZE = "64M"
#: apt's package lists: their directory changes on ``apt-get update``.
APT_LISTS = Path("/var/lib/apt/lists")
#: Every timestamp in the outputs (2023-11-14T22:13:20Z), for reproducible builds.
SOURCE_DATE_EPOCH = 1_700_000_000
#: Fixed ext4 UUID and directory hash seed, for reproducible builds.
ROOT_DISK_UUID = "6e6f7661-656d-4775-8573-742d726f6f74"
#: Host tool -> the Debian package that provides it.
REQUIRED_TOOLS = {
    "apt-get": "apt",
    "apt-cache": "apt",
    "dpkg-deb": "dpkg",
    "busybox": "busybox-static",
    "lz4": "lz4",
    "mke2fs": "e2fsprogs",
    "debugfs": "e2fsprogs",
    "qemu-img": "qemu-utils",
}
#: bzImage payload magic -> the command that decompresses it from stdin.
DECOMPRESSORS: dict[bytes, tuple[str, ...]] = {
    b"\x02\x21\x4c\x18": ("lz4", "-dcq"),
    b"\xfd7zXZ\x00": ("xz", "-dcq"),
}
OUTPUTS = ("vmlinux", "initramfs.cpio.gz", "base.qcow2")

Progress = Callable[[str, float], None]


class GuestBuildError(BackendError):
    """The guest image could not be built (a missing tool or package, a failed step)."""


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


# --- what goes into the guest ---------------------------------------------------------------

_INIT = r"""#!/bin/sh
# nova-emulator guest: PID 1 of the initramfs.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
for m in $(cat /etc/modules); do
  modprobe "$m" || echo "GUEST-WARN modprobe $m failed"
done
echo "GUEST-BANNER nova-emulator guest $(cat /etc/guest-release) kernel=$(uname -r)"
root=
for arg in $(cat /proc/cmdline); do
  case "$arg" in root=*) root="${arg#root=}" ;; esac
done
if [ -n "$root" ]; then
  i=0
  while [ ! -b "$root" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if mount -t ext4 "$root" /newroot; then
    for fs in dev proc sys; do mount --move "/$fs" "/newroot/$fs"; done
    exec switch_root /newroot /sbin/init
  fi
  echo "GUEST-WARN root=$root could not be mounted; staying on the initramfs"
fi
exec /sbin/init
"""

_RC_S = r"""#!/bin/sh
# busybox init's sysinit: mounts, hostname, acpid, then the GUEST-READY line.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mounted() { [ -r /proc/mounts ] && grep -q " $1 " /proc/mounts; }
mounted /proc || mount -t proc proc /proc
mounted /sys || mount -t sysfs sysfs /sys
mounted /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mounted /dev/pts || mount -t devpts devpts /dev/pts
mounted /run || mount -t tmpfs -o mode=0755 tmpfs /run
mounted /tmp || mount -t tmpfs -o mode=1777 tmpfs /tmp
cmdline=$(cat /proc/cmdline)
name=
for arg in $cmdline; do
  case "$arg" in hostname=*) name="${arg#hostname=}" ;; esac
done
fwcfg=/sys/firmware/qemu_fw_cfg/by_name/opt/guest/hostname/raw
if [ -z "$name" ] && [ -r "$fwcfg" ]; then name=$(cat "$fwcfg"); fi
[ -n "$name" ] || name=guest
hostname "$name"
echo "$name" >/etc/hostname
ip link set lo up
case " $cmdline " in
  *" guest.noacpid "*) ;;
  *) acpid -c /etc/acpi -l /run/acpid.log ;;
esac
set -- $(grep ' / ' /proc/mounts | tail -n 1)
root=$1
case "$3" in rootfs|ramfs|tmpfs) root=initramfs ;; esac
echo "GUEST-READY hostname=$name root=$root uptime=$(cut -d' ' -f1 /proc/uptime)" >/dev/console
"""

_RC_K = r"""#!/bin/sh
# busybox init's shutdown: say so, flush the disk.
echo "GUEST-SHUTDOWN hostname=$(hostname)" >/dev/console
sync
mount -o remount,ro / 2>/dev/null
exit 0
"""

_INITTAB = """\
::sysinit:/etc/init.d/rcS
::respawn:/usr/sbin/httpd -f -p 80 -h /www
::respawn:/sbin/netwatch
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/init.d/rcK
"""

_POWER_BUTTON = """#!/bin/sh
# acpid runs this for the ACPI power button (QMP system_powerdown).
exec poweroff
"""

_NETWATCH = r"""#!/bin/sh
# Configure every NIC, present at boot or hot-plugged, with DHCP; forget removed ones.
state=/run/netwatch
mkdir -p "$state"
while :; do
  for dev in /sys/class/net/eth*; do
    [ -e "$dev" ] || continue
    nic=${dev##*/}
    [ -e "$state/nic.$nic" ] && continue
    mac=$(cat "$dev/address")
    echo "$mac" >"$state/nic.$nic"
    echo "GUEST-NET $nic added mac=$mac" >/dev/console
    ip link set "$nic" up
    udhcpc -b -S -t 3 -T 1 -i "$nic" -p "$state/$nic.pid" \
      -s /etc/udhcpc/default.script >/dev/null 2>&1
  done
  for seen in "$state"/nic.*; do
    [ -e "$seen" ] || continue
    nic=${seen##*/nic.}
    [ -e "/sys/class/net/$nic" ] && continue
    [ -r "$state/$nic.pid" ] && kill "$(cat "$state/$nic.pid")" 2>/dev/null
    rm -f "$seen" "$state/$nic.pid"
    echo "GUEST-NET $nic removed" >/dev/console
  done
  sleep 1
done
"""

_DHCP_SCRIPT = r"""#!/bin/sh
# udhcpc hook: $1 is the event; the lease comes in the environment.
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    gw=${router%% *}
    if [ -n "$gw" ] && ! ip route | grep -q '^default'; then
      ip route add default via "$gw" dev "$interface"
    fi
    if [ -n "$dns" ]; then
      for server in $dns; do echo "nameserver $server"; done >/etc/resolv.conf
    fi
    echo "GUEST-DHCP $interface ip=$ip router=$gw" >/dev/console
    ;;
esac
exit 0
"""

_INFO_CGI = r"""#!/bin/sh
# What the guest sees: hostname, uptime, IPv4 addresses, block devices with their sizes.
echo "Content-Type: text/plain"
echo
echo "hostname=$(hostname)"
echo "uptime=$(cut -d' ' -f1 /proc/uptime)"
ip -o -4 addr show | while read -r _ dev _ addr _; do echo "addr $dev $addr"; done
for b in /sys/block/*; do
  [ -e "$b/size" ] || continue
  echo "block ${b##*/} $(( $(cat "$b/size") * 512 ))"
done
"""

_INDEX_HTML = """<!doctype html>
<title>nova-emulator guest</title>
<p>nova-emulator guest. See <a href="/cgi-bin/info">/cgi-bin/info</a>.</p>
"""

#: Path in the guest -> (mode, content). ``etc/modules`` and ``etc/guest-release`` are
#: written by the build, which knows the kernel's modules and the version.
GUEST_FILES: dict[str, tuple[int, str]] = {
    "init": (0o755, _INIT),
    "etc/inittab": (0o644, _INITTAB),
    "etc/init.d/rcS": (0o755, _RC_S),
    "etc/init.d/rcK": (0o755, _RC_K),
    "etc/acpi/PWRF/00000080": (0o755, _POWER_BUTTON),
    "etc/udhcpc/default.script": (0o755, _DHCP_SCRIPT),
    "sbin/netwatch": (0o755, _NETWATCH),
    "www/index.html": (0o644, _INDEX_HTML),
    "www/cgi-bin/info": (0o755, _INFO_CGI),
    "etc/passwd": (0o644, "root:x:0:0:root:/root:/bin/sh\n"),
    "etc/group": (0o644, "root:x:0:\n"),
    "etc/hostname": (0o644, "guest\n"),
    "etc/resolv.conf": (0o644, ""),
}
GUEST_DIRS = ("dev", "proc", "sys", "run", "tmp", "newroot", "root", "mnt", "var/log")


# --- the build --------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nova-emulator/guest``, else ``~/.cache/nova-emulator/guest``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nova-emulator" / "guest"


def build_guest(cache_dir: Path, *, progress: Progress | None = None) -> GuestImage:
    """The guest image in ``cache_dir``: built on the first call, reused while inputs hold."""
    report: Progress = progress or (lambda _message, _fraction: None)
    _check_tools()
    cache_dir = Path(cache_dir).absolute()
    debs = cache_dir / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    report("resolving the kernel package", 0.0)
    package, version = _kernel_package(debs)
    busybox = Path(_which("busybox"))
    _check_static(busybox)
    key = _build_key(package, version, busybox)
    out = cache_dir / key[:16]
    cached = _load_manifest(out, key)
    if cached is not None:
        report("cached", 1.0)
        return cached
    with _locked(cache_dir / ".lock"):
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
    deb = _download(package, version, debs)
    report("unpacking the kernel package", 0.2)
    kernel_tree = work / "kernel"
    _run("dpkg-deb", "-x", str(deb), str(kernel_tree))
    (module_root,) = (kernel_tree / "lib" / "modules").iterdir()
    release = module_root.name
    guest_version = f"{RECIPE_VERSION}-{release}-{key[:12]}"
    staged = work / "out"
    staged.mkdir()

    report("extracting vmlinux", 0.4)
    _extract_vmlinux(kernel_tree / "boot" / f"vmlinuz-{release}", staged / "vmlinux")

    report("assembling the root tree", 0.5)
    rootfs = work / "rootfs"
    _populate_rootfs(rootfs, busybox, module_root, guest_version)
    shutil.rmtree(kernel_tree)

    report("writing the initramfs", 0.65)
    (staged / "initramfs.cpio.gz").write_bytes(
        gzip.compress(_cpio(rootfs), compresslevel=9, mtime=0)
    )

    report("making the root disk", 0.8)
    raw = work / "base.raw"
    env = {**os.environ, "E2FSPROGS_FAKE_TIME": str(SOURCE_DATE_EPOCH),
           "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)}
    _run(
        "mke2fs", "-q", "-F", "-t", "ext4", "-L", "guestroot", "-U", ROOT_DISK_UUID,
        "-E", f"root_owner=0:0,hash_seed={ROOT_DISK_UUID}", "-d", str(rootfs),
        str(raw), ROOT_DISK_SIZE, env=env,
    )
    _pin_inode_times(raw, rootfs, env)
    _run("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw),
         str(staged / "base.qcow2"))

    report("recording the manifest", 0.95)
    manifest = {
        "key": key,
        "version": guest_version,
        "kernel_release": release,
        "kernel_package": f"{package}={version}",
        "files": {
            name: {"size": (staged / name).stat().st_size, "sha256": _sha256(staged / name)}
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


def _build_key(package: str, version: str, busybox: Path) -> str:
    inputs = {
        "recipe": RECIPE_VERSION,
        "source": _sha256(Path(__file__)),
        "kernel": f"{package}={version}",
        "busybox": _sha256(busybox),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


# --- the kernel package -----------------------------------------------------------------------


def _kernel_package(debs: Path) -> tuple[str, str]:
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
        fields = _run("dpkg-deb", "-f", str(cached[-1]), "Package", "Version")
        values = dict(line.split(": ", 1) for line in fields.splitlines() if ": " in line)
        return values["Package"], values["Version"]
    raise GuestBuildError(
        f"apt knows no {KERNEL_META_PACKAGE} (run apt-get update?) and no kernel .deb is cached"
    )


def _ask_apt() -> tuple[str, str] | None:
    try:
        depends = _run("apt-cache", "depends", KERNEL_META_PACKAGE)
        names = [
            line.split(":", 1)[1].strip()
            for line in depends.splitlines()
            if line.strip().startswith("Depends:") and "linux-image-" in line
        ]
        if names:
            show = _run("apt-cache", "show", "--no-all-versions", names[0])
            for line in show.splitlines():
                if line.startswith("Version:"):
                    return names[0], line.split(":", 1)[1].strip()
    except GuestBuildError:
        pass
    return None


def _download(package: str, version: str, debs: Path) -> Path:
    quoted = version.replace(":", "%3a")
    found = sorted(debs.glob(f"{package}_{quoted}_*.deb"))
    if not found:
        # apt-get download writes into the current directory; a partial file is never kept.
        with tempfile.TemporaryDirectory(prefix=".download-", dir=debs) as tmp:
            _run("apt-get", "download", "-q", f"{package}={version}", cwd=Path(tmp))
            for deb in Path(tmp).glob("*.deb"):
                deb.rename(debs / deb.name)
        found = sorted(debs.glob(f"{package}_{quoted}_*.deb"))
        if not found:
            raise GuestBuildError(f"apt-get download {package}={version} produced no .deb")
    for stale in debs.glob("linux-image-*.deb"):  # keep one kernel, not every one ever used
        if stale != found[0]:
            stale.unlink()
    return found[0]


def _extract_vmlinux(bzimage: Path, target: Path) -> None:
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
            [_which(command[0]), *command[1:]], input=payload, stdout=sink,
            stderr=subprocess.PIPE, check=False,
        )
    if result.returncode != 0:
        raise GuestBuildError(f"{command[0]} failed: {result.stderr.decode(errors='replace')}")
    with target.open("rb") as head:
        if head.read(4) != b"\x7fELF":
            raise GuestBuildError("the decompressed kernel is not an ELF file")


# --- the root tree ----------------------------------------------------------------------------


def _populate_rootfs(root: Path, busybox: Path, module_root: Path, version: str) -> None:
    root.mkdir()
    for directory in GUEST_DIRS:
        (root / directory).mkdir(parents=True, exist_ok=True)
    (root / "bin").mkdir()
    shutil.copyfile(busybox, root / "bin" / "busybox")
    (root / "bin" / "busybox").chmod(0o755)
    for applet in _run(str(busybox), "--list-full").split():
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
    loaded = _install_modules(module_root, root / "lib" / "modules" / module_root.name)
    _run(str(busybox), "depmod", "-b", str(root), module_root.name)
    (root / "etc" / "modules").write_text("".join(f"{m}\n" for m in loaded))
    (root / "etc" / "guest-release").write_text(version + "\n")
    _normalise(root)


def _install_modules(source: Path, target: Path) -> list[str]:
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


def _normalise(root: Path) -> None:
    """Fixed modes and timestamps, so the outputs do not depend on umask or build time."""
    for path in [root, *sorted(root.rglob("*"))]:
        if not path.is_symlink():
            if path.is_dir():
                path.chmod(0o1777 if path.relative_to(root).as_posix() == "tmp" else 0o755)
            else:
                path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)
        os.utime(path, (SOURCE_DATE_EPOCH, SOURCE_DATE_EPOCH), follow_symlinks=False)


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
    _run("debugfs", "-w", "-f", str(script), str(raw), env=env)


def _cpio(root: Path) -> bytes:
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


# --- helpers ----------------------------------------------------------------------------------


def _check_tools() -> None:
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise GuestBuildError(
            "the guest build needs the Debian packages " + " ".join(missing)
            + " (apt-get install --no-install-recommends ...)"
        )


def _check_static(busybox: Path) -> None:
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


def _which(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise GuestBuildError(f"{tool} not found (Debian package {REQUIRED_TOOLS.get(tool, tool)})")
    return found


def _run(*argv: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
