"""The serial console of a simulated guest: a CirrOS-like kernel and cloud-init, per boot.

Each boot of an instance adds one boot's lines. What a reader of a real console relies on
is kept: cloud-init's stage lines (``Cloud-init v. <version> running '<stage>' at <RFC 2822
time>. Up <seconds> seconds.``, as ``cloudinit.cmd.main``'s welcome message), its final
message (``... finished at <time>. Datasource <ds>.  Up <seconds> seconds``) and the SSH
host key fingerprints as ``ssh-keygen -l`` prints them (``<bits> SHA256:<unpadded base64
of the 32-byte digest> <comment> (<type>)``) of the keys its SSH server presents
(``host_key``), so a user can check a first login's fingerprint against the console, as on
a real cloud. A host's keys stay the same across its boots.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from backends.base import InstanceSpec

HostKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey

CLOUD_INIT_VERSION = "22.2"
DATASOURCE = "DataSourceOpenStackLocal [net,ver=2]"
#: The host keys a guest generates at its first boot: (type, bits).
HOST_KEYS = (("ECDSA", 256), ("ED25519", 256))

#: The kernel's first words on every boot (a CirrOS-like guest).
_KERNEL = (
    "[    0.000000] Linux version 5.15.0-71-generic (buildd@lcy02-amd64-044) (gcc (Ubuntu "
    "11.3.0-1ubuntu1~22.04) 11.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #78-Ubuntu SMP",
    "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=LABEL=cirros-rootfs ro "
    "console=tty1 console=ttyS0",
    "[    0.000000] KERNEL supported cpus:",
    "[    0.000000]   Intel GenuineIntel",
    "[    0.000000]   AMD AuthenticAMD",
    "[    0.000000] Hypervisor detected: KVM",
)

#: cloud-init's network table: a rule between its parts.
_RULE = "ci-info: +------+------+-----------------+-------------+--------+-------------------+"


@dataclass(frozen=True)
class Boot:
    """One boot of a guest: when (wall-clock seconds) and whether from a rescue image."""

    at: float = field(default_factory=time.time)
    rescue: bool = False


def host_key(uuid: str, key_type: str) -> HostKey:
    """The instance's SSH host key of ``key_type`` (``HOST_KEYS``): derived from its uuid,
    so the same across boots and restarts, and the one its SSH server presents
    (``backends.simulated.ssh``)."""
    seed = hashlib.sha256(f"{uuid}/ssh-host-key/{key_type}".encode()).digest()
    if key_type == "ED25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's n
    return ec.derive_private_key(int.from_bytes(seed, "big") % (order - 1) + 1,
                                 ec.SECP256R1())


def fingerprint(instance: InstanceSpec, key_type: str) -> str:
    """The ``SHA256:`` fingerprint of the instance's host key of ``key_type`` (of its
    OpenSSH public key blob, as ``ssh-keygen -l`` and ``ssh`` show it)."""
    line = host_key(instance.uuid, key_type).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    digest = hashlib.sha256(base64.b64decode(line.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _rfc2822(at: float) -> str:
    """cloud-init's ``util.time_rfc2822`` (UTC, C locale names)."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
              "Dec")
    t = time.gmtime(at)
    return (f"{days[t.tm_wday]}, {t.tm_mday:02d} {months[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000")


def boot_log(instance: InstanceSpec, number: int, boot: Boot) -> list[str]:
    """A plausible serial console log of boot ``number`` (1, 2, ...) of ``instance``."""
    digest = hashlib.sha256(f"{instance.uuid}/{number}".encode()).digest()
    # Uptimes (seconds) at each cloud-init stage: growing, two decimals as /proc/uptime.
    up = [2.1 + digest[0] / 1000, 3.0 + digest[1] / 1000, 4.0 + digest[2] / 1000,
          4.5 + digest[3] / 1000, 5.0 + digest[4] / 256]

    def stage(name: str, seconds: float) -> str:
        return (f"Cloud-init v. {CLOUD_INIT_VERSION} running '{name}' at "
                f"{_rfc2822(boot.at + seconds)}. Up {seconds:.2f} seconds.")

    lines = list(_KERNEL)
    lines += [
        f"[    0.000000] Memory: {instance.memory_mb * 1024}K available",
        f"[    0.012000] smpboot: Allowing {instance.vcpus} CPUs, 0 hotplug CPUs",
        "[    0.420000] virtio_blk virtio2: [vda] "
        f"{instance.root_gb * 2097152} 512-byte logical blocks",
    ]
    if boot.rescue:
        lines.append("[    0.430000] virtio_blk virtio3: [vdb] "
                     f"{instance.root_gb * 2097152} 512-byte logical blocks")
    lines += [
        "[    1.104000] EXT4-fs (vda1): mounted filesystem with ordered data mode.",
        "[    1.322000] random: crng init done",
        stage("init-local", up[0]),
        stage("init", up[1]),
        "ci-info: ++++++++++++++++++++++++++++Net device info++++++++++++++++++++++++++++",
        _RULE,
        "ci-info: | Dev  |  Up  |     Address     |     Mask    | Scope  |     Hw-Address    |",
        _RULE,
    ]
    for index, (_network, address, mac) in enumerate(instance.addresses):
        lines.append(f"ci-info: | eth{index} | True | {address:<15} | 255.255.0.0 | "
                     f"global | {mac:<17} |")
    lines += [
        "ci-info: |  lo  | True |    127.0.0.1    |  255.0.0.0  |  host  |         .         |",
        _RULE,
        stage("modules:config", up[2]),
        stage("modules:final", up[3]),
        "-----BEGIN SSH HOST KEY FINGERPRINTS-----",
        *(f"{bits} {fingerprint(instance, kind)} root@{instance.hostname} ({kind})"
          for kind, bits in HOST_KEYS),
        "-----END SSH HOST KEY FINGERPRINTS-----",
        f"Cloud-init v. {CLOUD_INIT_VERSION} finished at {_rfc2822(boot.at + up[4])}. "
        f"Datasource {DATASOURCE}.  Up {up[4]:.2f} seconds",
        "",
        f"  ____               ____  ____   instance {instance.name}",
        " / __/ __ ____ ____ / __ \\/ __/",
        "/ /__ / // __// __// /_/ /\\ \\   http://cirros-cloud.net",
        "\\___//_//_/  /_/   \\____/___/",
        "",
        f"{instance.hostname} login: ",
    ]
    return lines


def console_log(instance: InstanceSpec, boots: list[Boot],
                events: Sequence[tuple[int, str]] = ()) -> str:
    """Every boot's lines so far, oldest first; each of ``events`` (boot number, line: a
    device plugged in or out) after the lines of its boot."""
    lines: list[str] = []
    for number, boot in enumerate(boots, 1):
        lines += boot_log(instance, number, boot)
        lines += [line for at, line in events if at == number]
    return "\n".join(lines)

