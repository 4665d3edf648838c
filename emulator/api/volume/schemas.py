"""Request bodies as Cinder's JSON schemas describe them (``cinder/api/schemas``), by
microversion where they change."""

from __future__ import annotations

import copy
from typing import Any

NAME_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
#: ``parameter_types.name_allow_zero_min_length``.
SHORT_TEXT: dict[str, Any] = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
#: ``parameter_types.description`` (printable characters are not checked here).
DESCRIPTION: dict[str, Any] = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
UUID: dict[str, Any] = {"type": "string", "format": "uuid"}
OPTIONAL_UUID: dict[str, Any] = {"oneOf": [{"type": "null"}, UUID]}
UUID_OR_NULL: dict[str, Any] = {"oneOf": [UUID, {"type": "null"}]}
#: ``parameter_types.boolean``.
BOOLEAN: dict[str, Any] = {
    "type": ["boolean", "string"],
    "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", "y",
             "t", False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No",
             "no", "n", "f"],
}
OPTIONAL_BOOLEAN: dict[str, Any] = {"oneOf": [{"type": "null"}, BOOLEAN]}
#: ``parameter_types.extra_specs``: keys of word characters, string values.
METADATA: dict[str, Any] = {
    "type": "object",
    "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string",
                                                         "maxLength": 255}},
    "additionalProperties": False,
}
METADATA_OR_NULL: dict[str, Any] = {**copy.deepcopy(METADATA), "type": ["object", "null"]}
#: ``parameter_types.volume_size``.
SIZE: dict[str, Any] = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1,
                        "maximum": 0x7FFFFFFF}
SIZE_OR_NULL: dict[str, Any] = {**SIZE, "type": ["integer", "string", "null"]}


def _wrapped(key: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {key: inner}, "required": [key],
            "additionalProperties": False}


_VOLUME_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": NAME_OR_NULL, "description": NAME_OR_NULL, "display_name": NAME_OR_NULL,
        "display_description": NAME_OR_NULL,
        "volume_type": SHORT_TEXT,
        "metadata": METADATA_OR_NULL,
        "snapshot_id": OPTIONAL_UUID,
        "source_volid": OPTIONAL_UUID,
        "consistencygroup_id": OPTIONAL_UUID,
        "size": SIZE_OR_NULL,
        "availability_zone": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
        "multiattach": OPTIONAL_BOOLEAN,
        "image_id": SHORT_TEXT,
        "imageRef": SHORT_TEXT,
    },
    "additionalProperties": True,
}
VOLUME_CREATE: dict[str, Any] = {
    **_wrapped("volume", _VOLUME_CREATE),
    "properties": {"volume": _VOLUME_CREATE,
                   "OS-SCH-HNT:scheduler_hints": {"type": ["object", "null"]}},
}
VOLUME_CREATE_V313 = copy.deepcopy(VOLUME_CREATE)
VOLUME_CREATE_V313["properties"]["volume"]["properties"]["group_id"] = SHORT_TEXT
VOLUME_CREATE_V347 = copy.deepcopy(VOLUME_CREATE_V313)
VOLUME_CREATE_V347["properties"]["volume"]["properties"]["backup_id"] = OPTIONAL_UUID
VOLUME_CREATE_V353 = copy.deepcopy(VOLUME_CREATE_V347)
VOLUME_CREATE_V353["properties"]["volume"]["additionalProperties"] = False

VOLUME_UPDATE: dict[str, Any] = _wrapped("volume", {
    "type": "object",
    "properties": {"name": NAME_OR_NULL, "description": NAME_OR_NULL,
                   "display_name": NAME_OR_NULL, "display_description": NAME_OR_NULL,
                   "metadata": METADATA},
    "additionalProperties": False,
})
VOLUME_UPDATE_V353 = copy.deepcopy(VOLUME_UPDATE)
VOLUME_UPDATE_V353["properties"]["volume"]["anyOf"] = [
    {"required": [key]} for key in
    ("name", "description", "display_name", "display_description", "metadata")]

SNAPSHOT_CREATE: dict[str, Any] = _wrapped("snapshot", {
    "type": "object",
    "properties": {"name": SHORT_TEXT, "display_name": SHORT_TEXT,
                   "description": DESCRIPTION, "volume_id": UUID_OR_NULL, "force": BOOLEAN,
                   "metadata": METADATA_OR_NULL},
    "required": ["volume_id"],
    "additionalProperties": False,
})
SNAPSHOT_UPDATE: dict[str, Any] = _wrapped("snapshot", {
    "type": "object",
    "properties": {"name": SHORT_TEXT, "description": DESCRIPTION,
                   "display_name": SHORT_TEXT, "display_description": DESCRIPTION},
    "additionalProperties": False,
    "anyOf": [{"required": [key]} for key in
              ("name", "description", "display_name", "display_description")],
})

