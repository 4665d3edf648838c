"""The image list's query string as Glance reads it: paging, sorting (old and new syntax),
visibility, member status, hidden images, and every other key as a filter."""

from __future__ import annotations

from starlette.datastructures import QueryParams

from emulator.api.faults import Fault
from emulator.image.service import SORT_KEYS, ImageQuery

MEMBER_STATUS_FILTERS = ("pending", "accepted", "rejected", "all")
VISIBILITY_FILTERS = ("community", "public", "private", "shared", "all")
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
#: Keys that are not filters.
NOT_FILTERS = ("limit", "marker", "member_status", "tag", "sort", "sort_key", "sort_dir")


def _sort_key(name: str) -> str:
    if name not in SORT_KEYS:
        raise Fault(400, f"Invalid sort key: {name}. It must be one of the following: "
                         f"{', '.join(SORT_KEYS)}.")
    return name


def _sort_direction(name: str) -> str:
    if name not in ("asc", "desc"):
        raise Fault(400, f"Invalid sort direction: {name}")
    return name


def _sort(params: dict[str, list[str]]) -> tuple[tuple[str, str], ...]:
    """``sort=k1:asc,k2`` or ``sort_key=k1&sort_dir=asc...`` (never both)."""
    if "sort" in params:
        if "sort_key" in params or "sort_dir" in params:
            raise Fault(400, "Old and new sorting syntax cannot be combined")
        pairs = []
        for item in params["sort"][-1].strip().split(","):
            name, _, way = item.partition(":")
            pairs.append((_sort_key(name.strip()), _sort_direction(way.strip() or "desc")))
        return tuple(pairs)
    keys = [_sort_key(k.strip()) for k in params.get("sort_key", [])] or ["created_at"]
    dirs = [_sort_direction(d.strip()) for d in params.get("sort_dir", [])] or ["desc"]
    if len(dirs) > 1 and len(dirs) != len(keys):
        raise Fault(400, "Number of sort dirs does not match the number of sort keys")
    if len(dirs) == 1:
        dirs = dirs * len(keys)
    return tuple(zip(keys, dirs, strict=False))


def _limit(single: dict[str, str]) -> int:
    if "limit" not in single:
        return DEFAULT_LIMIT
    try:
        limit = int(single["limit"])
    except ValueError:
        raise Fault(400, "limit param must be an integer") from None
    if limit < 0:
        raise Fault(400, "limit param must be positive")
    return min(limit, MAX_LIMIT)


def _true_or_false(name: str, value: str) -> str:
    if value not in ("true", "false"):
        raise Fault(400, f"Invalid value '{value}' for '{name}' filter. Valid values are "
                         "'true' or 'false'.")
    return value


def image_query(query: QueryParams) -> ImageQuery:
    """A list request's query; where a key repeats, its last value counts (but ``tag``)."""
    params: dict[str, list[str]] = {}
    for name, value in query.multi_items():
        params.setdefault(name, []).append(value)
    single = {name: values[-1] for name, values in params.items()}
    limit = _limit(single)
    member_status = single.get("member_status", "accepted")
    if member_status not in MEMBER_STATUS_FILTERS:
        raise Fault(400, f"Invalid status: {member_status}")
    sort = _sort(params)
    filters = {name: value for name, value in single.items() if name not in NOT_FILTERS}
    visibility = filters.pop("visibility", None) or None
    if visibility is not None and visibility not in VISIBILITY_FILTERS:
        raise Fault(400, f"Invalid visibility value: {visibility}")
    if filters.get("changes-since"):
        raise Fault(400, 'The "changes-since" filter is no longer available on v2.')
    filters.pop("changes-since", None)
    os_hidden = _true_or_false("os_hidden", filters.pop("os_hidden", "false").lower())
    if "protected" in filters:
        _true_or_false("protected", filters["protected"])
    return ImageQuery(
        filters=filters, tags=tuple(t.strip() for t in params.get("tag", [])),
        visibility=visibility, member_status=member_status, os_hidden=os_hidden == "true",
        sort=sort, limit=limit, marker=single.get("marker"),
    )
