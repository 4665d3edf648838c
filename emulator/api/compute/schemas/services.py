"""Request schemas of ``/os-services`` (``nova/api/openstack/compute/schemas/
services.py``): the body of an update by version (the actions before 2.53, the service's
own fields from 2.53) and the list's query, closed from 2.75."""

from __future__ import annotations

from emulator.api.compute.schemas.parameter_types import (
    BOOLEAN,
    FQDN,
    QUERY_ANY,
    Schema,
    derive,
    obj,
)
from emulator.api.compute.schemas.versions import V, Versioned

_TEXT: Schema = {"type": "string", "minLength": 1, "maxLength": 255}

# The actions before 2.53 (enable, disable, disable-log-reason; force-down from 2.11)
# name the service by host and binary.
_UPDATE = obj({"host": FQDN, "binary": _TEXT, "disabled_reason": _TEXT},
              required=["host", "binary"])
_UPDATE_V211 = derive(_UPDATE, lambda s: s["properties"].update(forced_down=BOOLEAN))
# 2.53: the path names the service; nothing is required (an empty update is refused by
# the handler, as is a reason with status "enabled").
_UPDATE_V253 = obj({"status": {"type": "string", "enum": ["enabled", "disabled"]},
                    "disabled_reason": _TEXT, "forced_down": BOOLEAN})

_QUERY = obj({"host": QUERY_ANY, "binary": QUERY_ANY}, additional=True)
_QUERY_V275 = derive(_QUERY, lambda s: s.update(additionalProperties=False))

SCHEMAS: Versioned = {
    "service_update": ((V(2, 1), _UPDATE), (V(2, 11), _UPDATE_V211), (V(2, 53), _UPDATE_V253)),
    "service_query": ((V(2, 1), _QUERY), (V(2, 75), _QUERY_V275)),
}
