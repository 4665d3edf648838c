"""Request-body and query-string schemas of ``/servers``: create, update, and the list,
detail and show queries, per microversion (see ``emulator.api.compute.schemas`` for why
the key order matters and where Draft 4 and Nova's validator differ)."""

from __future__ import annotations

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.parameter_types import (
    ACCESS_IPV4,
    ACCESS_IPV6,
    ADMIN_PASSWORD,
    DESCRIPTION,
    DISK_CONFIG,
    FLAVOR_REF,
    FQDN,
    HOSTNAME,
    IMAGE_ID_OR_EMPTY,
    IP_ADDRESS,
    METADATA,
    NAME_OR_NONE,
    NULLABLE_UUID,
    PAGINATION,
    PERSONALITY,
    QUERY_ANY,
    QUERY_DATE_TIME,
    QUERY_REGEX,
    TAG,
    TAGS,
    TRUSTED_CERTS,
    USER_DATA,
    UUID,
    VOLUME_SIZE,
    VOLUME_TYPE,
    Schema,
    derive,
    inner,
    multi,
    obj,
    wrapped,
)
from emulator.api.compute.schemas.versions import STRICT_SHOW, V, Versioned

#: The ``connection_info`` column is MEDIUMTEXT.
MEDIUMTEXT = 16777215


# -- POST /servers ------------------------------------------------------------------------

_LEGACY_BDM: Schema = obj({
    "virtual_name": {"type": "string", "maxLength": 255},
    "volume_id": UUID,
    "snapshot_id": UUID,
    "volume_size": VOLUME_SIZE,
    # No empty device names, no spaces (block_device.validate_device_name).
    "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                    "pattern": "^[a-zA-Z0-9._/-]*$"},
    "delete_on_termination": types.BOOLEAN,
    "no_device": {},
    "connection_info": {"type": "string", "maxLength": MEDIUMTEXT},
})

_BDM_V2: Schema = derive(_LEGACY_BDM, lambda s: s["properties"].update({
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
        "build_near_host_ip": IP_ADDRESS,
        "cidr": {"type": "string", "pattern": "^/[0-9a-f.:]+$"},
    },
    # Any other hint is passed to the scheduler unchecked.
    "additionalProperties": True,
}

_NETWORK_ITEM: Schema = obj({
    "fixed_ip": IP_ADDRESS,
    "port": NULLABLE_UUID,
    "uuid": {"type": "string"},
})

_CREATE: Schema = {
    "type": "object",
    "properties": {
        "server": obj({
            "name": types.NAME,
            # An empty imageRef is tolerated here for boot-from-volume; the handler
            # refuses it otherwise.
            "imageRef": IMAGE_ID_OR_EMPTY,
            "flavorRef": FLAVOR_REF,
            "adminPass": ADMIN_PASSWORD,
            "metadata": METADATA,
            "networks": {"type": "array", "items": _NETWORK_ITEM},
            "OS-DCF:diskConfig": DISK_CONFIG,
            "accessIPv4": ACCESS_IPV4,
            "accessIPv6": ACCESS_IPV6,
            "personality": PERSONALITY,
            "availability_zone": types.NAME,
            "block_device_mapping": {"type": "array", "items": _LEGACY_BDM},
            "block_device_mapping_v2": {"type": "array", "items": _BDM_V2},
            "config_drive": types.BOOLEAN,
            "key_name": types.NAME,
            "min_count": types.POSITIVE_INTEGER,
            "max_count": types.POSITIVE_INTEGER,
            "return_reservation_id": types.BOOLEAN,
            # Names or uuids of security groups.
            "security_groups": {"type": "array", "items": obj({"name": types.NAME})},
            "user_data": USER_DATA,
        }, required=["name", "flavorRef"]),
        "os:scheduler_hints": _SCHEDULER_HINTS,
        "OS-SCH-HNT:scheduler_hints": _SCHEDULER_HINTS,
    },
    "required": ["server"],
    "additionalProperties": False,
}


def _server(schema: Schema) -> Schema:
    return inner(schema, "server")


def _tag_networks_and_bdms(schema: Schema, networks: bool, bdms: bool) -> None:
    props = _server(schema)
    if networks:
        items = props["networks"]
        if "oneOf" in items:
            items = items["oneOf"][0]
        items["items"]["properties"]["tag"] = TAG
    if bdms:
        props["block_device_mapping_v2"]["items"]["properties"]["tag"] = TAG


_CREATE_V219 = derive(_CREATE, lambda s: _server(s).update(description=DESCRIPTION))
# Device tags on networks and BDMs were meant for 2.32 and later but shipped for 2.32
# alone; 2.33 to 2.41 keep the network tag only (an accident of Nova's history) and 2.42
# brings the BDM tag back.
_CREATE_V232 = derive(_CREATE_V219, lambda s: _tag_networks_and_bdms(s, True, True))
_CREATE_V233 = derive(_CREATE_V219, lambda s: _tag_networks_and_bdms(s, True, False))


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
             "items": obj({"fixed_ip": IP_ADDRESS, "port": NULLABLE_UUID, "uuid": UUID})},
            {"type": "string", "enum": ["none", "auto"]},
        ],
    }


