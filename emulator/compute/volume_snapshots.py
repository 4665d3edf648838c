"""Assisted volume snapshots (``/os-assisted-volume-snapshots``): what Cinder's remote-FS
drivers ask Nova to do to a volume attached to a server, as Nova answers them.

Nova first finds the volume's block device mapping; no volume is ever attached to a
server here (there is no block storage service yet), so every request that gets that far
is Nova's 400 for a volume with none.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from emulator.compute.policy import authorize
from emulator.context import RequestContext
from emulator.errors import InvalidInput


def _rule(name: str) -> str:
    return f"os_compute_api:os-assisted-volume-snapshots:{name}"


def _no_attachment(volume_id: str) -> NoReturn:
    raise InvalidInput(f"No volume Block Device Mapping with id {volume_id}.")


def parse_delete_info(text: str | None) -> dict[str, Any]:
    """``?delete_info=<JSON object with volume_id>``; Nova's 400s say the missing key
    (``'delete_info'``, ``'volume_id'``) or the JSON error. NOTE: JSON that is not an
    object is a 500 in Nova (a TypeError); a 400 here, as bad input."""
    if text is None:
        raise InvalidInput("'delete_info'")
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if not isinstance(info, dict):
        raise InvalidInput(f"delete_info must be a JSON object, not {text}")
    if "volume_id" not in info:
        raise InvalidInput("'volume_id'")
    return info


class AssistedVolumeSnapshots:
    def create(self, ctx: RequestContext, volume_id: str) -> NoReturn:
        """A snapshot of the volume's file, made by the server's host."""
        authorize(ctx, _rule("create"))
        _no_attachment(volume_id)

    def delete(self, ctx: RequestContext, delete_info: str | None) -> NoReturn:
        """The snapshot merged away by the server's host (``delete_info`` names the
        volume)."""
        authorize(ctx, _rule("delete"))
        _no_attachment(str(parse_delete_info(delete_info)["volume_id"]))
