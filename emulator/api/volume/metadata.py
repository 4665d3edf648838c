"""Metadata of volumes and snapshots over HTTP (``/volumes/{id}/metadata[/{key}]``,
``/snapshots/{id}/metadata[/{key}]``): one controller, told which resource it serves
(Cinder's ``volume_metadata`` and ``snapshot_metadata`` controllers behave alike)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response

from emulator.api.faults import Fault
from emulator.api.routing import Call, empty_response, json_response
from emulator.api.volume import schemas
from emulator.api.volume.common import context, validate
from emulator.context import RequestContext
from emulator.volume.service import VolumeService


@dataclass(frozen=True)
class MetadataOps:
    """The domain calls for one kind of resource's metadata."""

    param: str
    get: Callable[[RequestContext, str], dict[str, str]]
    item: Callable[[RequestContext, str, str], str]
    update: Callable[[RequestContext, str, dict[str, str], bool], dict[str, str]]
    delete: Callable[[RequestContext, str, str], None]


def volume_ops(volumes: VolumeService) -> MetadataOps:
    return MetadataOps("volume_id", volumes.volume_metadata, volumes.volume_metadata_item,
                       volumes.update_volume_metadata, volumes.delete_volume_metadata_item)


def snapshot_ops(volumes: VolumeService) -> MetadataOps:
    return MetadataOps("snapshot_id", volumes.snapshot_metadata,
                       volumes.snapshot_metadata_item, volumes.update_snapshot_metadata,
                       volumes.delete_snapshot_metadata_item)


class MetadataController:
    def __init__(self, ops: MetadataOps) -> None:
        self.ops = ops

    def _owner(self, call: Call) -> str:
        return call.params[self.ops.param]

    async def index(self, call: Call) -> Response:
        return json_response({"metadata": self.ops.get(context(call), self._owner(call))})

    async def create(self, call: Call) -> Response:
        """``POST``: merge into the metadata."""
        values = validate(schemas.METADATA_BODY, call.body)["metadata"]
        merged = self.ops.update(context(call), self._owner(call), values, False)
        return json_response({"metadata": merged})

    async def update_all(self, call: Call) -> Response:
        """``PUT``: the body becomes the metadata."""
        values = validate(schemas.METADATA_BODY, call.body)["metadata"]
        replaced = self.ops.update(context(call), self._owner(call), values, True)
        return json_response({"metadata": replaced})

    async def show(self, call: Call) -> Response:
        key = call.params["key"]
        value = self.ops.item(context(call), self._owner(call), key)
        return json_response({"meta": {key: value}})

    async def update(self, call: Call) -> Response:
        item = validate(schemas.META_ITEM_BODY, call.body)["meta"]
        if call.params["key"] not in item:
            raise Fault(400, "Request body and URI mismatch")
        self.ops.update(context(call), self._owner(call), item, False)
        return json_response({"meta": item})

    async def delete(self, call: Call) -> Response:
        self.ops.delete(context(call), self._owner(call), call.params["key"])
        return empty_response(200)
