"""Request-body and query-string schemas of the servers API, per microversion.

Covers ``/servers`` (create, update, list/detail/show queries and the actions defined
with the servers controller), ``/servers/{id}/metadata``, ``/servers/{id}/tags``,
``/servers/{id}/ips`` and ``/servers/{id}/os-instance-actions``. The facts (fields,
limits, version windows) are Nova's; see ``SCHEMAS`` at the end for the one table.

Why the key order matters: Nova reports only the *first* error jsonschema yields, and
jsonschema walks a schema's keywords, and an object's ``properties``, in insertion
order. Every schema here keeps Nova's order, and a derived version keeps a replaced
property in its old place (new properties go last), as Nova's deep-copy-and-patch does,
so a body with several faults gets the same 400 message as from Nova.

NOTE: these are validated with Draft 4 semantics (``emulator.api.requests``) while Nova
validates with Draft 2020-12, extended. Where the answers differ:

* Nova holds numeric *strings* to ``minimum``/``maximum`` (``"min_count": "0"`` is a 400
  ``0 is less than the minimum of 1``; so is a ``volume_size`` of ``"0"`` or above
  2147483647); Draft 4 skips those keywords for strings, so the handler must check.
* Nova's ``integer`` takes integral floats (``"min_count": 2.0``, ``"flavorRef": 1.0``,
  ``"boot_index": 0.0``); Draft 4 refuses them (``is not of type``).
* Nova tests a description with a pattern of every printable character, and its message
  quotes that pattern; ours (the ``description`` format) says ``is not a 'description'``.
* Nova's base64 check raises on non-ASCII text (``user_data``, personality ``contents``),
  which ends as a 500 there; ours is a 400 ``is not a 'base64'``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.microversion import APIVersion

__all__ = [
    "MAX_TAG_COUNT",
    "MAX_TAG_LENGTH",
    "MAX_USER_DATA_LENGTH",
    "SCHEMAS",
    "SERVER_LIST_IGNORED_SORT_KEYS",
    "TAG",
    "kept_query",
    "schema_for",
]

Schema = dict[str, Any]
V = APIVersion

#: ``nova.objects.instance.MAX_TAG_COUNT`` and ``nova.objects.tag.MAX_TAG_LENGTH``.
MAX_TAG_COUNT = 50
MAX_TAG_LENGTH = 60
#: ``user_data`` is a base64 text of at most this many characters (the MEDIUMTEXT-era
#: limit Nova kept as ``MAX_USERDATA_SIZE``).
MAX_USER_DATA_LENGTH = 65535
#: The ``connection_info`` column is MEDIUMTEXT.
_MEDIUMTEXT = 16777215


def _derive(base: Schema, edit: Callable[[Schema], None]) -> Schema:
    """A deep copy of ``base`` changed in place by ``edit`` (the base is left alone)."""
    schema = copy.deepcopy(base)
    edit(schema)
    return schema


def _obj(properties: Schema, required: Iterable[str] = (), additional: bool = False) -> Schema:
    """An object schema with Nova's keyword order: properties, required, additional."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    schema["additionalProperties"] = additional
    return schema


def _wrapped(key: str, inner: Schema) -> Schema:
    """``{"<key>": inner}`` with nothing else allowed at the top level."""
    return _obj({key: inner}, required=[key])


def _inner(schema: Schema, key: str) -> Schema:
    """The ``properties`` of the wrapped object (``server``, ``rebuild``...)."""
    props: Schema = schema["properties"][key]["properties"]
    return props


# -- shared fragments (nova/api/validation/parameter_types.py) ----------------------------

UUID: Schema = {"type": "string", "format": "uuid"}
NULLABLE_UUID: Schema = {"type": ["string", "null"], "format": "uuid"}

#: A server tag; also what ``PUT /servers/{id}/tags/{tag}`` checks its path segment with.
TAG: Schema = {
    "type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": MAX_TAG_LENGTH,
}
_TAGS: Schema = {"type": "array", "items": TAG, "maxItems": MAX_TAG_COUNT}

