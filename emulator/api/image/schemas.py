"""The schemas Glance publishes (``GET /v2/schemas/...``), and the check of create and
patch values against the image schema, with Glance's message."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema

from emulator.api.faults import Fault
from emulator.image.service import CONTAINER_FORMATS, DISK_FORMATS

_UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                 "-([0-9a-fA-F]){12}$")


def _prop(kind: Any, description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "description": description, **more}


#: The image attributes: Glance's base properties.
BASE_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": _prop("string", "An identifier for the image", pattern=_UUID_PATTERN),
    "name": _prop(["null", "string"], "Descriptive name for the image", maxLength=255),
    "status": _prop("string", "Status of the image", readOnly=True,
                    enum=["queued", "saving", "active", "killed", "deleted", "uploading",
                          "importing", "pending_delete", "deactivated"]),
    "visibility": _prop("string", "Scope of image accessibility",
                        enum=["community", "public", "private", "shared"]),
    "protected": _prop("boolean", "If true, image will not be deletable."),
    "os_hidden": _prop("boolean", "If true, image will not appear in default image list "
                                  "response."),
    "checksum": _prop(["null", "string"], "md5 hash of image contents.", readOnly=True,
                      maxLength=32),
    "os_hash_algo": _prop(["null", "string"], "Algorithm to calculate the os_hash_value",
                          readOnly=True, maxLength=64),
    "os_hash_value": _prop(["null", "string"], "Hexdigest of the image contents using the "
                           "algorithm specified by the os_hash_algo", readOnly=True,
                           maxLength=128),
    "owner": _prop(["null", "string"], "Owner of the image", maxLength=255),
    "size": _prop(["null", "integer"], "Size of image file in bytes", readOnly=True),
    "virtual_size": _prop(["null", "integer"], "Virtual size of image in bytes",
                          readOnly=True),
    "container_format": _prop(["null", "string"], "Format of the container",
                              enum=[None, *CONTAINER_FORMATS]),
    "disk_format": _prop(["null", "string"], "Format of the disk",
                         enum=[None, *DISK_FORMATS]),
    "created_at": _prop("string", "Date and time of image registration", readOnly=True),
    "updated_at": _prop("string", "Date and time of the last image modification",
                        readOnly=True),
    "tags": _prop("array", "List of strings related to the image",
                  items={"type": "string", "maxLength": 255}),
    "direct_url": _prop("string", "URL to access the image file kept in external store",
                        readOnly=True),
    "min_ram": _prop("integer", "Amount of ram (in MB) required to boot image."),
    "min_disk": _prop("integer", "Amount of disk space (in GB) required to boot image."),
    "self": _prop("string", "An image self url", readOnly=True),
    "file": _prop("string", "An image file url", readOnly=True),
    "stores": _prop("string", "Store in which image data resides.  Only present when the "
                    "operator has enabled multiple stores.  May be a comma-separated list "
                    "of store identifiers.", readOnly=True),
    "schema": _prop("string", "An image schema url", readOnly=True),
    "locations": _prop("array", "A set of URLs to access the image file kept in external "
                       "store", items={"type": "object", "properties": {
                           "url": {"type": "string", "maxLength": 255},
                           "metadata": {"type": "object"}},
                           "required": ["url", "metadata"]}),
}
#: The custom properties of the ``schema-image.json`` Glance ships.
CUSTOM_PROPERTIES: dict[str, dict[str, Any]] = {
    "kernel_id": _prop(["null", "string"], "ID of image stored in Glance that should be used "
                       "as the kernel when booting an AMI-style image.",
                       pattern=_UUID_PATTERN, is_base=False),
    "ramdisk_id": _prop(["null", "string"], "ID of image stored in Glance that should be "
                        "used as the ramdisk when booting an AMI-style image.",
                        pattern=_UUID_PATTERN, is_base=False),
    "instance_uuid": _prop("string", "Metadata which can be used to record which instance "
                           "this image is associated with. (Informational only, does not "
                           "create an instance snapshot.)", is_base=False),
    "architecture": _prop("string", "Operating system architecture", is_base=False),
    "os_distro": _prop("string", "Common name of operating system distribution",
                       is_base=False),
    "os_version": _prop("string", "Operating system version as specified by the "
                        "distributor.", is_base=False),
    "description": _prop("string", "A human-readable string describing this image.",
                         is_base=False),
    "cinder_encryption_key_id": _prop("string", "Identifier in the OpenStack Key Management "
                                      "Service for the encryption key for the Block Storage "
                                      "Service to use when mounting a volume created from "
                                      "this image", is_base=False),
    "cinder_encryption_key_deletion_policy": _prop(
        "string", "States the condition under which the Image Service will delete the "
        "object associated with the 'cinder_encryption_key_id' image property.",
        enum=["on_image_deletion", "do_not_delete"], is_base=False),
}
IMAGE_SCHEMA: dict[str, Any] = {
    "name": "image",
    "properties": {**BASE_PROPERTIES, **CUSTOM_PROPERTIES},
    "additionalProperties": {"type": "string"},
    "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
              {"rel": "describedby", "href": "{schema}"}],
}
IMAGES_SCHEMA: dict[str, Any] = {
    "name": "images",
    "properties": {
        "images": {"type": "array", "items": IMAGE_SCHEMA},
        "first": {"type": "string"},
        "next": {"type": "string"},
        "schema": {"type": "string"},
    },
    "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
              {"rel": "describedby", "href": "{schema}"}],
}
MEMBER_SCHEMA: dict[str, Any] = {
    "name": "member",
    "properties": {
        "member_id": _prop("string", "An identifier for the image member (tenantId)"),
        "image_id": _prop("string", "An identifier for the image", pattern=_UUID_PATTERN),
        "created_at": _prop("string", "Date and time of image member creation"),
        "updated_at": _prop("string", "Date and time of last modification of image member"),
        "status": _prop("string", "The status of this image member",
                        enum=["pending", "accepted", "rejected"]),
        "schema": {"readOnly": True, "type": "string"},
    },
}
MEMBERS_SCHEMA: dict[str, Any] = {
    "name": "members",
    "properties": {"members": {"type": "array", "items": MEMBER_SCHEMA},
                   "schema": {"type": "string"}},
    "links": [{"rel": "describedby", "href": "{schema}"}],
}
#: What create and patch values are checked against (the published schema, as an object).
_VALIDATION_SCHEMA = {**copy.deepcopy(IMAGE_SCHEMA), "type": "object"}
_VALIDATOR = jsonschema.Draft4Validator(_VALIDATION_SCHEMA)


def validate_image(obj: Any) -> None:
    """400 unless ``obj`` (a create body, or one patched key) fits the image schema."""
    error = next(iter(_VALIDATOR.iter_errors(obj)), None)
    if error is not None:
        raise Fault(400, f"Provided object does not match schema 'image': {error}")
