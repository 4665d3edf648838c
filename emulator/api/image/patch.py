"""Glance's JSON-patch dialects (``openstack-images-v2.1-json-patch``, draft 10, and the
older v2.0 one, draft 4): the media type, the pointer, and each operation, with Glance's
checks and messages."""

from __future__ import annotations

import re
from typing import Any, Literal

from emulator.api.faults import Fault
from emulator.api.image.bodies import RESERVED, check_property_name
from emulator.api.image.schemas import validate_image
from emulator.image.service import Change

#: Patch media type -> JSON-patch draft.
PATCH_TYPES = {
    "application/openstack-images-v2.0-json-patch": 4,
    "application/openstack-images-v2.1-json-patch": 10,
}
OPERATIONS = ("add", "remove", "replace")
OPERATION_NAMES: dict[str, Literal["add", "remove", "replace"]] = {
    "add": "add", "remove": "remove", "replace": "replace"}


def patch_draft(content_type: str) -> int:
    """The draft a PATCH's ``Content-Type`` names, or Glance's 415 with ``Accept-Patch``."""
    media_type = content_type.split(";", 1)[0].strip()
    if media_type not in PATCH_TYPES:
        allowed = ", ".join(sorted(PATCH_TYPES))
        raise Fault(415, f"The request media type {media_type or None} is not supported by "
                         f"this server. Image PATCH expects Content-Type one of: {allowed}",
                    {"Accept-Patch": allowed})
    return PATCH_TYPES[media_type]


def _pointer(pointer: Any) -> tuple[str, ...]:
    """A JSON pointer as path segments, with Glance's checks and messages."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise Fault(400, f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise Fault(400, f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise Fault(400, f'Pointer `{pointer}` end with "/".')
    if pointer[1:].strip() == "/":
        raise Fault(400, f"Pointer `{pointer}` does not contains valid token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise Fault(400, f'Pointer `{pointer}` contains "~" not part of a recognized '
                         "escape sequence.")
    return tuple(part.replace("~1", "/").replace("~0", "~").strip()
                 for part in pointer[1:].split("/"))


def _operation(raw: dict[str, Any], draft: int) -> tuple[str, Any]:
    """The operation's name and pointer: ``{"op", "path"}`` (draft 10) or ``{op: path}``."""
    available = ", ".join(OPERATIONS)
    if draft != 10:
        named = [key for key in OPERATIONS if key in raw]
        if len(named) != 1:
            raise Fault(400, "Operation objects must contain exactly one member named "
                             '"add", "remove", or "replace".' if not named else
                             "Operation objects must contain only one member named "
                             '"add", "remove", or "replace".')
        return named[0], raw[named[0]]
    op = raw.get("op")
    if op is None:
        raise Fault(400, "Unable to find `op` in JSON Schema change. It must be one of the "
                         f"following: {available}.")
    if op not in OPERATIONS:
        raise Fault(400, f"Invalid operation: `{op}`. It must be one of the following: "
                         f"{available}.")
    if "path" not in raw:
        raise Fault(400, "Unable to find 'path' in JSON Schema change")
    return op, raw["path"]


def parse_change(raw: Any, draft: int) -> Change:
    """One operation of a JSON-patch body (``_parse_json_schema_change`` and friends)."""
    if not isinstance(raw, dict):
        raise Fault(400, "Operations must be JSON objects.")
    op, pointer = _operation(raw, draft)
    path = _pointer(pointer)
    if len(path) != 1:
        raise Fault(400, f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
    value = None
    if op != "remove":
        if "value" not in raw:
            raise Fault(400, f'Operation "{op}" requires a member named "value".')
        value = raw["value"]
    check_property_name(path[0], RESERVED)
    if op != "remove":
        validate_image({path[0]: value})
    return Change(op=OPERATION_NAMES[op], path=path, value=value, draft=draft)


def parse_patch(body: Any, draft: int) -> list[Change]:
    if not isinstance(body, list):
        raise Fault(400, "Request body must be a JSON array of operation objects.")
    return [parse_change(raw, draft) for raw in body]
