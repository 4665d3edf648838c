"""Request-body and query-string schemas of the compute API, per microversion: one table.

Each resource module (``servers``, ``server_actions``, ``server_resources``, ``flavors``,
``keypairs``, ``images``, ``server_groups``, ``aggregates``, ``services``,
``hypervisors``, ``quotas``, ``operators``) states its schemas as ``SCHEMAS``: operation
name -> ``(since, schema)`` pairs, oldest first; ``SCHEMAS`` here is their union, and
``schema_for`` is the one picker: the schema for a request is the last one whose ``since``
is not above its version; an operation whose first ``since`` is above the version had no
schema yet (None). The facts (fields, limits, version windows) are Nova's.

Why the key order matters: Nova reports only the *first* error jsonschema yields, and
jsonschema walks a schema's keywords, and an object's ``properties``, in insertion
order. Every schema here keeps Nova's order, and a derived version keeps a replaced
property in its old place (new properties go last), as Nova's deep-copy-and-patch does,
so a body with several faults gets the same 400 message as from Nova.

NOTE: these are validated with Draft 4 semantics (``emulator.api.requests``) while Nova
validates with Draft 2020-12, extended. Where the answers differ:

* Nova holds numeric *strings* to ``minimum``/``maximum`` (``"min_count": "0"`` is a 400
  ``0 is less than the minimum of 1``; so is a ``volume_size`` of ``"0"`` or above
  2147483647); Draft 4 skips those keywords for strings, so the handler must check.
* Nova's ``integer`` takes integral floats (``"min_count": 2.0``, ``"flavorRef": 1.0``,
  ``"boot_index": 0.0``); Draft 4 refuses them (``is not of type``).
* Nova tests a description with a pattern of every printable character, and its message
  quotes that pattern; ours (the ``description`` format) says ``is not a 'description'``.
* Nova's base64 check raises on non-ASCII text (``user_data``, personality ``contents``),
  which ends as a 500 there; ours is a 400 ``is not a 'base64'``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from emulator.api.compute.schemas import (
    aggregates,
    flavors,
    hypervisors,
    images,
    keypairs,
    migrations,
    operators,
    proxies,
    quotas,
    server_actions,
    server_groups,
    server_networking,
    server_resources,
    servers,
    services,
    volume_attachments,
)
from emulator.api.compute.schemas.versions import NO_QUERY_FROM_2102, V, Versioned
from emulator.api.microversion import APIVersion

#: Queries of resources too small for a module of their own.
_OTHERS: Versioned = {
    "zone_query": NO_QUERY_FROM_2102,
    "console_auth_token_query": ((V(2, 99), NO_QUERY_FROM_2102[0][1]),),
}


def _union(*tables: Versioned) -> Versioned:
    merged: Versioned = {}
    for table in tables:
        clash = set(merged) & set(table)
        assert not clash, f"schema names defined twice: {clash}"
        merged.update(table)
    return merged


#: Every operation's schemas (see the module docstring).
SCHEMAS: Versioned = _union(servers.SCHEMAS, server_actions.SCHEMAS, server_resources.SCHEMAS,
                            server_networking.SCHEMAS,
                            flavors.SCHEMAS, keypairs.SCHEMAS, images.SCHEMAS,
                            server_groups.SCHEMAS, aggregates.SCHEMAS, services.SCHEMAS,
                            hypervisors.SCHEMAS, quotas.SCHEMAS, migrations.SCHEMAS,
                             operators.SCHEMAS, proxies.SCHEMAS, volume_attachments.SCHEMAS,
                             _OTHERS)


def schema_for(name: str, version: APIVersion) -> Mapping[str, Any] | None:
    """The schema of operation ``name`` at ``version``; None before the operation had one.

    Raises ``KeyError`` for a name not in ``SCHEMAS``.
    """
    chosen: Mapping[str, Any] | None = None
    for since, schema in SCHEMAS[name]:
        if since > version:
            break
        chosen = schema
    return chosen


def kept_query(schema: Mapping[str, Any],
               query: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The parameters a handler sees after a query passed ``schema``.

    Where the schema lets unknown parameters through, Nova drops them before the handler
    runs, except those matching a ``patternProperties`` regex (kept, to be refused later).
    """
    if not schema.get("additionalProperties", True):
        return dict(query)
    known = schema.get("properties", {})
    patterns = [*schema.get("patternProperties", {})]
    return {
        name: values for name, values in query.items()
        if name in known or any(re.match(p, name) for p in patterns)
    }
