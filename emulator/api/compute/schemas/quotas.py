"""Request schemas of ``/os-quota-sets``, ``/os-quota-class-sets`` and ``/limits``
(``nova/api/openstack/compute/schemas/quota_sets.py``, ``quota_classes.py``, ``limits.py``),
per microversion."""

from __future__ import annotations

from typing import Any

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.parameter_types import ANY_QUERY, NO_QUERY, derive, obj
from emulator.api.compute.schemas.versions import V, Versioned

#: A limit: an integer, or a string of one, from -1 (unlimited) to the database's MAX_INT.
_LIMIT: dict[str, Any] = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$",
                          "minimum": -1, "maximum": types.MAX_INT}

#: Every settable resource, in Nova's order (its messages name the first bad one).
_RESOURCES = ("instances", "cores", "ram", "floating_ips", "fixed_ips", "metadata_items",
              "key_pairs", "security_groups", "security_group_rules", "injected_files",
              "injected_file_content_bytes", "injected_file_path_bytes", "server_groups",
              "server_group_members")
_NETWORK = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
_INJECTED = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")


def _without(schema: dict[str, Any], key: str, names: tuple[str, ...]) -> dict[str, Any]:
    def edit(body: dict[str, Any]) -> None:
        for name in names:
            del body["properties"][key]["properties"][name]
    return derive(schema, edit)


def _update(key: str, force: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {name: _LIMIT for name in _RESOURCES}
    if force:
        properties["force"] = types.BOOLEAN
    return types.wrapped(key, obj(properties))


_SET = _update("quota_set", force=True)
_SET_V236 = _without(_SET, "quota_set", _NETWORK)
_SET_V257 = _without(_SET_V236, "quota_set", _INJECTED)
_CLASS = _update("quota_class_set", force=False)
_CLASS_V250 = _without(_CLASS, "quota_class_set", _NETWORK)
_CLASS_V257 = _without(_CLASS_V250, "quota_class_set", _INJECTED)

# NOTE: unknown query parameters are dropped until 2.75 (Nova keeps them "for backward
# compatibility"), refused from then on.
_USER_QUERY: dict[str, Any] = obj({"user_id": types.multi({"type": "string"})},
                                  additional=True)
_USER_QUERY_V275 = {**_USER_QUERY, "additionalProperties": False}
_LIMITS_QUERY: dict[str, Any] = obj({"tenant_id": types.multi({"type": "string"})},
                                    additional=True)
_LIMITS_QUERY_V275 = {**_LIMITS_QUERY, "additionalProperties": False}

SCHEMAS: Versioned = {
    "quota_set_update": ((V(2, 1), _SET), (V(2, 36), _SET_V236), (V(2, 57), _SET_V257)),
    # Show, detail, update and delete take the same query.
    "quota_set_query": ((V(2, 1), _USER_QUERY), (V(2, 75), _USER_QUERY_V275)),
    # NOTE: Nova defines a strict 2.102 defaults query but never applies it.
    "quota_defaults_query": ((V(2, 1), ANY_QUERY),),
    "quota_class_update": ((V(2, 1), _CLASS), (V(2, 50), _CLASS_V250),
                           (V(2, 57), _CLASS_V257)),
    "quota_class_query": ((V(2, 1), ANY_QUERY), (V(2, 102), NO_QUERY)),
    "limits_query": ((V(2, 1), _LIMITS_QUERY), (V(2, 75), _LIMITS_QUERY_V275)),
}