_NAME_WITH_SPACES: Schema = {
    "type": "string", "format": "name_with_leading_trailing_spaces",
    "minLength": 1, "maxLength": 255,
}
_NAME_OR_NONE: Schema = {
    "oneOf": [{"type": "string", "minLength": 1, "maxLength": 255}, {"type": "null"}],
}
# NOTE: Nova spells the description rule as a pattern of every printable BMP character;
# the ``description`` format is the same test (only the error text differs, see
# HANDLER_CHECKS).
_DESCRIPTION: Schema = {
    "type": ["string", "null"], "format": "description", "minLength": 0, "maxLength": 255,
}
# RFC 952/1123 host label: letters, digits and inner hyphens, 2-63 characters.
_HOSTNAME: Schema = {
    "type": "string", "pattern": "^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$",
    "minLength": 2, "maxLength": 63,
}
# A host or domain name; underscores are tolerated because real hosts have them.
_FQDN: Schema = {
    "type": "string", "pattern": "^[a-zA-Z0-9-._]*$", "minLength": 1, "maxLength": 255,
}
_IMAGE_ID_OR_EMPTY: Schema = {"oneOf": [UUID, {"type": "string", "maxLength": 0}]}
_FLAVOR_REF: Schema = {"type": ["string", "integer"], "minLength": 1}
_ADMIN_PASSWORD: Schema = {"type": "string"}
_METADATA_KEY = "^[a-zA-Z0-9-_:. ]{1,255}$"
_METADATA: Schema = {
    "type": "object",
    "patternProperties": {_METADATA_KEY: {"type": "string", "maxLength": 255}},
    "additionalProperties": False,
}
_IP_ADDRESS: Schema = {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}
_ACCESS_IPV4: Schema = {"type": "string", "format": "ipv4"}
_ACCESS_IPV6: Schema = {"type": "string", "format": "ipv6"}
_DISK_CONFIG: Schema = {"type": "string", "enum": ["AUTO", "MANUAL"]}
_VOLUME_SIZE: Schema = {
    "type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1,
    "maximum": types.MAX_INT,
}
_VOLUME_TYPE: Schema = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
_PERSONALITY: Schema = {
    "type": "array",
    "items": _obj({"path": {"type": "string"},
                   "contents": {"type": "string", "format": "base64"}}),
}
# At most 50 distinct certificate ids; null resets them on rebuild.
_TRUSTED_CERTS: Schema = {
    "type": ["array", "null"], "minItems": 1, "maxItems": 50, "uniqueItems": True,
    "items": {"type": "string", "minLength": 1},
}
_USER_DATA: Schema = {"type": "string", "format": "base64", "maxLength": MAX_USER_DATA_LENGTH}
_NULLABLE_USER_DATA: Schema = {**_USER_DATA, "type": ["string", "null"]}


def _multi(item: Schema) -> Schema:
    """A query parameter that may repeat (every value must match ``item``)."""
    return types.multi(item)


def _single(item: Schema) -> Schema:
    """A query parameter given at most once."""
    return {**types.multi(item), "maxItems": 1}


_QUERY_ANY = _multi({"type": "string"})
_QUERY_REGEX = _multi({"type": "string", "format": "regex"})
_QUERY_DATE_TIME = _multi({"type": "string", "format": "date-time"})
_PAGINATION: Schema = {
    "limit": _multi(types.NON_NEGATIVE_INTEGER),
    "marker": _multi({"type": "string"}),
}


def _no_params(strict: bool) -> Schema:
    """A query taking no parameters: extra ones ignored (``strict=False``) or refused."""
    return {"type": "object", "properties": {}, "additionalProperties": not strict}


_ANY_QUERY = _no_params(strict=False)
_NO_QUERY = _no_params(strict=True)


# -- POST /servers ------------------------------------------------------------------------

_LEGACY_BDM: Schema = _obj({
    "virtual_name": {"type": "string", "maxLength": 255},
    "volume_id": UUID,
    "snapshot_id": UUID,
    "volume_size": _VOLUME_SIZE,
    # No empty device names, no spaces (block_device.validate_device_name).
    "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                    "pattern": "^[a-zA-Z0-9._/-]*$"},
    "delete_on_termination": types.BOOLEAN,
    "no_device": {},
    "connection_info": {"type": "string", "maxLength": _MEDIUMTEXT},
})

_BDM_V2: Schema = _derive(_LEGACY_BDM, lambda s: s["properties"].update({
    # The image/volume/snapshot is named by source_type + uuid, or by one of the
    # *_id fields.
    "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
    "uuid": {"type": "string", "minLength": 1, "maxLength": 255,
             "pattern": "^[a-zA-Z0-9._-]*$"},
    "image_id": UUID,
    "destination_type": {"type": "string", "enum": ["local", "volume"]},
    "guest_format": {"type": "string", "maxLength": 255},
    "device_type": {"type": "string", "maxLength": 255},
    "disk_bus": {"type": "string", "maxLength": 255},
    # An integer, possibly as a string; null is still taken (legacy v2 clients).
    "boot_index": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"},
}))

