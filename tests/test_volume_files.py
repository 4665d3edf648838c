"""The qcow2 volume store: real ``qemu-img`` files for volumes and snapshots."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from emulator.errors import InvalidInput
from emulator.volume.files import GIB, Qcow2VolumeStore
from emulator.volume.store import VolumeSource


def virtual_size(path: str | Path) -> int:
    out = subprocess.run(["qemu-img", "info", "--output=json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return int(json.loads(out)["virtual-size"])


def _no_image(image_id: str) -> Path:
    raise KeyError(image_id)


def test_volumes_snapshots_and_copies_are_qcow2_files(tmp_path: Path) -> None:
    store = Qcow2VolumeStore(tmp_path / "volumes", _no_image)
    store.create("a", 1, None)
    path = store.path("a")
    assert path is not None and virtual_size(path) == GIB
    store.extend("a", 3)
    assert virtual_size(path) == 3 * GIB
    store.create_snapshot("s", "a")
    store.create("b", 4, VolumeSource("snapshot", "s"))
    store.create("c", 3, VolumeSource("volume", "a"))
    assert [virtual_size(store.path(v) or "") for v in "bc"] == [4 * GIB, 3 * GIB]
    assert store.connection_info("a", {})["device_path"] == path
    store.delete("a")
    store.delete_snapshot("s")
    store.delete("a")  # a volume it does not know: nothing happens
    assert store.path("a") is None
    assert sorted(p.name for p in (tmp_path / "volumes").iterdir()) == [
        "volume-b.qcow2", "volume-c.qcow2"]


def test_a_volume_from_an_image_copies_its_file(tmp_path: Path) -> None:
    image = tmp_path / "image.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "64M"], check=True)
    store = Qcow2VolumeStore(tmp_path, {"img": image}.__getitem__)
    store.create("v", 1, VolumeSource("image", "img"))
    assert virtual_size(store.path("v") or "") == GIB
    with pytest.raises(InvalidInput, match="has no data"):
        store.create("w", 1, VolumeSource("image", "other"))


def test_a_temporary_directory_goes_at_close() -> None:
    store = Qcow2VolumeStore(None, _no_image)
    store.create("a", 1, None)
    root = store.root
    store.close()
    assert not root.exists()
