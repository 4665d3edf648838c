"""Images as Glance keeps them: the image service's entry points, one per operation.

The Glance API and Nova's image proxy both call ``ImageService``; it never speaks HTTP.
Each entry runs one module's operation in one transaction (``records`` and ``rows`` for
what an image is and who sees it, ``listing``, ``changes``, ``tags``, ``members``,
``data``, ``startup``). Data goes through the ``ImageStore``: an upload is streamed into a
part file, hashed on the way and renamed into place only when complete, so an image is
``active`` only with all of its data, and an interrupted upload leaves it ``queued``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable, Sequence
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from emulator.context import RequestContext
from emulator.db import Database
from emulator.image import changes, data, listing, members, rows, startup, tags
from emulator.image.changes import property_changes
from emulator.image.errors import (
    Gone,
    InvalidImageData,
    LimitExceeded,
    PropertyLimitExceeded,
    TagNotFound,
)
from emulator.image.limits import MEMBER_QUOTA, PROPERTY_QUOTA, SIZE_CAP, TAG_QUOTA
from emulator.image.listing import parse_time, split_filter_op, split_in_values
from emulator.image.records import (
    ATTRIBUTES,
    CONTAINER_FORMATS,
    DISK_FORMATS,
    MEMBER_STATUSES,
    SORT_KEYS,
    STATUSES,
    VISIBILITIES,
    Change,
    ImageData,
    ImagePage,
    ImageQuery,
    ImageRecord,
    MemberRecord,
    NewImage,
)
from emulator.image.startup import SEED_IMAGES
from emulator.image.store import ImageStore

#: Names other modules import from here (they live in the modules named above).
__all__ = [
    "ATTRIBUTES", "CONTAINER_FORMATS", "DISK_FORMATS", "MEMBER_QUOTA", "MEMBER_STATUSES",
    "PROPERTY_QUOTA", "SEED_IMAGES", "SIZE_CAP", "SORT_KEYS", "STATUSES", "TAG_QUOTA",
    "VISIBILITIES", "Change", "Gone", "ImageData", "ImagePage", "ImageQuery", "ImageRecord",
    "ImageService", "InvalidImageData", "LimitExceeded", "MemberRecord", "NewImage",
    "PropertyLimitExceeded", "TagNotFound", "parse_time", "property_changes",
    "split_filter_op", "split_in_values",
]

P = ParamSpec("P")
T = TypeVar("T")


class ImageService:
    def __init__(
        self,
        db: Database,
        store: ImageStore,
        require_format_match: bool = True,
        size_cap: int = SIZE_CAP,
    ) -> None:
        self.db = db
        self.store = store
        self.require_format_match = require_format_match
        self.size_cap = size_cap

    def _transaction(self, operation: Callable[Concatenate[Session, P], T],
                     *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``operation`` in one transaction: committed if it returns, else rolled back."""
        with self.db.session() as s:
            return operation(s, *args, **kwargs)

    # -- start-up -------------------------------------------------------------------------

    def recover(self) -> None:
        startup.recover(self.db, self.store)

    def seed(self, owner: str | None) -> None:
        startup.seed(self.db, self.store, owner)

    def register_file(self, image_id: str, name: str, disk_format: str, source: Path,
                      owner: str | None) -> None:
        startup.register_file(self.db, self.store, image_id, name, disk_format, source,
                              owner)

    # -- images ---------------------------------------------------------------------------

    def get(self, ctx: RequestContext, image_id: str) -> ImageRecord:
        with self.db.reading() as connection:  # reads only: no session
            return rows.get(connection, ctx, image_id)

    def list_images(self, ctx: RequestContext, query: ImageQuery) -> ImagePage:
        return self._transaction(listing.list_images, ctx, query)

    def create(self, ctx: RequestContext, new: NewImage) -> ImageRecord:
        return self._transaction(changes.create, ctx, new)

    def update(self, ctx: RequestContext, image_id: str,
               patch: Sequence[Change]) -> ImageRecord:
        return self._transaction(changes.update, ctx, image_id, patch)

    def delete(self, ctx: RequestContext, image_id: str) -> None:
        self._transaction(changes.delete, ctx, image_id)
        self.store.delete(image_id)

    def set_active(self, ctx: RequestContext, image_id: str, active: bool) -> None:
        self._transaction(changes.set_active, ctx, image_id, active)

    def tasks(self, ctx: RequestContext, image_id: str) -> list[dict[str, Any]]:
        """The tasks that worked on an image ``ctx`` can see (Glance's
        ``tasks_get_by_image``: an import's). This image service has no import: its
        images are made by create and upload, or by Nova's snapshots, which have none."""
        self.get(ctx, image_id)
        return []

    # -- tags -----------------------------------------------------------------------------

    def add_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        self._transaction(tags.add, ctx, image_id, tag)

    def remove_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        self._transaction(tags.remove, ctx, image_id, tag)

    # -- data -----------------------------------------------------------------------------

    async def upload(self, ctx: RequestContext, image_id: str,
                     chunks: AsyncIterable[bytes]) -> ImageRecord:
        return await data.upload(self.db, self.store, ctx, image_id, chunks,
                                 size_cap=self.size_cap,
                                 require_format_match=self.require_format_match)

    def open_data(self, ctx: RequestContext, image_id: str) -> ImageData | None:
        return self._transaction(data.open_data, self.store, ctx, image_id)

    # -- members --------------------------------------------------------------------------

    def list_members(self, ctx: RequestContext, image_id: str) -> list[MemberRecord]:
        return self._transaction(members.list_members, ctx, image_id)

    def add_member(self, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
        return self._transaction(members.add, ctx, image_id, member_id)

    def get_member(self, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
        return self._transaction(members.get, ctx, image_id, member_id)

    def update_member(self, ctx: RequestContext, image_id: str, member_id: str,
                      status: str) -> MemberRecord:
        return self._transaction(members.update, ctx, image_id, member_id, status)

    def remove_member(self, ctx: RequestContext, image_id: str, member_id: str) -> None:
        self._transaction(members.remove, ctx, image_id, member_id)