_CREATE_V237 = derive(_CREATE_V233, _networks_v237)
_CREATE_V242 = derive(_CREATE_V237, lambda s: _tag_networks_and_bdms(s, True, True))
_CREATE_V252 = derive(_CREATE_V242, lambda s: _server(s).update(tags=TAGS))
_CREATE_V257 = derive(_CREATE_V252, lambda s: _server(s).pop("personality"))
_CREATE_V263 = derive(
    _CREATE_V257, lambda s: _server(s).update(trusted_image_certificates=TRUSTED_CERTS))
_CREATE_V267 = derive(
    _CREATE_V263,
    lambda s: _server(s)["block_device_mapping_v2"]["items"]["properties"].update(
        volume_type=VOLUME_TYPE))
_CREATE_V274 = derive(
    _CREATE_V267, lambda s: _server(s).update(host=FQDN, hypervisor_hostname=FQDN))
_CREATE_V290 = derive(_CREATE_V274, lambda s: _server(s).update(hostname=HOSTNAME))
_CREATE_V294 = derive(_CREATE_V290, lambda s: _server(s).update(hostname=FQDN))


# -- PUT /servers/{id} --------------------------------------------------------------------

_UPDATE = wrapped("server", obj({
    "name": types.NAME,
    "OS-DCF:diskConfig": DISK_CONFIG,
    "accessIPv4": ACCESS_IPV4,
    "accessIPv6": ACCESS_IPV6,
}))
_UPDATE_V219 = derive(_UPDATE, lambda s: _server(s).update(description=DESCRIPTION))
_UPDATE_V290 = derive(_UPDATE_V219, lambda s: _server(s).update(hostname=HOSTNAME))
_UPDATE_V294 = derive(_UPDATE_V290, lambda s: _server(s).update(hostname=FQDN))
_UPDATE_V2104 = derive(
    _UPDATE_V294, lambda s: _server(s).update(pinned_availability_zone=NAME_OR_NONE))


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
_SORT_KEY = multi({"type": "string", "enum": [*_SORT_KEYS, *SERVER_LIST_IGNORED_SORT_KEYS]})
_SORT_KEY_V273 = multi({"type": "string",
                         "enum": ["locked", *sorted(_SORT_KEYS), *_IGNORED_V273]})
_SORT_KEY_V275 = multi({"type": "string", "enum": sorted([*_SORT_KEYS, "locked"])})

#: Filters on joined tables: in the schema only so that they survive the stripping of
#: unknown parameters and get the handler's 400 ``Invalid filter field``.
_JOINED_TABLE_FILTERS = ("block_device_mapping", "services", "metadata", "system_metadata",
                         "info_cache", "security_groups", "pci_devices")

