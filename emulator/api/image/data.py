"""Image data over HTTP: the upload (``PUT .../file``, streamed to the domain) and the
download (``GET .../file``, with one byte range at most, as Glance serves it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import BinaryIO

from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from emulator.api.compute.common import context
from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response
from emulator.image.service import ImageService

CHUNK = 64 * 1024


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """A single ``Range: bytes=a-b`` as inclusive offsets; 416 when it cannot be served."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            count = int(last)
            if count <= 0:
                raise ValueError
            start, end = max(size - count, 0), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        raise Fault(416, "Requested range not satisfiable") from None
    if start < 0 or start >= size or end < start:
        raise Fault(416, "Requested range not satisfiable",
                    {"Content-Range": f"bytes */{size}"})
    return start, min(end, size - 1)


def _file_chunks(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


class DataController:
    def __init__(self, images: ImageService) -> None:
        self.images = images

    async def upload(self, call: Call) -> Response:
        request = call.request
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip()
        if media_type != "application/octet-stream":
            raise Fault(415, f"Invalid content type {media_type or None}")
        declared = request.headers.get("x-openstack-image-size")
        if declared is not None and not declared.strip().lstrip("-").isdigit():
            raise Fault(400, "Invalid or missing image size in request headers.")

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in request.stream():
                if chunk:
                    yield chunk

        try:
            await self.images.upload(context(call), call.params["image_id"], chunks())
        except ClientDisconnect:
            # The image is queued again; nobody is left to read this answer.
            raise Fault(400, "The client went away before the image data was complete.") \
                from None
        return empty_response(204)

    async def download(self, call: Call) -> Response:
        data = self.images.open_data(context(call), call.params["image_id"])
        if data is None:
            return empty_response(204)
        headers = {"Content-Type": "application/octet-stream"}
        if data.record.checksum:
            headers["Content-MD5"] = data.record.checksum
        start, length, status = 0, data.size, 200
        requested = call.request.headers.get("range")
        if requested and data.size:
            try:
                span = _byte_range(requested, data.size)
            except Fault:
                data.file.close()
                raise
            if span is not None:
                start, end = span
                length, status = end - start + 1, 206
                headers["Content-Range"] = f"bytes {start}-{end}/{data.size}"
        headers["Content-Length"] = str(length)
        return StreamingResponse(_file_chunks(data.file, start, length), status_code=status,
                                 headers=headers, media_type="application/octet-stream")
