"""An image's data: the upload (streamed into the store, ``active`` only once all of it is
in and checked) and the download.

An upload spans three transactions: the image goes ``saving`` (so a second upload is
refused), the data streams with no transaction open, then the image is recorded
``active``, or put back to ``queued`` when anything failed.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.db import Database
from emulator.errors import Conflict, Forbidden, InvalidInput
from emulator.image import formats
from emulator.image.errors import Gone, InvalidImageData, LimitExceeded
from emulator.image.models import Image
from emulator.image.policy import authorize
from emulator.image.records import HASH_ALGO, ImageData, ImageRecord
from emulator.image.rows import authorized_row, now, target, to_record, touch, visible_row
from emulator.image.store import ImageStore, PartialWrite


def record_data(row: Image, write: PartialWrite, virtual_size: int | None) -> None:
    """Record a committed write as the image's data: sizes, hashes, ``active``."""
    row.size = write.size
    row.virtual_size = virtual_size
    row.checksum = write.md5.hexdigest()
    row.os_hash_algo = HASH_ALGO
    row.os_hash_value = write.sha512.hexdigest()
    row.status = "active"
    row.updated_at = now()


def begin_upload(s: Session, ctx: RequestContext, image_id: str) -> Image:
    """Move a ``queued`` image with both formats set to ``saving``."""
    row = authorized_row(s, ctx, image_id, "upload_image")
    if row.status != "queued":
        raise Conflict(f"Image status transition from {row.status} to saving is not allowed")
    missing = [k for k in ("disk_format", "container_format") if not getattr(row, k)]
    if missing:
        noun = "Property" if len(missing) == 1 else "Properties"
        raise InvalidInput(f"{noun} {', '.join(missing)} must be set prior to saving data.")
    row.status = "saving"
    touch(s, row)
    return row


def _restore_queued(s: Session, image_id: str) -> None:
    row = s.get(Image, image_id)
    if row is not None and row.status == "saving":
        row.status = "queued"
        touch(s, row)


def _virtual_size(row: Image, write: PartialWrite, require_format_match: bool) -> int | None:
    """Glance's in-flight inspection, for ``bare`` images only."""
    if row.container_format != "bare":
        return None
    found = formats.inspect(write.head)
    try:
        return formats.check(row.disk_format, found, write.size)
    except formats.FormatMismatch as exc:
        if require_format_match:
            raise InvalidImageData(str(exc)) from None
        return None


async def upload(db: Database, store: ImageStore, ctx: RequestContext, image_id: str,
                 chunks: AsyncIterable[bytes], *, size_cap: int,
                 require_format_match: bool) -> ImageRecord:
    """Stream ``chunks`` in as the image's data; ``active`` only once all of it is in.

    Any failure (a refused format, a size over the cap, the client going away) drops
    the part file and puts the image back to ``queued``, as Glance's ``_restore``.
    """
    with db.session() as s:
        row = begin_upload(s, ctx, image_id)
    write = store.begin(image_id)
    try:
        async for chunk in chunks:
            if write.size + len(chunk) > size_cap:
                raise LimitExceeded("The incoming image is too large: The provided image "
                                    "is too large.")
            write.write(chunk)
        virtual_size = _virtual_size(row, write, require_format_match)
        write.commit()
    except BaseException:
        write.abort()
        with db.session() as s:
            _restore_queued(s, image_id)
        raise
    with db.session() as s:
        current = s.get(Image, image_id)
        if current is None or current.status != "saving":
            store.delete(image_id)
            raise Gone(f"Image {image_id} could not be found after upload. The image may "
                       "have been deleted during the upload, cleaning up the chunks "
                       "uploaded.")
        record_data(current, write, virtual_size)
        s.add(current)
        s.flush()
        return to_record(s, current)


def open_data(s: Session, store: ImageStore, ctx: RequestContext,
              image_id: str) -> ImageData | None:
    """The image's data for download, or None when it has none (Glance's 204)."""
    row = visible_row(s, ctx, image_id)
    if row.status == "deactivated" and not ctx.is_admin:
        raise Forbidden("The requested image has been deactivated. Image data download is "
                        "forbidden.")
    authorize(ctx, "download_image", target(s, ctx, row))
    record = to_record(s, row)
    if record.status not in ("active", "deactivated"):
        return None
    handle = store.open(image_id)
    if handle is None:
        return None
    return ImageData(record, handle, record.size or 0)
