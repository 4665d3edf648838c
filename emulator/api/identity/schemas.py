"""Request schemas of the Keystone slice (keystone.auth.schema, keystone.*.schema)."""

from __future__ import annotations

from typing import Any

_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_STR = {"type": "string"}
_REF = {"type": "object", "properties": {"id": _STR, "name": _STR}}
_DESCRIPTION = {"type": ["string", "null"], "maxLength": 65535}
_ENABLED = {"type": "boolean"}
_OPTIONS = {"type": "object"}
_TAGS = {"type": "array"}

#: Keystone's ``token_issue`` schema, applied to the ``auth`` object. It only checks
#: types: missing pieces are reported later, each with its own message.
AUTH: dict[str, Any] = {
    "type": "object",
    "required": ["identity"],
    "properties": {
        "identity": {
            "type": "object",
            "required": ["methods"],
            "properties": {
                "methods": {"type": "array", "items": _STR},
                "password": {
                    "type": "object",
                    "properties": {
                        "user": {
                            "type": "object",
                            "properties": {"id": _STR, "name": _STR, "password": _STR,
                                           "domain": _REF},
                        }
                    },
                },
                "token": {"type": "object", "required": ["id"], "properties": {"id": _STR}},
            },
        },
        "scope": {
            "type": ["object", "string"],
            "properties": {
                "project": {"type": "object",
                            "properties": {"id": _STR, "name": _STR, "domain": _REF}},
                "domain": _REF,
                "OS-TRUST:trust": {"type": "object", "properties": {"id": _STR}},
                "system": {"type": "object"},
            },
        },
    },
}

#: The properties of each entity's body, by kind.
PROPERTIES: dict[str, dict[str, Any]] = {
    "domain": {"name": _NAME, "description": _DESCRIPTION, "enabled": _ENABLED,
               "tags": _TAGS, "options": _OPTIONS},
    "project": {"name": _NAME, "domain_id": _ID, "description": _DESCRIPTION,
                "enabled": _ENABLED, "is_domain": {"type": "boolean", "enum": [False]},
                "parent_id": {"type": ["string", "null"]}, "tags": _TAGS,
                "options": _OPTIONS},
    "user": {"name": _NAME, "domain_id": _ID, "description": _DESCRIPTION,
             "enabled": _ENABLED, "password": {"type": ["string", "null"], "maxLength": 4096},
             "default_project_id": {"type": ["string", "null"]},
             "email": {"type": ["string", "null"], "maxLength": 255}, "options": _OPTIONS},
    "role": {"name": _NAME, "description": _DESCRIPTION, "options": _OPTIONS,
             "domain_id": {"type": "null"}},
}


def entity(kind: str, required: list[str]) -> dict[str, Any]:
    """The body of a create (``required=["name"]``) or an update of ``kind``."""
    return {
        "type": "object",
        "required": [kind],
        "properties": {
            kind: {"type": "object", "properties": PROPERTIES[kind], "required": required}
        },
    }
