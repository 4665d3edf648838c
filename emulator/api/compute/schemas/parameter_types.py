"""Schema fragments Nova reuses across its request schemas (``nova/api/validation/
parameter_types.py``: facts, not Nova's code), and the helpers that build schemas in
Nova's keyword order (see ``emulator.api.compute.schemas``)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

Schema = dict[str, Any]

#: ``nova.objects.instance.MAX_TAG_COUNT`` and ``nova.objects.tag.MAX_TAG_LENGTH``.
MAX_TAG_COUNT = 50
MAX_TAG_LENGTH = 60
#: ``user_data`` is a base64 text of at most this many characters (the MEDIUMTEXT-era
#: limit Nova kept as ``MAX_USERDATA_SIZE``).
MAX_USER_DATA_LENGTH = 65535

#: The database's MAX_INT bounds every integer a flavor stores.
MAX_INT = 0x7FFFFFFF

NAME: dict[str, Any] = {"type": "string", "format": "name", "minLength": 1, "maxLength": 255}

BOOLEAN: dict[str, Any] = {
    "type": ["boolean", "string"],
    "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
             False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"],
}

POSITIVE_INTEGER: dict[str, Any] = {
    "type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1, "minLength": 1,
}
NON_NEGATIVE_INTEGER: dict[str, Any] = {
    "type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1,
}

FLAVOR_POSITIVE: dict[str, Any] = {
    "type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": MAX_INT,
}
FLAVOR_NON_NEGATIVE: dict[str, Any] = {**FLAVOR_POSITIVE, "minimum": 0}


def multi(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter that may be repeated: a list of values, each matching ``schema``."""
    return {"type": "array", "items": schema}


def derive(base: Schema, edit: Callable[[Schema], None]) -> Schema:
    """A deep copy of ``base`` changed in place by ``edit`` (the base is left alone)."""
    schema = copy.deepcopy(base)
    edit(schema)
    return schema


def obj(properties: Schema, required: Iterable[str] = (), additional: bool = False) -> Schema:
    """An object schema with Nova's keyword order: properties, required, additional."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    schema["additionalProperties"] = additional
    return schema


def wrapped(key: str, inner: Schema) -> Schema:
    """``{"<key>": inner}`` with nothing else allowed at the top level."""
    return obj({key: inner}, required=[key])


def inner(schema: Schema, key: str) -> Schema:
    """The ``properties`` of the wrapped object (``server``, ``rebuild``...)."""
    props: Schema = schema["properties"][key]["properties"]
    return props


# -- shared fragments (nova/api/validation/parameter_py) ----------------------------

UUID: Schema = {"type": "string", "format": "uuid"}
NULLABLE_UUID: Schema = {"type": ["string", "null"], "format": "uuid"}

#: A server tag; also what ``PUT /servers/{id}/tags/{tag}`` checks its path segment with.
TAG: Schema = {
    "type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": MAX_TAG_LENGTH,
}
TAGS: Schema = {"type": "array", "items": TAG, "maxItems": MAX_TAG_COUNT}

NAME_WITH_SPACES: Schema = {
    "type": "string", "format": "name_with_leading_trailing_spaces",
    "minLength": 1, "maxLength": 255,
}
NAME_OR_NONE: Schema = {
    "oneOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "null"}],
}
# NOTE: Nova spells the description rule as a pattern of every printable BMP character;
# the ``description`` format is the same test (only the error text differs, see
# HANDLER_CHECKS).
DESCRIPTION: Schema = {
    "type": ["string", "null"], "format": "description", "minLength": 0, "maxLength": 255,
}
# RFC 952/1123 host label: letters, digits and inner hyphens, 2-63 characters.
HOSTNAME: Schema = {
    "type": "string", "pattern": "^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$",
    "minLength": 2, "maxLength": 63,
}
# A host or domain name; underscores are tolerated because real hosts have them.
FQDN: Schema = {
    "type": "string", "pattern": "^[a-zA-Z0-9-._]*$", "minLength": 1, "maxLength": 255,
}
IMAGE_ID_OR_EMPTY: Schema = {"oneOf": [UUID, {"type": "string", "maxLength": 0}]}
FLAVOR_REF: Schema = {"type": ["string", "integer"], "minLength": 1}
ADMIN_PASSWORD: Schema = {"type": "string"}
METADATA_KEY = "^[a-zA-Z0-9-_:. ]{1,255}$"
METADATA: Schema = {
    "type": "object",
    "patternProperties": {METADATA_KEY: {"type": "string", "maxLength": 255}},
    "additionalProperties": False,
}
IP_ADDRESS: Schema = {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
ACCESS_IPV4: Schema = {"type": "string", "format": "ipv4"}
ACCESS_IPV6: Schema = {"type": "string", "format": "ipv6"}
DISK_CONFIG: Schema = {"type": "string", "enum": ["AUTO", "MANUAL"]}
VOLUME_SIZE: Schema = {
    "type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1,
    "maximum": MAX_INT,
}
VOLUME_TYPE: Schema = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
PERSONALITY: Schema = {
    "type": "array",
    "items": obj({"path": {"type": "string"},
                   "contents": {"type": "string", "format": "base64"}}),
}
# At most 50 distinct certificate ids; null resets them on rebuild.
TRUSTED_CERTS: Schema = {
    "type": ["array", "null"], "minItems": 1, "maxItems": 50, "uniqueItems": True,
    "items": {"type": "string", "minLength": 1},
}
USER_DATA: Schema = {"type": "string", "format": "base64", "maxLength": MAX_USER_DATA_LENGTH}
NULLABLE_USER_DATA: Schema = {**USER_DATA, "type": ["string", "null"]}


def single(item: Schema) -> Schema:
    """A query parameter given at most once."""
    return {**multi(item), "maxItems": 1}


QUERY_ANY = multi({"type": "string"})
QUERY_REGEX = multi({"type": "string", "format": "regex"})
QUERY_DATE_TIME = multi({"type": "string", "format": "date-time"})
PAGINATION: Schema = {
    "limit": multi(NON_NEGATIVE_INTEGER),
    "marker": multi({"type": "string"}),
}


def no_params(strict: bool) -> Schema:
    """A query taking no parameters: extra ones ignored (``strict=False``) or refused."""
    return {"type": "object", "properties": {}, "additionalProperties": not strict}


ANY_QUERY = no_params(strict=False)
NO_QUERY = no_params(strict=True)
