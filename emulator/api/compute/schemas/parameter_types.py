"""Schema fragments Nova reuses across its request schemas (facts, not Nova's code)."""

from __future__ import annotations

from typing import Any

#: The database's MAX_INT bounds every integer a flavor stores.
MAX_INT = 0x7FFFFFFF

NAME: dict[str, Any] = {"type": "string", "format": "name", "minLength": 1, "maxLength": 255}

BOOLEAN: dict[str, Any] = {
    "type": ["boolean", "string"],
    "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
             False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"],
}

POSITIVE_INTEGER: dict[str, Any] = {
    "type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1, "minLength": 1,
}
NON_NEGATIVE_INTEGER: dict[str, Any] = {
    "type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1,
}

FLAVOR_POSITIVE: dict[str, Any] = {
    "type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": MAX_INT,
}
FLAVOR_NON_NEGATIVE: dict[str, Any] = {**FLAVOR_POSITIVE, "minimum": 0}


def multi(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter that may be repeated: a list of values, each matching ``schema``."""
    return {"type": "array", "items": schema}
