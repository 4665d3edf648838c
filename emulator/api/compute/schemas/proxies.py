"""Request schemas of the proxy APIs (until 2.35): ``nova/api/openstack/compute/schemas/``
``security_groups``, ``floating_ips``, ``floating_ip_pools``, ``networks``,
``tenant_networks``, ``volumes`` (volumes and snapshots). NOTE: Nova keeps their bodies
and queries open to extra keys (these APIs are frozen), except a volume's and a
snapshot's create bodies."""

from __future__ import annotations

from typing import Any

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.versions import V, Versioned

_TEXT_255: dict[str, Any] = {"type": "string", "minLength": 0, "maxLength": 255}

_GROUP: dict[str, Any] = types.wrapped("security_group", {
    "type": "object",
    "properties": {"name": _TEXT_255, "description": _TEXT_255},
    "required": ["name", "description"],
    "additionalProperties": True,
})
_GROUP["additionalProperties"] = True

_RULE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "security_group_rule": {
            "type": "object",
            "properties": {
                "group_id": types.NULLABLE_UUID,
                "parent_group_id": types.UUID,
                # NOTE: Nova never validated these.
                "to_port": {}, "from_port": {}, "ip_protocol": {}, "cidr": {},
            },
            "required": ["parent_group_id"],
            "additionalProperties": True,
        },
    },
    "required": ["security_group_rule"],
    "additionalProperties": True,
}

#: ``limit``/``offset`` (Nova's ``common.limited``), anything else ignored.
_LIMITED_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {"limit": types.multi(types.NON_NEGATIVE_INTEGER),
                   "offset": types.multi(types.NON_NEGATIVE_INTEGER)},
    "additionalProperties": True,
}
_GROUP_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {**_LIMITED_QUERY["properties"],
                   "all_tenants": types.multi({"type": "string"})},
    "additionalProperties": True,
}

_FLOATING_IP: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {"pool": {"type": ["string", "null"]}},
}

_VOLUME: dict[str, Any] = types.wrapped("volume", {
    "type": "object",
    "properties": {
        "volume_type": {"type": "string"},
        "metadata": {"type": "object", "properties": {}, "additionalProperties": True},
        "snapshot_id": {"type": "string"},
        "size": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1},
        "availability_zone": {"type": "string"},
        "display_name": {"type": "string"},
        "display_description": {"type": "string"},
    },
    "required": ["size"],
    "additionalProperties": False,
})

_SNAPSHOT: dict[str, Any] = types.wrapped("snapshot", {
    "type": "object",
    "properties": {
        "volume_id": {"type": "string"},
        "force": types.BOOLEAN,
        "display_name": {"type": "string"},
        "display_description": {"type": "string"},
    },
    "required": ["volume_id"],
    "additionalProperties": False,
})

_BASE = V(2, 1)

SCHEMAS: Versioned = {
    "security_group_create": ((_BASE, _GROUP),),
    "security_group_update": ((_BASE, _GROUP),),
    "security_group_index_query": ((_BASE, _GROUP_QUERY),),
    "security_group_rule_create": ((_BASE, _RULE),),
    "floating_ip_create": ((_BASE, _FLOATING_IP),),
    "proxy_volume_create": ((_BASE, _VOLUME),),
    "proxy_volume_index_query": ((_BASE, _LIMITED_QUERY),),
    "proxy_snapshot_create": ((_BASE, _SNAPSHOT),),
    "proxy_snapshot_index_query": ((_BASE, _LIMITED_QUERY),),
}
