"""Reading request bodies and validating them with JSON schemas, with Nova's messages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import jsonschema
from starlette.requests import Request

from emulator.api.faults import Fault
from emulator.api.formats import FORMAT_CHECKER, InvalidName

#: Content types Nova accepts for a JSON body; a missing Content-Type is accepted too.
JSON_CONTENT_TYPES = frozenset({"application/json", "application/vnd.openstack.compute+json"})

Dialect = Literal["nova", "keystone"]


def dump_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(", ", ": ")).encode()


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, or a 413 ``Fault`` as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Fault(413, "Request is too large.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Fault(413, "Request is too large.")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes, content_type: str | None) -> Any:
    """Decode a JSON body (None when empty); 415 for another media type, 400 when malformed."""
    if content_type:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in JSON_CONTENT_TYPES:
            raise Fault(415, "Unsupported Content-Type")
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise Fault(400, "Malformed request body") from None




def _validator(schema: Mapping[str, Any]) -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(schema, format_checker=FORMAT_CHECKER)


def validate_body(schema: Mapping[str, Any], body: Any, dialect: Dialect = "nova") -> None:
    """Raise a 400 ``Fault`` for the first schema error, worded as the service words it.

    NOTE: Nova reports the *first* error jsonschema yields, naming the last element of its
    path ("Invalid input for field/attribute <name>. Value: <value>. <message>"); Keystone
    names the whole path ("Invalid input for field '<a/b/c>': <message>").
    """
    error = next(iter(_validator(schema).iter_errors(body)), None)
    if error is None:
        return
    if dialect == "keystone":
        if error.path:
            path = "/".join(str(p) for p in error.path)
            raise Fault(400, f"Invalid input for field '{path}': {error.message}")
        raise Fault(400, error.message)
    if isinstance(error.cause, InvalidName):
        raise Fault(400, str(error.cause))
    if error.path:
        raise Fault(
            400,
            f"Invalid input for field/attribute {error.path[-1]}. "
            f"Value: {error.instance}. {error.message}",
        )
    raise Fault(400, error.message)


def validate_query(schema: Mapping[str, Any], query: Mapping[str, list[str]]) -> None:
    """Validate query parameters (each a list of values) as Nova does."""
    error = next(iter(_validator(schema).iter_errors(dict(query))), None)
    if error is None:
        return
    if error.path:
        raise Fault(
            400,
            f"Invalid input for query parameters {error.path[0]}. "
            f"Value: {error.instance}. {error.message}",
        )
    raise Fault(400, error.message)
