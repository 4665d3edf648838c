"""Lists as Neutron's API gives them: filters on any filterable attribute (a repeated
parameter is an OR), the tag filters, ``fields``, ``sort_key``/``sort_dir`` and
``limit``/``marker``/``page_reverse`` (``api_common``'s rules and messages), applied to the
records a caller may see."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from emulator.network.attributes import Attribute
from emulator.network.errors import bad_request, fail

#: Query parameters that are not filters.
CONTROLS = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"})
#: The tag extension's filters: comma-separated tags.
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")

Record = dict[str, Any]
#: A resource's own filter (e.g. a port's ``fixed_ips``): the values -> does a record match.
SpecialFilter = Callable[[Record, list[str]], bool]


@dataclass(frozen=True)
class ListQuery:
    filters: dict[str, list[Any]] = field(default_factory=dict)
    special: dict[str, list[str]] = field(default_factory=dict)
    tags: dict[str, list[set[str]]] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    sorts: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False


def _limit(values: list[str]) -> int | None:
    raw = values[0] if values else "0"
    try:
        limit = int(raw)
        if limit >= 0:
            return limit or None
    except ValueError:
        pass
    raise fail("BadRequest", resource="limit",
               msg=f"Limit must be an integer 0 or greater and not '{raw}'")


def _sorts(attributes: Mapping[str, Attribute], keys: list[str],
           dirs: list[str]) -> list[tuple[str, bool]]:
    if len(keys) != len(dirs):
        raise bad_request("The number of sort_keys and sort_dirs must be same")
    invalid = [k for k in keys if k not in attributes or not attributes[k].sort]
    if invalid:
        raise bad_request(f"{invalid} is invalid attribute for sort_keys")
    wrong = [d for d in dirs if d not in ("asc", "desc")]
    if wrong:
        raise bad_request(f"{wrong} is invalid value for sort_dirs, valid value is 'asc' "
                          "and 'desc'")
    return [(k, d == "asc") for k, d in zip(keys, dirs, strict=True)]


def parse_query(attributes: Mapping[str, Attribute], params: Sequence[tuple[str, str]],
                special: Mapping[str, SpecialFilter] | None = None) -> ListQuery:
    """The list query of ``params`` (the query string's pairs, in order)."""
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    own = special or {}
    filters: dict[str, list[Any]] = {}
    specials: dict[str, list[str]] = {}
    tags: dict[str, list[set[str]]] = {}
    invalid: list[str] = []
    for key, values in grouped.items():
        if key in CONTROLS:
            continue
        if key in TAG_FILTERS:
            tags[key] = [{t for t in v.split(",") if t} for v in values]
            continue
        if key in own:
            specials[key] = values
            continue
        attribute = attributes.get(key)
        if attribute is None or not attribute.filter:
            invalid.append(key)
            continue
        convert = attribute.convert
        filters[key] = [convert(v) if convert is not None else v for v in values]
    if invalid:
        raise bad_request(f"{invalid} is invalid attribute for filtering")
    marker = grouped.get("marker", [None])[0]
    return ListQuery(
        filters=filters, special=specials, tags=tags,
        fields=[f for f in grouped.get("fields", []) if f],
        sorts=_sorts(attributes, [k for k in grouped.get("sort_key", []) if k],
                     [d for d in grouped.get("sort_dir", []) if d]),
        limit=_limit(grouped.get("limit", [])),
        marker=marker or None,
        page_reverse=grouped.get("page_reverse", ["False"])[0].lower() == "true")


def _matches(value: Any, wanted: list[Any]) -> bool:
    if isinstance(value, list):
        return any(str(v) in {str(w) for w in wanted} for v in value)
    if isinstance(value, bool) or value is None:
        return value in wanted or (value is None and "" in wanted)
    return value in wanted or str(value) in {str(w) for w in wanted}


def _tags_match(record: Record, tags: dict[str, list[set[str]]]) -> bool:
    have = set(record.get("tags", []))
    checks: dict[str, Callable[[set[str]], bool]] = {
        "tags": lambda wanted: wanted <= have,
        "tags-any": lambda wanted: bool(wanted & have),
        "not-tags": lambda wanted: not wanted <= have,
        "not-tags-any": lambda wanted: not wanted & have,
    }
    return all(checks[key](wanted) for key, groups in tags.items() for wanted in groups)


def _by(key: str) -> Callable[[Record], Any]:
    """The sort key of one attribute: None first (as SQL sorts NULL), then the value."""
    def value(record: Record) -> Any:
        item = record.get(key)
        return (item is not None, item if not isinstance(item, list | dict) else str(item))

    return value


def apply(records: list[Record], query: ListQuery,
          special: Mapping[str, SpecialFilter] | None = None,
          check_marker: Callable[[str], object] | None = None) -> list[Record]:
    """The page of ``records`` the query asks for: filtered, sorted (by ``id`` last, as
    Neutron's native pagination adds it), then cut after (or, paging back, before) the
    marker (``check_marker`` raises the 404 of a marker that is not there)."""
    own = special or {}
    chosen = [
        r for r in records
        if all(_matches(r.get(key), wanted) for key, wanted in query.filters.items())
        and all(own[key](r, values) for key, values in query.special.items())
        and _tags_match(r, query.tags)
    ]
    sorts = list(query.sorts)
    if "id" not in dict(sorts):
        sorts.append(("id", True))
    # NOTE: a stable sort per key, last key first, gives each key its own direction.
    for key, ascending in reversed(sorts):
        chosen.sort(key=_by(key), reverse=not ascending)
    if query.limit is None:
        return chosen
    start = 0 if not query.page_reverse else len(chosen)
    if query.marker is not None:
        index = next((i for i, r in enumerate(chosen) if r["id"] == query.marker), None)
        if index is None:
            if check_marker is not None:
                check_marker(query.marker)
            return []
        start = index if query.page_reverse else index + 1
    if query.page_reverse:
        return chosen[max(start - query.limit, 0):start]
    return chosen[start:start + query.limit]
