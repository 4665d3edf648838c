"""Request schemas of the operator's smaller APIs (Nova's ``schemas/hosts.py``,
``simple_tenant_usage.py``, ``instance_usage_audit_log.py``,
``server_external_events.py``, ``assisted_volume_snapshots.py`` and the
``injectNetworkInfo`` action of ``admin_actions.py``)."""

from __future__ import annotations

from emulator.api.compute.schemas.parameter_types import (
    ANY_QUERY,
    NO_QUERY,
    PAGINATION,
    QUERY_ANY,
    UUID,
    Schema,
    derive,
    obj,
    wrapped,
)
from emulator.api.compute.schemas.versions import V, Versioned
from emulator.api.microversion import APIVersion

# -- os-hosts (until 2.42; NOTE: Nova never closed their queries) ---------------------------

_ENABLE: Schema = {"type": "string",
                   "enum": ["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]}
# NOTE: the body is the fields themselves, not wrapped in a "host" key.
_HOST_UPDATE: Schema = {
    "type": "object",
    "properties": {"status": _ENABLE, "maintenance_mode": _ENABLE},
    "anyOf": [{"required": ["status"]}, {"required": ["maintenance_mode"]}],
    "additionalProperties": False,
}
_HOST_INDEX = obj({"zone": QUERY_ANY}, additional=True)

# -- os-simple-tenant-usage -----------------------------------------------------------------

_USAGE_INDEX = obj({"start": QUERY_ANY, "end": QUERY_ANY, "detailed": QUERY_ANY},
                   additional=True)
_USAGE_SHOW = obj({"start": QUERY_ANY, "end": QUERY_ANY}, additional=True)
_USAGE_INDEX_V240 = derive(_USAGE_INDEX, lambda s: s["properties"].update(PAGINATION))
_USAGE_SHOW_V240 = derive(_USAGE_SHOW, lambda s: s["properties"].update(PAGINATION))


def _closed(schema: Schema) -> Schema:
    return derive(schema, lambda s: s.update(additionalProperties=False))


# -- os-server-external-events --------------------------------------------------------------

#: The event names by the version that added them.
EVENT_NAMES: tuple[tuple[APIVersion, str], ...] = (
    (V(2, 1), "network-changed"),
    (V(2, 1), "network-vif-plugged"),
    (V(2, 1), "network-vif-unplugged"),
    (V(2, 1), "network-vif-deleted"),
    (V(2, 51), "volume-extended"),
    (V(2, 76), "power-update"),
    (V(2, 82), "accelerator-request-bound"),
    (V(2, 93), "volume-reimaged"),
)
EVENT_STATUSES = ["failed", "completed", "in-progress"]


def _events(since: APIVersion) -> Schema:
    names = [name for added, name in EVENT_NAMES if added <= since]
    event = obj({
        "name": {"type": "string", "enum": names},
        "server_uuid": UUID,
        "status": {"type": "string", "enum": EVENT_STATUSES},
        "tag": {"type": "string", "maxLength": 255},
    }, required=["name", "server_uuid"])
    return wrapped("events", {"type": "array", "minItems": 1, "items": event})


# -- os-assisted-volume-snapshots -----------------------------------------------------------

_TEXT: Schema = {"type": "string", "minLength": 1}
_SNAPSHOT_CREATE = wrapped("snapshot", obj({
    "volume_id": _TEXT,
    "create_info": obj({"snapshot_id": _TEXT, "type": {"type": "string", "enum": ["qcow2"]},
                        "new_file": _TEXT, "id": _TEXT},
                       required=["snapshot_id", "type", "new_file"]),
}, required=["volume_id", "create_info"]))
_SNAPSHOT_DELETE = obj({"delete_info": QUERY_ANY}, additional=True)

SCHEMAS: Versioned = {
    "host_update": ((V(2, 1), _HOST_UPDATE),),
    "host_query": ((V(2, 1), _HOST_INDEX),),
    "usage_index_query": ((V(2, 1), _USAGE_INDEX), (V(2, 40), _USAGE_INDEX_V240),
                          (V(2, 75), _closed(_USAGE_INDEX_V240))),
    "usage_show_query": ((V(2, 1), _USAGE_SHOW), (V(2, 40), _USAGE_SHOW_V240),
                         (V(2, 75), _closed(_USAGE_SHOW_V240))),
    "audit_log_query": ((V(2, 1), ANY_QUERY), (V(2, 102), NO_QUERY)),
    "external_events": tuple((since, _events(since)) for since in sorted(
        {added for added, _name in EVENT_NAMES})),
    "volume_snapshot_create": ((V(2, 1), _SNAPSHOT_CREATE),),
    "volume_snapshot_delete_query": ((V(2, 1), _SNAPSHOT_DELETE),
                                     (V(2, 75), _closed(_SNAPSHOT_DELETE))),
    # The value is anything (Nova: "restrict the value to 'null' in a future version").
    "inject_network_info": ((V(2, 1), wrapped("injectNetworkInfo", {})),),
}
