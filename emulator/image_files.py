"""The image service's images as the files a hypervisor boots (``backends.environment.
ImageFiles``), read from the image store at each lookup."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from backends.environment import ImageFiles
from emulator.image.service import ImageService


class StoredImages(ImageFiles):
    """image id -> its file in the image store; images a backend offered with ``add``
    first (the free guest's id -> its cached ``base.qcow2``, which the QEMU backend
    kernel-boots)."""

    def __init__(self, images: ImageService, owner: str | None) -> None:
        self.images = images
        #: The project that owns the images backends offer (the seeded admin project).
        self.owner = owner
        self.offered: dict[str, Path] = {}

    def add(self, image_id: str, name: str, disk_format: str, path: Path) -> None:
        self.images.register_file(image_id, name, disk_format, path, self.owner)
        self.offered[image_id] = path

    def __getitem__(self, image_id: str) -> Path:
        if image_id in self.offered:
            return self.offered[image_id]
        store = self.images.store
        if "/" in image_id or image_id.startswith(".") or not store.exists(image_id):
            raise KeyError(image_id)
        return store.path(image_id)

    def __iter__(self) -> Iterator[str]:
        names = {p.name for p in self.images.store.root.iterdir()
                 if p.is_file() and not p.name.startswith(".")}
        return iter(sorted(names | set(self.offered)))

    def __len__(self) -> int:
        return sum(1 for _ in self)
