"""A ``VolumeStore`` of qcow2 files, for clouds whose guests open them (QEMU).

Each volume is ``<root>/volume-<id>.qcow2`` made with ``qemu-img``: ``create`` for an
empty one, ``convert`` from an image's file (any format ``qemu-img`` reads) or from
another volume's or a snapshot's file, then ``resize`` up to the size asked for; a
snapshot is a copy of the volume's file (``snapshot-<id>.qcow2``); ``extend`` is a
``resize``. The connection Cinder describes is a local file (``driver_volume_type``
``file``, as Cinder's NFS-like drivers hand Nova a path).

NOTE: the store's calls run inside the volume service's transactions, on the event loop:
``qemu-img`` on sparse qcow2 files answers in milliseconds, and a copy from an image
takes as long as the image is big.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.errors import InvalidInput
from emulator.volume.store import VolumeSource

#: image id -> the file holding the image's data (KeyError: none).
ImageFile = Callable[[str], Path]
GIB = 1024 ** 3


def _qemu_img(*args: str) -> None:
    done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise InvalidInput(f"qemu-img {args[0]} failed: {done.stderr.strip()}")


class Qcow2VolumeStore:
    def __init__(self, root: Path | None, image_file: ImageFile) -> None:
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="nova-emulator-volumes-")
            root = Path(self._temporary.name)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.image_file = image_file

    def _volume(self, volume_id: str) -> Path:
        return self.root / f"volume-{volume_id}.qcow2"

    def _snapshot(self, snapshot_id: str) -> Path:
        return self.root / f"snapshot-{snapshot_id}.qcow2"

    def _source_file(self, source: VolumeSource) -> Path:
        if source.kind == "image":
            try:
                return self.image_file(source.id)
            except KeyError:
                raise InvalidInput(f"Image {source.id} has no data to copy.") from None
        return self._volume(source.id) if source.kind == "volume" \
            else self._snapshot(source.id)

    def create(self, volume_id: str, size_gb: int, source: VolumeSource | None) -> None:
        path = self._volume(volume_id)
        if source is None:
            _qemu_img("create", "-q", "-f", "qcow2", str(path), f"{size_gb}G")
            return
        _qemu_img("convert", "-q", "-O", "qcow2", str(self._source_file(source)), str(path))
        # NOTE: a copy is as big as its source; the volume is the size asked for (never
        # smaller: Cinder refused a size below the source's already).
        _qemu_img("resize", "-q", str(path), f"{size_gb}G")

    def extend(self, volume_id: str, size_gb: int) -> None:
        _qemu_img("resize", "-q", str(self._volume(volume_id)), f"{size_gb}G")

    def delete(self, volume_id: str) -> None:
        self._volume(volume_id).unlink(missing_ok=True)

    def create_snapshot(self, snapshot_id: str, volume_id: str) -> None:
        shutil.copyfile(self._volume(volume_id), self._snapshot(snapshot_id))

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._snapshot(snapshot_id).unlink(missing_ok=True)

    def path(self, volume_id: str) -> str | None:
        path = self._volume(volume_id)
        return str(path) if path.exists() else None

    def connection_info(self, volume_id: str, connector: dict[str, Any]) -> dict[str, Any]:
        return {"driver_volume_type": "file", "export": str(self.root),
                "name": self._volume(volume_id).name,
                "device_path": str(self._volume(volume_id)), "format": "qcow2",
                "volume_id": volume_id}

    def close(self) -> None:
        if self._temporary is not None:
            self._temporary.cleanup()
