"""Request schemas of a server's sub-resources: ``metadata``, ``tags`` (2.26), ``ips`` and
``os-instance-actions``, per microversion."""

from __future__ import annotations

import copy

from emulator.api.compute.schemas import parameter_types as types
from emulator.api.compute.schemas.parameter_types import (
    ANY_QUERY,
    METADATA,
    TAGS,
    Schema,
    derive,
    single,
    wrapped,
)
from emulator.api.compute.schemas.versions import STRICT_SHOW, V, Versioned

# -- /servers/{id}/metadata ---------------------------------------------------------------

_METADATA_CREATE = wrapped("metadata", METADATA)
_METADATA_UPDATE_ALL = wrapped("metadata", METADATA)
# PUT /servers/{id}/metadata/{key}: exactly one item (the handler checks it is {key}).
_METADATA_UPDATE = wrapped("meta", {**copy.deepcopy(METADATA),
                                     "minProperties": 1, "maxProperties": 1})


# -- /servers/{id}/tags -------------------------------------------------------------------

# PUT /servers/{id}/tags/{tag} takes no body (or a JSON null).
_TAG_UPDATE: Schema = {"type": "null"}
_TAGS_UPDATE_ALL = wrapped("tags", TAGS)


# -- /servers/{id}/os-instance-actions ----------------------------------------------------

_ACTIONS_INDEX_QUERY_V258: Schema = {
    "type": "object",
    "properties": {
        "limit": single(types.NON_NEGATIVE_INTEGER),
        "marker": single({"type": "string"}),
        "changes-since": single({"type": "string", "format": "date-time"}),
    },
    "additionalProperties": False,
}
_ACTIONS_INDEX_QUERY_V266 = derive(
    _ACTIONS_INDEX_QUERY_V258,
    lambda s: s["properties"].update(
        {"changes-before": single({"type": "string", "format": "date-time"})}))


# -- the table ----------------------------------------------------------------------------

_BASE = V(2, 1)

SCHEMAS: Versioned = {
    # /servers/{id}/metadata[/{key}]
    "metadata_create": ((_BASE, _METADATA_CREATE),),
    "metadata_update": ((_BASE, _METADATA_UPDATE),),
    "metadata_update_all": ((_BASE, _METADATA_UPDATE_ALL),),
    "metadata_index_query": STRICT_SHOW,
    "metadata_show_query": STRICT_SHOW,
    # /servers/{id}/tags[/{tag}] (NOTE: their GETs never became strict)
    "tags_update": ((V(2, 26), _TAG_UPDATE),),
    "tags_update_all": ((V(2, 26), _TAGS_UPDATE_ALL),),
    "tags_index_query": ((V(2, 26), ANY_QUERY),),
    "tags_show_query": ((V(2, 26), ANY_QUERY),),
    # /servers/{id}/ips[/{network}]
    "ips_index_query": STRICT_SHOW,
    "ips_show_query": STRICT_SHOW,
    # /servers/{id}/os-instance-actions[/{request_id}]
    "instance_actions_index_query": (
        (_BASE, ANY_QUERY),
        (V(2, 58), _ACTIONS_INDEX_QUERY_V258),
        (V(2, 66), _ACTIONS_INDEX_QUERY_V266),
    ),
    "instance_actions_show_query": STRICT_SHOW,
}
