"""Request schemas of ``/os-server-groups`` (``nova/api/openstack/compute/schemas/
server_groups.py``), per microversion."""

from __future__ import annotations

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.parameter_types import Schema, derive, inner, obj, wrapped
from emulator.api.compute.schemas.versions import STRICT_SHOW, V, Versioned
from emulator.compute.server_groups import POLICIES

#: The policies before 2.15 (Nova's enum order), then the soft ones too.
_HARD, _ALL = list(POLICIES[:2]), list(POLICIES)

# NOTE: one policy in a list until 2.64. Nova spells the item with Draft 2020-12's
# ``prefixItems``; Draft 4's tuple ``items`` is the same rule (``maxItems`` comes first).
_CREATE: Schema = wrapped("server_group", obj({
    "name": types.NAME,
    "policies": {
        "type": "array",
        "items": [{"type": "string", "enum": _HARD}],
        "uniqueItems": True,
        "minItems": 1,
        "maxItems": 1,
        "additionalItems": False,
    },
}, required=["name", "policies"]))


def _soft(schema: Schema) -> None:
    inner(schema, "server_group")["policies"]["items"][0]["enum"] = list(_ALL)


def _policy_and_rules(schema: Schema) -> None:
    group = schema["properties"]["server_group"]
    del group["properties"]["policies"]
    group["required"] = ["name", "policy"]
    group["properties"]["policy"] = {"type": "string", "enum": list(_ALL)}
    group["properties"]["rules"] = obj({"max_server_per_host": types.POSITIVE_INTEGER})


_CREATE_V215 = derive(_CREATE, _soft)
_CREATE_V264 = derive(_CREATE_V215, _policy_and_rules)

_INDEX_QUERY: Schema = obj({
    "all_projects": types.QUERY_ANY,
    "limit": types.multi(types.NON_NEGATIVE_INTEGER),
    "offset": types.multi(types.NON_NEGATIVE_INTEGER),
}, additional=True)
_INDEX_QUERY_V275 = {**_INDEX_QUERY, "additionalProperties": False}

SCHEMAS: Versioned = {
    "server_group_create": ((V(2, 1), _CREATE), (V(2, 15), _CREATE_V215),
                            (V(2, 64), _CREATE_V264)),
    "server_group_index_query": ((V(2, 1), _INDEX_QUERY), (V(2, 75), _INDEX_QUERY_V275)),
    "server_group_show_query": STRICT_SHOW,
}
