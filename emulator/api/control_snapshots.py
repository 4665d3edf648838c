"""``/_emulator/snapshot``: the whole cloud as one file, saved and loaded.

| route | what |
|---|---|
| ``GET /snapshot`` | the snapshot file (``application/gzip``; ``emulator.control.snapshots``) |
| ``PUT /snapshot`` | the body is a snapshot file: the cloud becomes the one it holds (204) |

The simulated backend's only (409 elsewhere). After a ``PUT`` every token is the saved
cloud's: the caller logs in again. ``nova-emulator snapshot save/load`` call these.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response
from emulator.control.snapshots import now_text

#: Write the cloud's snapshot to a file / load the cloud from one.
SaveSnapshot = Callable[[Path], Awaitable[None]]
LoadSnapshot = Callable[[Path], Awaitable[None]]
MEDIA_TYPE = "application/gzip"
#: The routes whose body is not JSON (``ControlAPI.dispatch`` does not parse it).
RAW_BODIES = frozenset({("PUT", "/snapshot")})


class SnapshotControl:
    """The handlers of ``/_emulator/snapshot``."""

    def __init__(self, save: SaveSnapshot, load: LoadSnapshot, max_bytes: int) -> None:
        self.save = save
        self.load = load
        #: The largest snapshot file taken (the image service's size cap).
        self.max_bytes = max_bytes

    async def download(self, call: Call) -> Response:
        fd, name = tempfile.mkstemp(prefix="nova-emulator-", suffix=".tar.gz")
        os.close(fd)
        target = Path(name)
        try:
            await self.save(target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        stamp = now_text().replace(":", "")
        return FileResponse(target, media_type=MEDIA_TYPE,
                            filename=f"nova-emulator-{stamp}.tar.gz",
                            background=BackgroundTask(target.unlink, missing_ok=True))

    async def upload(self, call: Call) -> Response:
        with tempfile.TemporaryDirectory(prefix="nova-emulator-upload-") as scratch:
            source = Path(scratch) / "snapshot.tar.gz"
            size = 0
            with source.open("wb") as f:
                async for chunk in call.request.stream():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise Fault(413, "Request is too large. A snapshot is at most "
                                         f"{self.max_bytes} bytes.")
                    f.write(chunk)
            if size == 0:
                raise Fault(400, "A snapshot file is required as the request body.")
            await self.load(source)
        return empty_response(204)
