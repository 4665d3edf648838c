"""What the image service does when the emulator starts: undo interrupted uploads, seed
the public images every emulator has, and register a file as an image (the QEMU guest)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from sqlmodel import Session, col, select

from emulator.db import Database
from emulator.image import formats
from emulator.image.data import record_data
from emulator.image.models import Image, ImageProperty
from emulator.image.rows import now
from emulator.image.store import ImageStore

#: Images every emulator starts with: (id, name, disk format, virtual size, properties).
#: Their data is an empty qcow2 of that virtual size (the sizes of the real images).
SEED_IMAGES: tuple[tuple[str, str, str, int, dict[str, str]], ...] = (
    ("be844b13-3d9f-4d4f-8805-b348e2a4ef07", "cirros-0.6.2-x86_64-disk", "qcow2",
     112 * 1024**2, {"os_distro": "cirros", "os_version": "0.6.2"}),
    ("a8a712ea-9ba1-4e33-8731-37b55cfb46f8", "debian-12-genericcloud-amd64", "qcow2",
     2 * 1024**3, {"os_distro": "debian", "os_version": "12"}),
)

#: The seeded images: placeholders, with no operating system in their data.
PLACEHOLDER_IMAGES = frozenset(image_id for image_id, *_ in SEED_IMAGES)


def placeholder_refusal(backend: str) -> str:
    """Why a backend that runs what an image holds cannot boot a placeholder (the reason
    of Nova's ``ImageUnacceptable``)."""
    return (f"it is a placeholder with no operating system (its data is an empty disk): "
            f"a guest of the {backend} backend would never boot from it; boot another image "
            f"(on qemu: nova-emulator-guest) or upload one that boots")


def recover(db: Database, store: ImageStore) -> None:
    """Undo uploads a crash interrupted: ``saving`` goes back to ``queued``, no data."""
    store.discard_partials()
    with db.session() as s:
        unfinished = select(Image).where(col(Image.status).in_(("queued", "saving")))
        for row in list(s.exec(unfinished).all()):
            store.delete(row.id)
            if row.status == "saving":
                row.status = "queued"
                s.add(row)


def _public_image(s: Session, image_id: str, name: str, disk_format: str,
                  owner: str | None) -> Image:
    created = now()
    row = Image(id=image_id, name=name, visibility="public", owner=owner,
                disk_format=disk_format, container_format="bare", created_at=created,
                updated_at=created)
    s.add(row)
    s.flush()
    return row


def seed(db: Database, store: ImageStore, owner: str | None) -> None:
    """Create the seeded public images that do not exist (by id); idempotent."""
    for image_id, name, disk_format, virtual_size, properties in SEED_IMAGES:
        with db.session() as s:
            row = s.get(Image, image_id)
            if row is not None and (row.status != "active" or store.exists(image_id)):
                continue
            written = store.put(image_id, formats.qcow2_image(virtual_size))
            if row is None:
                row = _public_image(s, image_id, name, disk_format, owner)
                for key, value in properties.items():
                    s.add(ImageProperty(image_id=image_id, name=key, value=value))
            record_data(row, written, virtual_size)
            s.add(row)


def _file_chunks(source: Path) -> Iterator[bytes]:
    with source.open("rb") as f:
        yield from iter(lambda: f.read(1 << 20), b"")


def register_file(db: Database, store: ImageStore, image_id: str, name: str,
                  disk_format: str, source: Path, owner: str | None) -> None:
    """Make ``source``'s bytes the data of a public ``bare`` image ``image_id`` (created
    if missing); idempotent: nothing is written when the stored data is the same."""
    md5 = hashlib.md5(usedforsecurity=False)
    for chunk in _file_chunks(source):
        md5.update(chunk)
    with db.session() as s:
        row = s.get(Image, image_id)
        if (row is not None and row.status == "active" and row.checksum == md5.hexdigest()
                and store.exists(image_id)):
            return
        write = store.begin(image_id)
        try:
            for chunk in _file_chunks(source):
                write.write(chunk)
            virtual_size = formats.check(disk_format, formats.inspect(write.head), write.size)
            write.commit()
        except BaseException:
            write.abort()
            raise
        if row is None:
            row = _public_image(s, image_id, name, disk_format, owner)
        record_data(row, write, virtual_size)
        s.add(row)
