"""Request schemas of the moves (``migrate``, ``os-migrateLive``, ``evacuate``,
``force_complete``) and of the migration lists (``nova/api/openstack/compute/schemas/
migrate_server.py``, ``evacuate.py``, ``server_migrations.py``, ``migrations.py``)."""

from __future__ import annotations

from emulator.api.compute.schemas.parameter_types import (
    ADMIN_PASSWORD,
    BOOLEAN,
    FQDN,
    NON_NEGATIVE_INTEGER,
    QUERY_ANY,
    Schema,
    derive,
    obj,
    single,
    wrapped,
)
from emulator.api.compute.schemas.versions import STRICT_SHOW, V, Versioned

_NULLABLE_HOST: Schema = {**FQDN, "type": ["string", "null"]}

# migrate: 2.56 named a host.
# NOTE: Nova has no schema for migrate before 2.56: any body passes (Tempest sends
# ``{"migrate": {}}``) and a host in it is ignored.
_MIGRATE_V256 = obj({"migrate": {**obj({"host": _NULLABLE_HOST}),
                                 "type": ["object", "null"]}}, required=["migrate"])

_LIVE = wrapped("os-migrateLive", obj(
    {"block_migration": BOOLEAN, "disk_over_commit": BOOLEAN, "host": _NULLABLE_HOST},
    required=["block_migration", "disk_over_commit", "host"]))
# 2.25: disk_over_commit gone, block_migration may be "auto".
_LIVE_V225 = wrapped("os-migrateLive", obj(
    {"block_migration": {**BOOLEAN, "enum": [*BOOLEAN["enum"], "auto"]},
     "host": _NULLABLE_HOST}, required=["block_migration", "host"]))
_LIVE_V230 = derive(_LIVE_V225, lambda s: s["properties"]["os-migrateLive"]["properties"]
                    .update(force=BOOLEAN))

_EVACUATE = wrapped("evacuate", obj(
    {"host": FQDN, "onSharedStorage": BOOLEAN, "adminPass": ADMIN_PASSWORD},
    required=["onSharedStorage"]))
_EVACUATE_V214 = wrapped("evacuate", obj({"host": FQDN, "adminPass": ADMIN_PASSWORD}))
_EVACUATE_V229 = derive(_EVACUATE_V214, lambda s: s["properties"]["evacuate"]["properties"]
                        .update(force=BOOLEAN))

_FORCE_COMPLETE = obj({"force_complete": {"type": "null"}}, required=["force_complete"])

_MIGRATIONS_QUERY = obj({"hidden": QUERY_ANY, "host": QUERY_ANY, "instance_uuid": QUERY_ANY,
                         "source_compute": QUERY_ANY, "status": QUERY_ANY,
                         "migration_type": QUERY_ANY}, additional=True)


def _v259(schema: Schema) -> None:
    schema["properties"].update({
        "limit": single(NON_NEGATIVE_INTEGER), "marker": single({"type": "string"}),
        "changes-since": single({"type": "string", "format": "date-time"})})
    schema["additionalProperties"] = False


_MIGRATIONS_QUERY_V259 = derive(_MIGRATIONS_QUERY, _v259)
_MIGRATIONS_QUERY_V266 = derive(_MIGRATIONS_QUERY_V259, lambda s: s["properties"].update({
    "changes-before": single({"type": "string", "format": "date-time"})}))
_MIGRATIONS_QUERY_V280 = derive(_MIGRATIONS_QUERY_V266, lambda s: s["properties"].update({
    "user_id": single({"type": "string"}), "project_id": single({"type": "string"})}))

SCHEMAS: Versioned = {
    "migrate": ((V(2, 56), _MIGRATE_V256),),
    "migrate_live": ((V(2, 1), _LIVE), (V(2, 25), _LIVE_V225), (V(2, 30), _LIVE_V230),
                     (V(2, 68), _LIVE_V225)),
    "evacuate": ((V(2, 1), _EVACUATE), (V(2, 14), _EVACUATE_V214),
                 (V(2, 29), _EVACUATE_V229), (V(2, 68), _EVACUATE_V214)),
    "force_complete": ((V(2, 22), _FORCE_COMPLETE),),
    "migrations_query": ((V(2, 1), _MIGRATIONS_QUERY), (V(2, 59), _MIGRATIONS_QUERY_V259),
                         (V(2, 66), _MIGRATIONS_QUERY_V266),
                         (V(2, 80), _MIGRATIONS_QUERY_V280)),
    "server_migrations_query": STRICT_SHOW,
}