_INDEX_QUERY: Schema = {
    "type": "object",
    "properties": {
        "user_id": QUERY_ANY,
        "project_id": QUERY_ANY,
        "tenant_id": QUERY_ANY,  # alias of project_id
        "launch_index": QUERY_ANY,
        "image_ref": QUERY_ANY,  # alias of image
        "image": QUERY_ANY,
        "kernel_id": QUERY_REGEX,
        "ramdisk_id": QUERY_REGEX,
        "hostname": QUERY_REGEX,
        "key_name": QUERY_REGEX,
        "power_state": QUERY_REGEX,
        "vm_state": QUERY_ANY,
        "task_state": QUERY_ANY,
        "host": QUERY_ANY,
        "node": QUERY_REGEX,
        "flavor": QUERY_REGEX,
        "reservation_id": QUERY_REGEX,
        "launched_at": QUERY_REGEX,
        "terminated_at": QUERY_REGEX,
        "availability_zone": QUERY_REGEX,
        "name": QUERY_REGEX,
        "display_name": QUERY_REGEX,  # alias of name
        "description": QUERY_REGEX,
        "display_description": QUERY_REGEX,  # alias of description
        "locked_by": QUERY_REGEX,
        "uuid": QUERY_ANY,
        "root_device_name": QUERY_REGEX,
        "config_drive": QUERY_REGEX,
        "access_ip_v4": QUERY_REGEX,
        "access_ip_v6": QUERY_REGEX,
        "auto_disk_config": QUERY_REGEX,
        "progress": QUERY_REGEX,
        "sort_key": _SORT_KEY,
        "sort_dir": QUERY_ANY,
        "all_tenants": QUERY_ANY,
        "soft_deleted": QUERY_ANY,
        "deleted": QUERY_ANY,
        "status": QUERY_ANY,
        "changes-since": QUERY_DATE_TIME,
        # ip and ip6 are matched by the handler, not the database.
        "ip": QUERY_REGEX,
        "ip6": QUERY_REGEX,
        "created_at": QUERY_REGEX,
        **dict.fromkeys(_JOINED_TABLE_FILTERS, QUERY_ANY),
        **PAGINATION,
    },
    # Unknown parameters are dropped (see ``kept_query``) until 2.75, refused after.
    "additionalProperties": True,
    # Internal fields ("_foo") are kept so that the handler can refuse them.
    "patternProperties": {"^_": QUERY_ANY},
}
_INDEX_QUERY_V226 = derive(_INDEX_QUERY, lambda s: s["properties"].update({
    "tags": QUERY_REGEX, "tags-any": QUERY_REGEX,
    "not-tags": QUERY_REGEX, "not-tags-any": QUERY_REGEX,
}))
_INDEX_QUERY_V266 = derive(
    _INDEX_QUERY_V226, lambda s: s["properties"].update({"changes-before": QUERY_DATE_TIME}))
_INDEX_QUERY_V273 = derive(
    _INDEX_QUERY_V266,
    lambda s: s["properties"].update({"sort_key": _SORT_KEY_V273, "locked": QUERY_ANY}))


def _index_query_v275(schema: Schema) -> None:
    schema["properties"]["sort_key"] = _SORT_KEY_V275
    schema["additionalProperties"] = False


_INDEX_QUERY_V275 = derive(_INDEX_QUERY_V273, _index_query_v275)


# -- the table ----------------------------------------------------------------------------

_BASE = V(2, 1)
_LIST_QUERIES = (
    (_BASE, _INDEX_QUERY),
    (V(2, 26), _INDEX_QUERY_V226),
    (V(2, 66), _INDEX_QUERY_V266),
    (V(2, 73), _INDEX_QUERY_V273),
    (V(2, 75), _INDEX_QUERY_V275),
)

SCHEMAS: Versioned = {
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
    "show_query": STRICT_SHOW,
}
