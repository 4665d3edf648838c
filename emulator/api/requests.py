"""Reading request bodies and validating them with JSON schemas, in each service's words.

Nova and Keystone disagree on bodies, and clients see it:

| | Nova (``wsgi.Resource``) | Keystone (``json_body_before_request``) |
|---|---|---|
| Content-Type checked | on every request | only when there is a body |
| accepted | none, ``text/plain``, JSON types | none, ``application/json``, ``*+json`` |
| other types | 415 ``Unsupported Content-Type`` | 400 ``Expecting to find application/json…`` |
| bad JSON | 400 ``Malformed request body`` | 400 ``Expecting to find valid JSON…`` |
| not an object | left to the schema | 400, as bad JSON |

Both sit behind oslo.middleware's size limit (413 before anything else when the declared
``Content-Length`` is too large, or while reading a body sent without one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import jsonschema
from starlette.datastructures import Headers
from starlette.requests import Request

from emulator.api.faults import Dialect, Fault
from emulator.api.formats import FORMAT_CHECKER, InvalidName

__all__ = [
    "JSON_CONTENT_TYPES",
    "Dialect",
    "accept_quality",
    "check_declared_size",
    "check_media_type",
    "dump_json",
    "parse_json",
    "read_body",
    "validate_body",
    "validate_query",
]

#: Content types Nova accepts for a JSON body; a missing Content-Type is accepted too, and
#: so is ``text/plain`` (the default of some HTTP libraries, see ``Request.get_content_type``).
JSON_CONTENT_TYPES = frozenset({"application/json", "application/vnd.openstack.compute+json"})
_NOVA_IGNORED_TYPES = frozenset({"", "text/plain"})

_KEYSTONE_NOT_JSON = (
    "Expecting to find {attribute} in {target}. The server could not comply with the request "
    "since it is either malformed or otherwise incorrect. The client is assumed to be in error."
)

#: A lone UTF-16 surrogate: valid JSON escape syntax (``"\\ud800"``) but not a character any
#: database or encoder accepts.
_SURROGATE = re.compile("[\ud800-\udfff]")


def dump_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(", ", ": ")).encode()


def accept_quality(accept: str, offer: str) -> float | None:
    """The ``q`` an ``Accept`` header gives the media type ``offer``: its most specific
    matching range's (``type/subtype``, then ``type/*``, then ``*/*``; the highest of
    equals), 1 unless said, 0 when unreadable; None when no range matches."""
    kind = offer.split("/")[0]
    ranks = {offer: 3, f"{kind}/*": 2, "*/*": 1}
    best: tuple[int, float] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        rank = ranks.get(media.lower())
        if rank is None:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if best is None or (rank, quality) > best:
            best = (rank, quality)
    return best[1] if best is not None else None


def check_declared_size(headers: Headers, limit: int) -> None:
    """413 when the declared ``Content-Length`` exceeds ``limit`` (oslo's sizelimit)."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Fault(413, f"Request is too large. Larger than max_request_body_size ({limit}).")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, or a 413 ``Fault`` as soon as it grows past ``limit`` bytes."""
    check_declared_size(request.headers, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Fault(413, f"Request is too large. Larger than {limit}.")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_media_type(content_type: str | None) -> None:
    """Nova's check, made on every request: 415 unless the type is JSON, plain or absent."""
    media_type = _media_type(content_type)
    if media_type not in _NOVA_IGNORED_TYPES and media_type not in JSON_CONTENT_TYPES:
        raise Fault(415, "Unsupported Content-Type")


def _is_json(media_type: str) -> bool:
    """Flask's ``Request.is_json``: ``application/json`` or ``application/*+json``."""
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


#: Deeper JSON is refused as malformed. Python's decoder gives up near its recursion limit
#: anyway, at a depth that depends on the stack; a fixed bound keeps the answer stable and
#: keeps error messages (which repr the offending value) from recursing. No OpenStack body
#: comes close.
MAX_JSON_DEPTH = 100


def _acceptable(value: Any) -> bool:
    """No lone surrogates, no nesting beyond ``MAX_JSON_DEPTH`` (iteratively checked)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return False
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return False
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _decode(raw: bytes) -> Any:
    """``json.loads`` that raises ``ValueError`` for anything we refuse to take as JSON."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not _acceptable(value):
        raise ValueError("lone surrogate or nested too deeply")
    return value


def parse_json(raw: bytes, content_type: str | None, dialect: Dialect = "nova") -> Any:
    """Decode a JSON body (None when there is none), with the service's errors (see above)."""
    if dialect == "keystone":
        if not raw:
            return None
        media_type = _media_type(content_type)
        if media_type and not _is_json(media_type):
            raise Fault(400, _KEYSTONE_NOT_JSON.format(attribute="application/json",
                                                       target="Content-Type header"))
        try:
            body = _decode(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Fault(400, _KEYSTONE_NOT_JSON.format(attribute="valid JSON",
                                                       target="request body"))
        return body
    check_media_type(content_type)
    if not raw:
        return None
    try:
        return _decode(raw)
    except ValueError:
        raise Fault(400, "Malformed request body") from None


def _number_from_string(instance: Any) -> Any:
    """Nova compares numeric strings ("512") against minimum/maximum as numbers."""
    if not isinstance(instance, str):
        return instance
    for convert in (int, float):
        try:
            return convert(instance)
        except ValueError:
            continue
    return None


def _numeric_keyword(name: str) -> Any:
    draft4 = jsonschema.Draft4Validator.VALIDATORS[name]

    def check(validator: Any, bound: Any, instance: Any, schema: Any) -> Any:
        number = _number_from_string(instance)
        if number is None:
            return None
        return draft4(validator, bound, number, schema)

    return check


#: Draft 4 as Nova extends it: ``minimum``/``maximum`` also bound numeric strings.
_NovaValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft4Validator,
    {"minimum": _numeric_keyword("minimum"), "maximum": _numeric_keyword("maximum")},
)


#: id(schema) -> (the schema, its validator): a validator is made once a schema (making one
#: costs more than most validations). The schema is held so that its id is not reused;
#: schemas are the route tables' constants, so the bound is never reached in practice.
_VALIDATORS: dict[int, tuple[Mapping[str, Any], Any]] = {}
_MAX_VALIDATORS = 2048


def _validator(schema: Mapping[str, Any]) -> Any:
    made = _VALIDATORS.get(id(schema))
    if made is None or made[0] is not schema:
        if len(_VALIDATORS) >= _MAX_VALIDATORS:
            _VALIDATORS.clear()
        made = _VALIDATORS[id(schema)] = (
            schema, _NovaValidator(schema, format_checker=FORMAT_CHECKER))
    return made[1]


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