_SCHEDULER_HINTS: Schema = {
    "type": "object",
    "properties": {
        "group": {"oneOf": [{"type": "array", "items": UUID}, UUID]},
        # One server uuid as a string, several as a list.
        "different_host": {"oneOf": [UUID, {"type": "array", "items": UUID}]},
        # NOTE: a lone string is not checked to be a uuid here (list items are).
        "same_host": {"type": ["string", "array"], "items": UUID},
        # A JSON-encoded filter expression or the decoded object.
        "query": {"type": ["string", "object"]},
        "target_cell": types.NAME,
        "different_cell": {"type": ["string", "array"], "items": {"type": "string"}},
        "build_near_host_ip": _IP_ADDRESS,
        "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"},
    },
    # Any other hint is passed to the scheduler unchecked.
    "additionalProperties": True,
}

_NETWORK_ITEM: Schema = _obj({
    "fixed_ip": _IP_ADDRESS,
    "port": NULLABLE_UUID,
    "uuid": {"type": "string"},
})

_CREATE: Schema = {
    "type": "object",
    "properties": {
        "server": _obj({
            "name": types.NAME,
            # An empty imageRef is tolerated here for boot-from-volume; the handler
            # refuses it otherwise.
            "imageRef": _IMAGE_ID_OR_EMPTY,
            "flavorRef": _FLAVOR_REF,
            "adminPass": _ADMIN_PASSWORD,
            "metadata": _METADATA,
            "networks": {"type": "array", "items": _NETWORK_ITEM},
            "OS-DCF:diskConfig": _DISK_CONFIG,
            "accessIPv4": _ACCESS_IPV4,
            "accessIPv6": _ACCESS_IPV6,
            "personality": _PERSONALITY,
            "availability_zone": types.NAME,
            "block_device_mapping": {"type": "array", "items": _LEGACY_BDM},
            "block_device_mapping_v2": {"type": "array", "items": _BDM_V2},
            "config_drive": types.BOOLEAN,
            "key_name": types.NAME,
            "min_count": types.POSITIVE_INTEGER,
            "max_count": types.POSITIVE_INTEGER,
            "return_reservation_id": types.BOOLEAN,
            # Names or uuids of security groups.
            "security_groups": {"type": "array", "items": _obj({"name": types.NAME})},
            "user_data": _USER_DATA,
        }, required=["name", "flavorRef"]),
        "os:scheduler_hints": _SCHEDULER_HINTS,
        "OS-SCH-HNT:scheduler_hints": _SCHEDULER_HINTS,
    },
    "required": ["server"],
    "additionalProperties": False,
}


def _server(schema: Schema) -> Schema:
    return _inner(schema, "server")


def _tag_networks_and_bdms(schema: Schema, networks: bool, bdms: bool) -> None:
    props = _server(schema)
    if networks:
        items = props["networks"]
        if "oneOf" in items:
            items = items["oneOf"][0]
        items["items"]["properties"]["tag"] = TAG
    if bdms:
        props["block_device_mapping_v2"]["items"]["properties"]["tag"] = TAG


_CREATE_V219 = _derive(_CREATE, lambda s: _server(s).update(description=_DESCRIPTION))
# Device tags on networks and BDMs were meant for 2.32 and later but shipped for 2.32
# alone; 2.33 to 2.41 keep the network tag only (an accident of Nova's history) and 2.42
# brings the BDM tag back.
_CREATE_V232 = _derive(_CREATE_V219, lambda s: _tag_networks_and_bdms(s, True, True))
_CREATE_V233 = _derive(_CREATE_V219, lambda s: _tag_networks_and_bdms(s, True, False))


def _networks_v237(schema: Schema) -> None:
    """networks becomes required, and a list (uuid now a uuid) or "none"/"auto".

    NOTE: the replacement list items have no ``tag``, so 2.37 to 2.41 refuse network
    tags again although 2.33 to 2.36 took them.
    """
    props = _server(schema)
    schema["properties"]["server"]["required"].append("networks")
    props["networks"] = {
        "oneOf": [
            {"type": "array",
             "items": _obj({"fixed_ip": _IP_ADDRESS, "port": NULLABLE_UUID, "uuid": UUID})},
            {"type": "string", "enum": ["none", "auto"]},
        ],
    }