METADATA_BODY: dict[str, Any] = _wrapped("metadata", METADATA)
META_ITEM_BODY: dict[str, Any] = _wrapped("meta", {**METADATA, "minProperties": 1,
                                                   "maxProperties": 1})

ATTACHMENT_CREATE: dict[str, Any] = _wrapped("attachment", {
    "type": "object",
    "properties": {"instance_uuid": UUID, "connector": {"type": ["object", "null"]},
                   "volume_uuid": UUID},
    "required": ["volume_uuid"],
    "additionalProperties": False,
})
ATTACHMENT_CREATE_V354 = copy.deepcopy(ATTACHMENT_CREATE)
ATTACHMENT_CREATE_V354["properties"]["attachment"]["properties"]["mode"] = {
    "type": "string", "enum": ["rw", "ro"]}
ATTACHMENT_UPDATE: dict[str, Any] = _wrapped("attachment", {
    "type": "object",
    "properties": {"connector": {"type": "object", "minProperties": 1}},
    "required": ["connector"],
    "additionalProperties": False,
})

#: Volume actions' bodies, by action name.
ACTIONS: dict[str, dict[str, Any]] = {
    "os-extend": _wrapped("os-extend", {
        "type": "object", "properties": {"new_size": SIZE}, "required": ["new_size"],
        "additionalProperties": False}),
    "os-retype": _wrapped("os-retype", {
        "type": "object",
        "properties": {"new_type": {"type": "string"},
                       "migration_policy": {"type": ["string", "null"],
                                            "enum": ["on-demand", "never"]}},
        "required": ["new_type"], "additionalProperties": False}),
    "os-set_bootable": _wrapped("os-set_bootable", {
        "type": "object", "properties": {"bootable": BOOLEAN}, "required": ["bootable"],
        "additionalProperties": False}),
    "os-update_readonly_flag": _wrapped("os-update_readonly_flag", {
        "type": "object", "properties": {"readonly": BOOLEAN}, "required": ["readonly"],
        "additionalProperties": False}),
    "os-reset_status": _wrapped("os-reset_status", {
        "type": "object",
        "properties": {"status": {"type": ["string", "null"]},
                       "attach_status": {"type": ["string", "null"]},
                       "migration_status": {"type": ["string", "null"]}},
        "additionalProperties": False}),
    "os-force_delete": _wrapped("os-force_delete", {}),
    "os-reserve": _wrapped("os-reserve", {}),
    "os-unreserve": _wrapped("os-unreserve", {}),
    "os-begin_detaching": _wrapped("os-begin_detaching", {}),
    "os-roll_detaching": _wrapped("os-roll_detaching", {}),
    "os-attach": _wrapped("os-attach", {
        "type": "object",
        "properties": {"instance_uuid": UUID,
                       "mountpoint": {"type": "string", "minLength": 1, "maxLength": 255},
                       "host_name": {"type": "string", "maxLength": 255},
                       "mode": {"type": "string", "enum": ["rw", "ro"]}},
        "required": ["mountpoint"],
        "anyOf": [{"required": ["instance_uuid"]}, {"required": ["host_name"]}],
        "additionalProperties": False}),
    "os-detach": _wrapped("os-detach", {
        "type": ["object", "null"], "properties": {"attachment_id": UUID_OR_NULL},
        "additionalProperties": False}),
    "os-initialize_connection": _wrapped("os-initialize_connection", {
        "type": "object", "properties": {"connector": {"type": ["object", "string"]}},
        "required": ["connector"], "additionalProperties": False}),
    "os-terminate_connection": _wrapped("os-terminate_connection", {
        "type": "object",
        "properties": {"connector": {"type": ["string", "object", "null"]}},
        "required": ["connector"], "additionalProperties": False}),
}

ACTIONS.update({
    "os-show_image_metadata": {"type": "object",
                               "properties": {"os-show_image_metadata": {}},
                               "required": ["os-show_image_metadata"],
                               "additionalProperties": False},
    "os-set_image_metadata": _wrapped("os-set_image_metadata", {
        "type": "object",
        "properties": {"metadata": {
            "type": "object",
            "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string"}},
            "additionalProperties": False}},
        "required": ["metadata"], "additionalProperties": False}),
    "os-unset_image_metadata": _wrapped("os-unset_image_metadata", {
        "type": "object",
        "properties": {"key": {"type": "string", "minLength": 1, "maxLength": 255}},
        "required": ["key"], "additionalProperties": False}),
})

#: Snapshot actions' bodies, by action name.
SNAPSHOT_ACTIONS: dict[str, dict[str, Any]] = {
    "os-reset_status": _wrapped("os-reset_status", {
        "type": "object", "properties": {"status": {"type": "string"}},
        "required": ["status"], "additionalProperties": False}),
    "os-force_delete": _wrapped("os-force_delete", {}),
    "os-update_snapshot_status": _wrapped("os-update_snapshot_status", {
        "type": "object",
        "properties": {"status": {"type": "string"}, "progress": {}},
        "required": ["status"], "additionalProperties": False}),
}
