"""JSON request bodies as Glance's ``RequestDeserializer`` reads them: the create body (its
attributes, properties and forbidden keys), the member bodies, and the property-name rules
a create and a patch share."""

from __future__ import annotations

from typing import Any

from emulator.api.compute.common import context
from emulator.api.faults import Fault
from emulator.api.image.schemas import validate_image
from emulator.api.requests import parse_json, read_body
from emulator.api.routing import Call
from emulator.image.service import NewImage

#: Keys a create body may not carry at all.
DISALLOWED = ("direct_url", "self", "file", "schema", "stores")
#: Attributes only Glance sets.
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size",
             "direct_url", "self", "file", "schema", "id", "os_hash_algo", "os_hash_value")
#: Property names nobody may set (and, at create, ``locations``).
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_ON_CREATE = (*RESERVED, "locations")
RESERVED_NAMESPACE = "os_glance"
#: Keys of a create body that are attributes; every other key is a property.
CREATE_ATTRIBUTES = ("id", "name", "visibility", "protected", "os_hidden", "owner",
                     "disk_format", "container_format", "min_disk", "min_ram")


async def read_json(call: Call, max_body: int) -> Any:
    """A JSON body (dict or list), with Glance's messages."""
    raw = await read_body(call.request, max_body)
    if not raw:
        raise Fault(400, "Body expected in request.")
    try:
        body = parse_json(raw, None)
    except Fault:
        raise Fault(400, "Malformed JSON in request body.") from None
    if not isinstance(body, dict | list):
        raise Fault(400, "Unexpected body type. Expected list/dict.")
    return body


def check_property_name(name: str, reserved: tuple[str, ...]) -> None:
    """A key a create or patch sets: not too long, not read-only, not ``reserved``."""
    if len(name) > 255:
        raise Fault(400, "Custom property should not be greater than 255 characters.")
    if name in READ_ONLY:
        raise Fault(403, f"Attribute '{name}' is read-only.")
    if name in reserved or name.startswith(RESERVED_NAMESPACE):
        raise Fault(403, f"Attribute '{name}' is reserved.")


def new_image(call: Call, body: Any) -> NewImage:
    """A create body as a ``NewImage`` owned, unless it says otherwise, by the caller."""
    if isinstance(body, dict):
        for key in DISALLOWED:
            if key in body:
                raise Fault(403, f"Attribute '{key}' is read-only.")
    validate_image(body)
    assert isinstance(body, dict)
    for key in READ_ONLY:
        if key in body and key != "id":
            raise Fault(403, f"Attribute '{key}' is read-only.")
    properties = {k: v for k, v in body.items() if k not in CREATE_ATTRIBUTES and k != "tags"}
    for key in properties:
        check_property_name(key, RESERVED_ON_CREATE)
    return NewImage(
        owner=body.get("owner", context(call).project_id),
        id=body.get("id"),
        name=body.get("name"),
        visibility=body.get("visibility", "shared"),
        protected=body.get("protected", False),
        os_hidden=body.get("os_hidden", False),
        disk_format=body.get("disk_format"),
        container_format=body.get("container_format"),
        min_disk=body.get("min_disk", 0),
        min_ram=body.get("min_ram", 0),
        properties=properties,
        tags=body.get("tags", []),
    )


def member_id(body: Any) -> str:
    """The project of ``{"member": "<project>"}``."""
    if not isinstance(body, dict):
        raise Fault(400, 'Expected a member in the form: {"member": "image_id"}')
    if "member" not in body:
        raise Fault(400, "Member to be added not specified")
    member = body["member"]
    if not member:
        raise Fault(400, "Member can't be empty")
    if not isinstance(member, str) or len(member) > 255:
        raise Fault(400, 'Expected a member in the form: {"member": "image_id"}')
    return member


def member_status(body: Any) -> str:
    """The status of ``{"status": "<status>"}`` (checked by the domain)."""
    if not isinstance(body, dict):
        raise Fault(400, 'Expected a status in the form: {"status": "status"}')
    if "status" not in body:
        raise Fault(400, "Status not specified")
    return str(body["status"])
