"""What the block storage controllers share: the caller's context, Cinder's links and
paging parameters, its boolean and name rules, timestamps, and body validation."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from emulator.api.compute.common import context
from emulator.api.faults import Fault
from emulator.api.microversion import APIVersion
from emulator.api.requests import validate_body
from emulator.api.routing import Call, base_url
from emulator.volume.records import ListQuery
from emulator.volume.service import VolumeService

__all__ = ["V3_PREFIX", "context"]

#: Where the v3 API is mounted.
V3_PREFIX = "/volume/v3"
#: Cinder's ``osapi_max_limit``.
MAX_LIMIT = 1000
#: oslo's ``strutils`` boolean words.
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")


def timestamp(value: datetime | None) -> str | None:
    """A time as Cinder's JSON serializer writes it (microseconds, no zone)."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def is_bool_string(value: object) -> bool:
    return isinstance(value, bool) or str(value).lower() in (*TRUE_STRINGS, *FALSE_STRINGS)


def to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in TRUE_STRINGS


def bool_param(query: Mapping[str, str], name: str, default: bool = False) -> bool:
    """Cinder's ``get_bool_param``: a strict boolean or a 400."""
    value: object = query.get(name, default)
    if not is_bool_string(value):
        raise Fault(400, f"Value '{value}' for '{name}' is not a boolean.")
    return to_bool(value)


def with_count(call: Call) -> bool:
    """``with_count`` (3.45): the list also says how many records matched."""
    query = call.request.query_params
    return call.version >= APIVersion(3, 45) and "with_count" in query and \
        bool_param(query, "with_count")


def _project_segment(call: Call) -> str:
    return f"/{call.url_project_id}" if call.url_project_id else ""


def links(call: Call, collection: str, ident: str) -> list[dict[str, str]]:
    """``self`` (with the version) and ``bookmark`` (without) links; the project id only
    when the request's URL had it."""
    root = base_url(call.request)
    project = _project_segment(call)
    return [
        {"rel": "self", "href": f"{root}{V3_PREFIX}{project}/{collection}/{ident}"},
        {"rel": "bookmark", "href": f"{root}/volume{project}/{collection}/{ident}"},
    ]


def collection_links(call: Call, collection: str, ids: list[str],
                     count: int | None = None) -> list[dict[str, str]]:
    """Cinder's ``_get_collection_links``: a ``next`` link when as many items came as the
    limit allows (``count``, when the request asked for it, stands for the page size)."""
    query = call.request.query_params
    try:
        limit = min(int(query.get("limit", MAX_LIMIT)), MAX_LIMIT)
    except ValueError:
        limit = MAX_LIMIT
    if not ids or limit > (count or len(ids)):
        return []
    params = [(k, v) for k, v in query.multi_items() if k != "marker"]
    params.append(("marker", ids[-1]))
    root = f"{base_url(call.request)}{V3_PREFIX}{_project_segment(call)}"
    return [{"rel": "next", "href": f"{root}/{collection}?{urlencode(params)}"}]


def pagination(query: Mapping[str, str]) -> tuple[str | None, int, int]:
    """(marker, limit, offset) as ``get_pagination_params`` reads them."""
    try:
        limit = int(query.get("limit", MAX_LIMIT))
    except ValueError:
        raise Fault(400, "limit param must be an integer") from None
    if limit < 0:
        raise Fault(400, "limit param must be positive")
    raw_offset = query.get("offset", "0")
    try:
        offset = int(raw_offset)
    except ValueError:
        raise Fault(400, "offset must be an integer") from None
    if offset < 0:
        raise Fault(400, "offset must be >= 0")
    if offset > 0x7FFFFFFF:
        raise Fault(400, f"offset must be <= {0x7FFFFFFF}")
    return query.get("marker"), min(limit, MAX_LIMIT), offset


def sort_params(query: Mapping[str, str],
                renames: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``sort=k1:dir,k2`` or the deprecated ``sort_key``/``sort_dir`` (not both)."""
    if "sort" in query and ("sort_key" in query or "sort_dir" in query):
        raise Fault(400, "The 'sort_key' and 'sort_dir' parameters are deprecated and "
                         "cannot be used with the 'sort' parameter.")
    if "sort" in query:
        pairs = []
        for item in query["sort"].strip().split(","):
            key, _sep, direction = item.partition(":")
            pairs.append((key.strip(), direction.strip() or "desc"))
    else:
        pairs = [(query.get("sort_key", "created_at").strip(),
                  query.get("sort_dir", "desc").strip())]
    return tuple((renames.get(key, key), direction) for key, direction in pairs)


#: Query parameters that are no filter.
NOT_FILTERS = ("marker", "limit", "offset", "sort", "sort_key", "sort_dir", "with_count",
               "all_tenants")


def literal(value: str) -> Any:
    """A filter value as Cinder reads it (``ast.literal_eval``, else the string)."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


def list_query(call: Call, filters: dict[str, Any], sort: tuple[tuple[str, str], ...]
               ) -> ListQuery:
    query = call.request.query_params
    marker, limit, offset = pagination(query)
    # A non-admin's ``all_tenants`` is ignored (Cinder drops it for cinderclient's sake).
    all_tenants = context(call).is_admin and bool_param(query, "all_tenants")
    return ListQuery(filters=filters, sort=sort, marker=marker, offset=offset, limit=limit,
                     all_projects=all_tenants)


def validate(schema: Mapping[str, Any], body: Any) -> dict[str, Any]:
    """The body checked against ``schema`` (Cinder words schema errors as Nova does)."""
    validate_body(schema, body)
    assert isinstance(body, dict)
    return body


def check_text(value: Any, name: str) -> str | None:
    """A name or description as Cinder's ``*_non_mandatory_remove_white_spaces`` formats
    take it: stripped, at most 255 characters."""
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    if len(stripped) > 255:
        raise Fault(400, f"Invalid input received: {name} has {len(stripped)} characters, "
                         "more than 255.")
    return stripped


class ListingController:
    """Base of the controllers of a collection with a summary and a detailed list."""

    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes

    async def index(self, call: Call) -> Response:
        return self.listing(call, detailed=False)

    async def detail(self, call: Call) -> Response:
        return self.listing(call, detailed=True)

    def listing(self, call: Call, detailed: bool) -> Response:
        raise NotImplementedError
