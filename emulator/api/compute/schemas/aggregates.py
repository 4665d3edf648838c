"""Request schemas of ``/os-aggregates`` (``nova/api/openstack/compute/schemas/
aggregates.py`` and ``aggregate_images.py``); none changes with the microversion but the
queries, refused from 2.102."""

from __future__ import annotations

from emulator.api.compute.schemas.parameter_types import (
    FQDN,
    METADATA,
    METADATA_KEY,
    NAME,
    NAME_WITH_SPACES,
    UUID,
    Schema,
    derive,
    obj,
    wrapped,
)
from emulator.api.compute.schemas.versions import STRICT_SHOW, V, Versioned

AZ_NAME: Schema = {"type": "string", "format": "az_name", "minLength": 1, "maxLength": 255}
_ZONE: Schema = {"oneOf": [AZ_NAME, {"type": "null"}]}

_CREATE = wrapped("aggregate", obj({"name": NAME, "availability_zone": _ZONE},
                                   required=["name"]))
# NOTE: an update's name may have leading and trailing spaces (stripped), a create's not.
_UPDATE = wrapped("aggregate", {
    "type": "object",
    "properties": {"name": NAME_WITH_SPACES, "availability_zone": _ZONE},
    "additionalProperties": False,
    "anyOf": [{"required": ["name"]}, {"required": ["availability_zone"]}],
})
_ADD_HOST = wrapped("add_host", obj({"host": FQDN}, required=["host"]))
_REMOVE_HOST = wrapped("remove_host", obj({"host": FQDN}, required=["host"]))
_METADATA_WITH_NULL = derive(
    METADATA, lambda s: s["patternProperties"][METADATA_KEY].update(type=["string", "null"]))
_SET_METADATA = wrapped("set_metadata", obj({"metadata": _METADATA_WITH_NULL},
                                            required=["metadata"]))
# Nova's keyword order in the items: properties, additionalProperties, required.
_IMAGES = obj({"cache": {
    "type": ["array"],
    "minItems": 1,
    "items": {"type": "object", "properties": {"id": UUID}, "additionalProperties": False,
              "required": ["id"]},
}}, required=["cache"])

_BASE = V(2, 1)

SCHEMAS: Versioned = {
    "aggregate_create": ((_BASE, _CREATE),),
    "aggregate_update": ((_BASE, _UPDATE),),
    "aggregate_add_host": ((_BASE, _ADD_HOST),),
    "aggregate_remove_host": ((_BASE, _REMOVE_HOST),),
    "aggregate_set_metadata": ((_BASE, _SET_METADATA),),
    "aggregate_images": ((V(2, 81), _IMAGES),),
    # GET /os-aggregates and GET /os-aggregates/{id}
    "aggregate_query": STRICT_SHOW,
}
