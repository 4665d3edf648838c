"""The built-in ``qemu`` backend's factory: the free guest as a Glance image, the instance
files' directory, and the backend on the image service's files."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from pydantic import TypeAdapter

from backends.base import ComputeBackend
from backends.environment import BackendEnvironment
from emulator.config import ConfigError, QemuConfig

#: The free guest's image: a fixed id, so every start (and every emulator) agrees on it.
GUEST_IMAGE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-emulator/guest"))
GUEST_IMAGE_NAME = "nova-emulator-guest"
#: UNIX socket paths are limited to 107 bytes; an instance adds ``/<uuid>/qmp.sock``.
MAX_RUN_DIR = 107 - len("/00000000-0000-0000-0000-000000000000/qemu-vnc.sock") - 8


def run_dir(settings: QemuConfig, state_dir: Path | None,
            ephemeral: bool) -> tuple[Path, bool]:
    """Where instance files live, and whether the directory is this emulator's own (made
    for it: removed at its end). ``[qemu] run_dir``; else ``qemu`` beside a SQLite state
    file when that path is short enough; else, for an in-memory state, a directory of this
    process's own (its guests end with it: no other emulator may reap them, none can
    re-adopt them); else ``/tmp/nova-emulator-<uid>``. (Several hosts: each has
    ``/<name>`` of its own under it.)"""
    if settings.run_dir:
        return Path(settings.run_dir), False
    hosts = len(settings.hosts) > 1
    host_dir = max(len(h.name) + 1 for h in settings.hosts) if hosts else 0
    if state_dir is not None:
        candidate = (state_dir / "qemu").absolute()
        if len(str(candidate)) + host_dir <= MAX_RUN_DIR:
            return candidate, False
    if ephemeral:
        own = tempfile.mkdtemp(prefix=f"nova-emulator-{os.getuid()}-", dir="/tmp")
        return Path(own), True
    return Path(f"/tmp/nova-emulator-{os.getuid()}"), False


def create(env: BackendEnvironment) -> ComputeBackend:
    """The QEMU backend (``[qemu]`` settings), with the free guest offered as image
    ``nova-emulator-guest``."""
    from backends.qemu.backend import QemuBackend
    from backends.qemu.guest import build_guest, default_cache_dir

    q = TypeAdapter(QemuConfig).validate_python(dict(env.settings))
    guest = build_guest(Path(q.cache) if q.cache else default_cache_dir())
    env.images.add(GUEST_IMAGE_ID, GUEST_IMAGE_NAME, "qcow2", guest.base_qcow2)
    directory, own = run_dir(q, env.state_dir, env.ephemeral)
    try:
        return QemuBackend(
            directory, guest, env.images, owns_run_dir=own, hosts=q.host_shares(),
            accel=q.accel, shutdown_timeout=q.shutdown_timeout, boot_timeout=q.boot_timeout,
            boot_concurrency=q.boot_concurrency, boot_grace=q.boot_grace, vcpus=q.vcpus,
            memory_mb=q.memory_mb, local_gb=q.local_gb,
            reserved_host_memory_mb=q.reserved_host_memory_mb,
            cpu_allocation_ratio=q.cpu_allocation_ratio,
            ram_allocation_ratio=q.ram_allocation_ratio,
            disk_allocation_ratio=q.disk_allocation_ratio, ephemeral=env.ephemeral,
            live_migration_bandwidth=q.live_migration_bandwidth,
            force_config_drive=q.force_config_drive)
    except ValueError as exc:  # a run directory too long for the hosts' sockets
        raise ConfigError(f"[qemu] {exc}") from None
