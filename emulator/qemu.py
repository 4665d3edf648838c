"""Serving with the QEMU backend: the free guest as a Glance image, instance files, and a
view of the image store the backend boots from."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from backends.qemu.backend import QemuBackend
from backends.qemu.guest import GuestImage, build_guest, default_cache_dir
from emulator.config import Config
from emulator.image.service import ImageService
from emulator.image.store import ImageStore, default_store_dir

#: The free guest's image: a fixed id, so every start (and every emulator) agrees on it.
GUEST_IMAGE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "nova-emulator/guest"))
GUEST_IMAGE_NAME = "nova-emulator-guest"
#: UNIX socket paths are limited to 107 bytes; an instance adds ``/<uuid>/qmp.sock``.
MAX_RUN_DIR = 107 - len("/00000000-0000-0000-0000-000000000000/qemu-vnc.sock") - 8


def ephemeral(config: Config) -> bool:
    """Whether the state lives only in this process (in-memory SQLite)."""
    url = make_url(config.server.state)
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def run_dir(config: Config) -> Path:
    """``[qemu] run_dir``; else ``qemu`` beside a SQLite state file when that path is
    short enough; else, for an in-memory state, a directory of this process's own (its
    guests end with it: no other emulator may reap them, none can re-adopt them); else
    ``/tmp/nova-emulator-<uid>``."""
    if config.qemu.run_dir:
        return Path(config.qemu.run_dir)
    beside = default_store_dir(config.server.state)
    if beside is not None:
        candidate = (beside.parent / "qemu").absolute()
        if len(str(candidate)) <= MAX_RUN_DIR:
            return candidate
    if ephemeral(config):
        return Path(tempfile.mkdtemp(prefix=f"nova-emulator-{os.getuid()}-", dir="/tmp"))
    return Path(f"/tmp/nova-emulator-{os.getuid()}")


class StoredImages(Mapping[str, Path]):
    """image id -> its file in the image store, read at each lookup; ``overrides`` first
    (the free guest's id -> its cached ``base.qcow2``, which the backend kernel-boots)."""

    def __init__(self, store: ImageStore, overrides: Mapping[str, Path]) -> None:
        self.store = store
        self.overrides = dict(overrides)

    def __getitem__(self, image_id: str) -> Path:
        if image_id in self.overrides:
            return self.overrides[image_id]
        if "/" in image_id or image_id.startswith(".") or not self.store.exists(image_id):
            raise KeyError(image_id)
        return self.store.path(image_id)

    def __iter__(self) -> Iterator[str]:
        names = {p.name for p in self.store.root.iterdir()
                 if p.is_file() and not p.name.startswith(".")}
        return iter(sorted(names | set(self.overrides)))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def build_guest_image(config: Config) -> GuestImage:
    cache = Path(config.qemu.cache) if config.qemu.cache else default_cache_dir()
    return build_guest(cache)


def qemu_backend(config: Config, images: ImageService, owner: str | None) -> QemuBackend:
    """The QEMU backend, with the free guest registered as image ``nova-emulator-guest``."""
    guest = build_guest_image(config)
    images.register_file(GUEST_IMAGE_ID, GUEST_IMAGE_NAME, "qcow2", guest.base_qcow2, owner)
    q = config.qemu
    return QemuBackend(
        run_dir(config), guest, StoredImages(images.store, {GUEST_IMAGE_ID: guest.base_qcow2}),
        accel=q.accel, shutdown_timeout=q.shutdown_timeout, boot_timeout=q.boot_timeout,
        boot_concurrency=q.boot_concurrency, boot_grace=q.boot_grace, vcpus=q.vcpus,
        memory_mb=q.memory_mb, local_gb=q.local_gb,
        reserved_host_memory_mb=q.reserved_host_memory_mb,
        cpu_allocation_ratio=q.cpu_allocation_ratio,
        ram_allocation_ratio=q.ram_allocation_ratio,
        disk_allocation_ratio=q.disk_allocation_ratio, ephemeral=ephemeral(config))
