"""Snapshots of the whole cloud: one file to save and to load into any emulator. No HTTP.

A snapshot is a gzipped tar:

| member | what |
|---|---|
| ``snapshot.json`` | format, emulator version, backend, when, the simulated clock, hosts down |
| ``state.sqlite`` | the state database, whole (SQLite's online backup) |
| ``images/<id>`` | each image's data, as the image store keeps it |

Loading it replaces everything the emulator holds: a new ``Cloud`` starts on that
database and those files and re-adopts its servers as after a restart (``Recovery``), so
every ``GET`` answers as it did where the snapshot was saved. Tokens are the saved cloud's:
a client logs in again after a load.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emulator import __version__
from emulator.clock import Progression
from emulator.errors import InvalidInput

FORMAT = 1
META, DATABASE, IMAGES = "snapshot.json", "state.sqlite", "images"
#: An image's file name in the store: its id (Glance's ids are UUIDs; ours may be any).
_IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


@dataclass(frozen=True)
class SnapshotMeta:
    backend: str
    clock_mode: Progression
    clock_now: float
    hosts_down: tuple[str, ...]
    created_at: str
    version: str = __version__

    def as_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": self.version, "backend": self.backend,
                "created_at": self.created_at,
                "clock": {"mode": self.clock_mode.value, "now": self.clock_now},
                "hosts_down": list(self.hosts_down)}

    @classmethod
    def from_json(cls, raw: Any) -> SnapshotMeta:
        try:
            if raw["format"] != FORMAT:
                raise InvalidInput(f"Snapshot format {raw['format']} is not {FORMAT}, the "
                                   "format this emulator reads.")
            return cls(backend=str(raw["backend"]),
                       clock_mode=Progression(raw["clock"]["mode"]),
                       clock_now=float(raw["clock"]["now"]),
                       hosts_down=tuple(str(h) for h in raw["hosts_down"]),
                       created_at=str(raw["created_at"]), version=str(raw["version"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"{META} of the snapshot is not valid: {exc}") from None


@dataclass(frozen=True)
class Snapshot:
    """A snapshot unpacked in ``directory`` (removed by ``discard``)."""

    directory: Path
    meta: SnapshotMeta
    #: The database's SHA-256 (what a seeded cloud loaded from it salts its ids with).
    digest: str

    @property
    def database(self) -> Path:
        return self.directory / DATABASE

    @property
    def images(self) -> Path:
        return self.directory / IMAGES

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pack(target: Path, meta: SnapshotMeta, database: Path, image_files: list[Path]) -> None:
    """Write the snapshot file ``target`` (blocking: run it in a thread)."""
    encoded = json.dumps(meta.as_json(), indent=1).encode()
    with tarfile.open(target, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo(META)
        info.size = len(encoded)
        info.mtime = int(datetime.now(UTC).timestamp())
        with tempfile.TemporaryFile() as meta_file:
            meta_file.write(encoded)
            meta_file.seek(0)
            tar.addfile(info, meta_file)
        tar.add(database, DATABASE)
        for image in image_files:
            if image.is_file():  # an image deleted meanwhile is not in the snapshot
                tar.add(image, f"{IMAGES}/{image.name}")


def unpack(source: Path, scratch: Path) -> Snapshot:
    """Check and unpack the snapshot file ``source`` under ``scratch`` (blocking).

    Only the members above are taken, as regular files; anything else (links, devices,
    paths out of the directory) makes the whole file invalid (``InvalidInput``)."""
    directory = Path(tempfile.mkdtemp(prefix="snapshot-", dir=scratch))
    try:
        try:
            with tarfile.open(source, "r:gz") as tar:
                for member in tar:
                    _check(member)
                    tar.extract(member, directory, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InvalidInput(f"The snapshot is not a gzipped tar of a snapshot: {exc}") \
                from None
        try:
            raw = json.loads((directory / META).read_text())
        except (OSError, ValueError):
            raise InvalidInput(f"The snapshot has no valid {META}.") from None
        meta = SnapshotMeta.from_json(raw)
        if not (directory / DATABASE).is_file():
            raise InvalidInput(f"The snapshot has no {DATABASE}.")
        with (directory / DATABASE).open("rb") as f:
            if not f.read(16).startswith(b"SQLite format 3"):
                raise InvalidInput(f"{DATABASE} of the snapshot is not a SQLite database.")
        (directory / IMAGES).mkdir(exist_ok=True)
        with (directory / DATABASE).open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return Snapshot(directory, meta, digest)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _check(member: tarfile.TarInfo) -> None:
    name = member.name
    parts = name.split("/")
    allowed = (name in (META, DATABASE, IMAGES)
               or (len(parts) == 2 and parts[0] == IMAGES and _IMAGE_NAME.match(parts[1])))
    if not allowed or not (member.isfile() or (member.isdir() and name == IMAGES)):
        raise InvalidInput(f"The snapshot holds {name!r}, which no snapshot holds.")


def restore_images(snapshot: Snapshot, store_root: Path) -> None:
    """Make the image files in ``store_root`` the snapshot's: the others go."""
    for existing in store_root.iterdir():
        if existing.is_file():
            existing.unlink()
    for image in snapshot.images.iterdir():
        shutil.copyfile(image, store_root / image.name)
