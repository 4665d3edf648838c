"""The image store: one file per image in a directory, written whole or not at all.

An upload streams into ``<store>/.<id>.<random>.part`` while its checksums are computed;
only a complete upload is fsynced and renamed to ``<store>/<id>``, so a reader never sees a
half-written file and an interrupted upload leaves nothing behind but a part file that
``discard_partials`` removes at the next start.

Where the store lives (``[image] store``): a configured directory; otherwise
``<directory of the state file>/images`` for a SQLite file state; otherwise (in-memory or
server database) a temporary directory removed when the store is closed or the process
exits.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import make_url

from emulator.image.formats import HEAD_BYTES

PART_SUFFIX = ".part"


def default_store_dir(state_url: str) -> Path | None:
    """``<dir of the SQLite state file>/images``, or None when the state is not a file."""
    url = make_url(state_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    assert url.database is not None
    return Path(url.database).resolve().parent / "images"


def store_dir(configured: str, state_url: str) -> Path | None:
    """Where the store lives: ``configured``, else beside the state file (None: temporary)."""
    return Path(configured) if configured else default_store_dir(state_url)


class PartialWrite:
    """One upload in progress: bytes go to a part file, hashed as they arrive."""

    def __init__(self, store: ImageStore, image_id: str) -> None:
        self.store = store
        self.image_id = image_id
        self.path = store.root / f".{image_id}.{secrets.token_hex(8)}{PART_SUFFIX}"
        self._file: BinaryIO | None = self.path.open("xb")
        self.size = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        #: The first bytes, for format inspection.
        self.head = b""

    def write(self, chunk: bytes) -> None:
        assert self._file is not None, "write after commit or abort"
        self._file.write(chunk)
        self.size += len(chunk)
        self.md5.update(chunk)
        self.sha512.update(chunk)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[:HEAD_BYTES - len(self.head)]

    def commit(self) -> Path:
        """Flush, fsync and rename into place; the image's data is now complete."""
        assert self._file is not None, "commit after commit or abort"
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        final = self.store.path(self.image_id)
        os.replace(self.path, final)
        self.store.sync_dir()
        return final

    def abort(self) -> None:
        """Drop what was written; safe to call more than once."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self.path.unlink(missing_ok=True)


class ImageStore:
    """A directory of image files named by image id."""

    def __init__(self, root: Path | None) -> None:
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        if root is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="nova-emulator-images-")
            root = Path(self._temporary.name)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root

    @property
    def temporary(self) -> bool:
        return self._temporary is not None

    def path(self, image_id: str) -> Path:
        return self.root / image_id

    def begin(self, image_id: str) -> PartialWrite:
        return PartialWrite(self, image_id)

    def put(self, image_id: str, data: bytes) -> PartialWrite:
        """Store ``data`` whole (for seeding); the returned write carries size and hashes."""
        write = self.begin(image_id)
        try:
            write.write(data)
            write.commit()
        except BaseException:
            write.abort()
            raise
        return write

    def exists(self, image_id: str) -> bool:
        return self.path(image_id).is_file()

    def open(self, image_id: str) -> BinaryIO | None:
        """The image's data for reading, or None when it has none.

        NOTE: an open file stays readable after ``delete`` (POSIX unlink), so a download
        that started completes even if the image is deleted meanwhile.
        """
        try:
            return self.path(image_id).open("rb")
        except FileNotFoundError:
            return None

    def delete(self, image_id: str) -> None:
        self.path(image_id).unlink(missing_ok=True)

    def discard_partials(self) -> int:
        """Remove part files left by uploads interrupted by a crash; how many there were."""
        found = list(self.root.glob(f".*{PART_SUFFIX}"))
        for part in found:
            part.unlink(missing_ok=True)
        return len(found)

    def sync_dir(self) -> None:
        """fsync the directory so a rename survives a crash (where the OS allows it)."""
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def close(self) -> None:
        """Remove the store if it is temporary; a configured store is left as it is."""
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None