_CREATE_V237 = _derive(_CREATE_V233, _networks_v237)
_CREATE_V242 = _derive(_CREATE_V237, lambda s: _tag_networks_and_bdms(s, True, True))
_CREATE_V252 = _derive(_CREATE_V242, lambda s: _server(s).update(tags=_TAGS))
_CREATE_V257 = _derive(_CREATE_V252, lambda s: _server(s).pop("personality"))
_CREATE_V263 = _derive(
    _CREATE_V257, lambda s: _server(s).update(trusted_image_certificates=_TRUSTED_CERTS))
_CREATE_V267 = _derive(
    _CREATE_V263,
    lambda s: _server(s)["block_device_mapping_v2"]["items"]["properties"].update(
        volume_type=_VOLUME_TYPE))
_CREATE_V274 = _derive(
    _CREATE_V267, lambda s: _server(s).update(host=_FQDN, hypervisor_hostname=_FQDN))
_CREATE_V290 = _derive(_CREATE_V274, lambda s: _server(s).update(hostname=_HOSTNAME))
_CREATE_V294 = _derive(_CREATE_V290, lambda s: _server(s).update(hostname=_FQDN))


# -- PUT /servers/{id} --------------------------------------------------------------------

_UPDATE = _wrapped("server", _obj({
    "name": types.NAME,
    "OS-DCF:diskConfig": _DISK_CONFIG,
    "accessIPv4": _ACCESS_IPV4,
    "accessIPv6": _ACCESS_IPV6,
}))
_UPDATE_V219 = _derive(_UPDATE, lambda s: _server(s).update(description=_DESCRIPTION))
_UPDATE_V290 = _derive(_UPDATE_V219, lambda s: _server(s).update(hostname=_HOSTNAME))
_UPDATE_V294 = _derive(_UPDATE_V290, lambda s: _server(s).update(hostname=_FQDN))
_UPDATE_V2104 = _derive(
    _UPDATE_V294, lambda s: _server(s).update(pinned_availability_zone=_NAME_OR_NONE))


# -- POST /servers/{id}/action (the actions of the servers controller) ---------------------

_REBUILD = _wrapped("rebuild", _obj({
    "name": types.NAME,
    "imageRef": UUID,
    "adminPass": _ADMIN_PASSWORD,
    "metadata": _METADATA,
    "preserve_ephemeral": types.BOOLEAN,
    "OS-DCF:diskConfig": _DISK_CONFIG,
    "accessIPv4": _ACCESS_IPV4,
    "accessIPv6": _ACCESS_IPV6,
    "personality": _PERSONALITY,
}, required=["imageRef"]))


def _rebuild(schema: Schema) -> Schema:
    return _inner(schema, "rebuild")


def _rebuild_v257(schema: Schema) -> None:
    """personality goes; user_data arrives, nullable so that it can be cleared."""
    props = _rebuild(schema)
    del props["personality"]
    props["user_data"] = _NULLABLE_USER_DATA


_REBUILD_V219 = _derive(_REBUILD, lambda s: _rebuild(s).update(description=_DESCRIPTION))
_REBUILD_V254 = _derive(_REBUILD_V219, lambda s: _rebuild(s).update(key_name=_NAME_OR_NONE))
_REBUILD_V257 = _derive(_REBUILD_V254, _rebuild_v257)
_REBUILD_V263 = _derive(
    _REBUILD_V257, lambda s: _rebuild(s).update(trusted_image_certificates=_TRUSTED_CERTS))
_REBUILD_V290 = _derive(_REBUILD_V263, lambda s: _rebuild(s).update(hostname=_HOSTNAME))
_REBUILD_V294 = _derive(_REBUILD_V290, lambda s: _rebuild(s).update(hostname=_FQDN))

_RESIZE = _wrapped("resize", _obj({"flavorRef": _FLAVOR_REF, "OS-DCF:diskConfig": _DISK_CONFIG},
                                  required=["flavorRef"]))
_CREATE_IMAGE = _wrapped("createImage", _obj({"name": types.NAME, "metadata": _METADATA},
                                             required=["name"]))
_CREATE_BACKUP = _wrapped("createBackup", _obj(
    {"name": types.NAME, "backup_type": {"type": "string"},
     "rotation": types.NON_NEGATIVE_INTEGER, "metadata": _METADATA},
    required=["name", "backup_type", "rotation"]))
_REBOOT = _wrapped("reboot", _obj(
    {"type": {"type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
    required=["type"]))


def _any_value(action: str) -> Schema:
    """``{"<action>": <anything>}``: Nova does not look at the value (yet)."""
    return _obj({action: {}}, required=[action])


_CONFIRM_RESIZE = _any_value("confirmResize")
_REVERT_RESIZE = _any_value("revertResize")
_START = _any_value("os-start")
_STOP = _any_value("os-stop")
_TRIGGER_CRASH_DUMP = _obj({"trigger_crash_dump": {"type": "null"}},
                           required=["trigger_crash_dump"])


# -- GET /servers, /servers/detail --------------------------------------------------------

#: Sort keys the list accepted before it had a schema and now ignores (it drops them
#: rather than fail old clients); ``locked`` became real at 2.73, and from 2.75 every
#: one of them is a 400.
SERVER_LIST_IGNORED_SORT_KEYS: tuple[str, ...] = (
    "architecture", "cell_name", "cleaned", "default_ephemeral_device",
    "default_swap_device", "deleted", "deleted_at", "disable_terminate", "ephemeral_gb",
    "ephemeral_key_uuid", "id", "key_data", "launched_on", "locked", "memory_mb", "os_type",
    "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus", "vm_mode",
)
_SORT_KEYS: tuple[str, ...] = (
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "availability_zone",
    "config_drive", "created_at", "display_description", "display_name", "host",
    "hostname", "image_ref", "instance_type_id", "kernel_id", "key_name", "launch_index",
    "launched_at", "locked_by", "node", "power_state", "progress", "project_id",
    "ramdisk_id", "root_device_name", "task_state", "terminated_at", "updated_at",
    "user_id", "uuid", "vm_state",
)
_IGNORED_V273 = [k for k in SERVER_LIST_IGNORED_SORT_KEYS if k != "locked"]
# NOTE: from 2.73 Nova builds the enum from a set, so the order in its "is not one of"
# message varies from process to process; ours is sorted.
_SORT_KEY = _multi({"type": "string", "enum": [*_SORT_KEYS, *SERVER_LIST_IGNORED_SORT_KEYS]})
_SORT_KEY_V273 = _multi({"type": "string",
                         "enum": ["locked", *sorted(_SORT_KEYS), *_IGNORED_V273]})
_SORT_KEY_V275 = _multi({"type": "string", "enum": sorted([*_SORT_KEYS, "locked"])})

#: Filters on joined tables: in the schema only so that they survive the stripping of
#: unknown parameters and get the handler's 400 ``Invalid filter field``.
_JOINED_TABLE_FILTERS = ("block_device_mapping", "services", "metadata", "system_metadata",
                         "info_cache", "security_groups", "pci_devices")

_INDEX_QUERY: Schema = {
    "type": "object",
    "properties": {
        "user_id": _QUERY_ANY,
        "project_id": _QUERY_ANY,
        "tenant_id": _QUERY_ANY,  # alias of project_id
        "launch_index": _QUERY_ANY,
        "image_ref": _QUERY_ANY,  # alias of image
        "image": _QUERY_ANY,
        "kernel_id": _QUERY_REGEX,
        "ramdisk_id": _QUERY_REGEX,
        "hostname": _QUERY_REGEX,
        "key_name": _QUERY_REGEX,
        "power_state": _QUERY_REGEX,
        "vm_state": _QUERY_ANY,
        "task_state": _QUERY_ANY,
        "host": _QUERY_ANY,
        "node": _QUERY_REGEX,
        "flavor": _QUERY_REGEX,
        "reservation_id": _QUERY_REGEX,
        "launched_at": _QUERY_REGEX,
        "terminated_at": _QUERY_REGEX,
        "availability_zone": _QUERY_REGEX,
        "name": _QUERY_REGEX,
        "display_name": _QUERY_REGEX,  # alias of name
        "description": _QUERY_REGEX,
        "display_description": _QUERY_REGEX,  # alias of description
        "locked_by": _QUERY_REGEX,
        "uuid": _QUERY_ANY,
        "root_device_name": _QUERY_REGEX,
        "config_drive": _QUERY_REGEX,
        "access_ip_v4": _QUERY_REGEX,
        "access_ip_v6": _QUERY_REGEX,
        "auto_disk_config": _QUERY_REGEX,
        "progress": _QUERY_REGEX,
        "sort_key": _SORT_KEY,
        "sort_dir": _QUERY_ANY,
        "all_tenants": _QUERY_ANY,
        "soft_deleted": _QUERY_ANY,
        "deleted": _QUERY_ANY,
        "status": _QUERY_ANY,
        "changes-since": _QUERY_DATE_TIME,
        # ip and ip6 are matched by the handler, not the database.
        "ip": _QUERY_REGEX,
        "ip6": _QUERY_REGEX,
        "created_at": _QUERY_REGEX,
        **dict.fromkeys(_JOINED_TABLE_FILTERS, _QUERY_ANY),
        **_PAGINATION,
    },
    # Unknown parameters are dropped (see ``kept_query``) until 2.75, refused after.
    "additionalProperties": True,
    # Internal fields ("_foo") are kept so that the handler can refuse them.
    "patternProperties": {"^_": _QUERY_ANY},
}
_INDEX_QUERY_V226 = _derive(_INDEX_QUERY, lambda s: s["properties"].update({
    "tags": _QUERY_REGEX, "tags-any": _QUERY_REGEX,
    "not-tags": _QUERY_REGEX, "not-tags-any": _QUERY_REGEX,
}))
_INDEX_QUERY_V266 = _derive(
    _INDEX_QUERY_V226, lambda s: s["properties"].update({"changes-before": _QUERY_DATE_TIME}))
_INDEX_QUERY_V273 = _derive(
    _INDEX_QUERY_V266,
    lambda s: s["properties"].update({"sort_key": _SORT_KEY_V273, "locked": _QUERY_ANY}))


def _index_query_v275(schema: Schema) -> None:
    schema["properties"]["sort_key"] = _SORT_KEY_V275
    schema["additionalProperties"] = False


_INDEX_QUERY_V275 = _derive(_INDEX_QUERY_V273, _index_query_v275)


# -- /servers/{id}/metadata ---------------------------------------------------------------

_METADATA_CREATE = _wrapped("metadata", _METADATA)
_METADATA_UPDATE_ALL = _wrapped("metadata", _METADATA)
# PUT /servers/{id}/metadata/{key}: exactly one item (the handler checks it is {key}).
_METADATA_UPDATE = _wrapped("meta", {**copy.deepcopy(_METADATA),
                                     "minProperties": 1, "maxProperties": 1})


# -- /servers/{id}/tags -------------------------------------------------------------------

# PUT /servers/{id}/tags/{tag} takes no body (or a JSON null).
_TAG_UPDATE: Schema = {"type": "null"}
_TAGS_UPDATE_ALL = _wrapped("tags", _TAGS)


# -- /servers/{id}/os-instance-actions ----------------------------------------------------

_ACTIONS_INDEX_QUERY_V258: Schema = {
    "type": "object",
    "properties": {
        "limit": _single(types.NON_NEGATIVE_INTEGER),
        "marker": _single({"type": "string"}),
        "changes-since": _single({"type": "string", "format": "date-time"}),
    },
    "additionalProperties": False,
}
_ACTIONS_INDEX_QUERY_V266 = _derive(
    _ACTIONS_INDEX_QUERY_V258,
    lambda s: s["properties"].update(
        {"changes-before": _single({"type": "string", "format": "date-time"})}))


# -- the table ----------------------------------------------------------------------------

_BASE = V(2, 1)
#: Unknown query parameters on the "show" style GETs are refused from 2.102.
_STRICT_SHOW = ((_BASE, _ANY_QUERY), (V(2, 102), _NO_QUERY))
_LIST_QUERIES = (
    (_BASE, _INDEX_QUERY),
    (V(2, 26), _INDEX_QUERY_V226),
    (V(2, 66), _INDEX_QUERY_V266),
    (V(2, 73), _INDEX_QUERY_V273),
    (V(2, 75), _INDEX_QUERY_V275),
)

#: Operation name -> ``(since, schema)`` pairs, oldest first. The schema for a request is
#: the last one whose ``since`` is not above its version (see ``schema_for``); an
#: operation whose first ``since`` is above the version did not exist yet.
SCHEMAS: dict[str, tuple[tuple[APIVersion, Mapping[str, Any]], ...]] = {
    # /servers
    "create": (
        (_BASE, _CREATE),
        (V(2, 19), _CREATE_V219),
        (V(2, 32), _CREATE_V232),
        (V(2, 33), _CREATE_V233),
        (V(2, 37), _CREATE_V237),
        (V(2, 42), _CREATE_V242),
        (V(2, 52), _CREATE_V252),
        (V(2, 57), _CREATE_V257),
        (V(2, 63), _CREATE_V263),
        (V(2, 67), _CREATE_V267),
        (V(2, 74), _CREATE_V274),
        (V(2, 90), _CREATE_V290),
        (V(2, 94), _CREATE_V294),
    ),
    "update": (
        (_BASE, _UPDATE),
        (V(2, 19), _UPDATE_V219),
        (V(2, 90), _UPDATE_V290),
        (V(2, 94), _UPDATE_V294),
        (V(2, 104), _UPDATE_V2104),
    ),
    "index_query": _LIST_QUERIES,
    "detail_query": _LIST_QUERIES,
    "show_query": _STRICT_SHOW,
    # /servers/{id}/action
    "rebuild": (
        (_BASE, _REBUILD),
        (V(2, 19), _REBUILD_V219),
        (V(2, 54), _REBUILD_V254),
        (V(2, 57), _REBUILD_V257),
        (V(2, 63), _REBUILD_V263),
        (V(2, 90), _REBUILD_V290),
        (V(2, 94), _REBUILD_V294),
    ),
    "resize": ((_BASE, _RESIZE),),
    "create_image": ((_BASE, _CREATE_IMAGE),),
    "create_backup": ((_BASE, _CREATE_BACKUP),),
    "confirm_resize": ((_BASE, _CONFIRM_RESIZE),),
    "revert_resize": ((_BASE, _REVERT_RESIZE),),
    "reboot": ((_BASE, _REBOOT),),
    "start": ((_BASE, _START),),
    "stop": ((_BASE, _STOP),),
    "trigger_crash_dump": ((V(2, 17), _TRIGGER_CRASH_DUMP),),
    # /servers/{id}/metadata[/{key}]
    "metadata_create": ((_BASE, _METADATA_CREATE),),
    "metadata_update": ((_BASE, _METADATA_UPDATE),),
    "metadata_update_all": ((_BASE, _METADATA_UPDATE_ALL),),
    "metadata_index_query": _STRICT_SHOW,
    "metadata_show_query": _STRICT_SHOW,
    # /servers/{id}/tags[/{tag}] (NOTE: their GETs never became strict)
    "tags_update": ((V(2, 26), _TAG_UPDATE),),
    "tags_update_all": ((V(2, 26), _TAGS_UPDATE_ALL),),
    "tags_index_query": ((V(2, 26), _ANY_QUERY),),
    "tags_show_query": ((V(2, 26), _ANY_QUERY),),
    # /servers/{id}/ips[/{network}]
    "ips_index_query": _STRICT_SHOW,
    "ips_show_query": _STRICT_SHOW,
    # /servers/{id}/os-instance-actions[/{request_id}]
    "instance_actions_index_query": (
        (_BASE, _ANY_QUERY),
        (V(2, 58), _ACTIONS_INDEX_QUERY_V258),
        (V(2, 66), _ACTIONS_INDEX_QUERY_V266),
    ),
    "instance_actions_show_query": _STRICT_SHOW,
}


def schema_for(name: str, version: APIVersion) -> Mapping[str, Any] | None:
    """The schema of operation ``name`` at ``version``; None before the operation existed.

    Raises ``KeyError`` for a name not in ``SCHEMAS``.
    """
    chosen: Mapping[str, Any] | None = None
    for since, schema in SCHEMAS[name]:
        if since > version:
            break
        chosen = schema
    return chosen


def kept_query(schema: Mapping[str, Any],
               query: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The parameters a handler sees after a query passed ``schema``.

    Where the schema lets unknown parameters through, Nova drops them before the handler
    runs, except those matching a ``patternProperties`` regex (kept, to be refused later).
    """
    if not schema.get("additionalProperties", True):
        return dict(query)
    known = schema.get("properties", {})
    patterns = [*schema.get("patternProperties", {})]
    return {
        name: values for name, values in query.items()
        if name in known or any(re.match(p, name) for p in patterns)
    }

