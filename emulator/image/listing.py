"""Listing images as Glance does: who may list what, the query filters (with their
operators and messages), the sort with Glance's tie-breakers, and marker paging."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import true
from sqlmodel import Session, col, select

from emulator.context import RequestContext
from emulator.errors import InvalidInput
from emulator.image.limits import MAX_BIGINT
from emulator.image.models import Image, ImageMember, ImageProperty, ImageTag
from emulator.image.records import ImagePage, ImageQuery
from emulator.image.rows import to_record, visible

_COLUMN_FILTERS_WITH_OPS = ("name", "id", "status", "container_format", "disk_format")
_TIME_FILTERS = ("created_at", "updated_at")
_INT_COLUMNS = ("size", "virtual_size", "min_disk", "min_ram")
_EQUALITY_COLUMNS = ("owner", "checksum", "os_hash_algo", "os_hash_value", "protected",
                     *_INT_COLUMNS)
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": lambda a, b: a == b, "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
}
_ISO_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$")

# -- filter values ---------------------------------------------------------------------------


def split_filter_op(expression: str) -> tuple[str, str]:
    """``"gte:2020-01-01"`` -> ``("gte", "2020-01-01")``; no operator means ``eq``.

    An ISO 8601 time alone (it has colons) is an equality, as in Glance.
    """
    left, sep, right = expression.partition(":")
    if not sep or _ISO_TIME.match(expression):
        return "eq", expression
    return left, right


def split_in_values(value: str) -> list[str]:
    """The values of an ``in:`` filter: comma separated, double quotes protect commas."""
    values: list[str] = []
    current: list[str] = []
    quoted = False
    for i, char in enumerate(value):
        if char == '"' and (i == 0 or value[i - 1] != "\\"):
            if not quoted and current:
                raise InvalidInput(f"Invalid filter value {value}. There is no comma before "
                                   "opening quotation mark.")
            if quoted and i + 1 < len(value) and value[i + 1] != ",":
                raise InvalidInput(f"Invalid filter value {value}. There is no comma after "
                                   "closing quotation mark.")
            quoted = not quoted
        elif char == "," and not quoted:
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise InvalidInput(f"Invalid filter value {value}. The quote is not closed.")
    values.append("".join(current))
    return values


def parse_time(text: str, name: str) -> datetime:
    """An ISO 8601 time in UTC, or Glance's 400."""
    match = _ISO_TIME.match(text.strip())
    if match is None:
        raise InvalidInput(f'Bad "{name}" query filter format. Use ISO 8601 DateTime notation.')
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                         int(second or 0), int((fraction or "0").ljust(6, "0")), tzinfo=UTC)
    except ValueError:
        raise InvalidInput(
            f'Bad "{name}" query filter format. Use ISO 8601 DateTime notation.') from None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        value -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value


def _int_filter(key: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"Unable to filter on {key} with a non-numeric value.") from None
    if abs(value) > MAX_BIGINT:
        raise InvalidInput(f"Unable to filter on {key} with a value out of range.")
    return value


# -- SQL conditions --------------------------------------------------------------------------


def _listable(ctx: RequestContext, query: ImageQuery) -> Any:
    """Glance's ``_select_images_query`` plus its community rule, as one condition."""
    shared = select(ImageMember.image_id).where(ImageMember.member == ctx.project_id)
    if query.member_status != "all":
        shared = shared.where(ImageMember.status == query.member_status)
    condition: Any = true()
    if not ctx.is_admin:
        condition = (col(Image.visibility).in_(("public", "community"))
                     | ((col(Image.visibility) == "shared") & col(Image.id).in_(shared)))
        if ctx.project_id is not None:
            condition = condition | (col(Image.owner) == ctx.project_id)
    if query.visibility is not None:
        if query.visibility != "all":
            condition = condition & (col(Image.visibility) == query.visibility)
    elif ctx.project_id is None:
        condition = condition & (col(Image.visibility) != "community")
    else:
        condition = condition & ((col(Image.owner) == ctx.project_id)
                                 | (col(Image.visibility) != "community"))
    return condition


def _filter_condition(key: str, raw: str) -> Any:
    """One query filter as a SQL condition (Glance's ``_make_conditions_from_filters``)."""
    if key.endswith(("_min", "_max")) and key[:-4] in _INT_COLUMNS:
        column = getattr(Image, key[:-4])
        bound = _int_filter(key, raw)
        return col(column) >= bound if key.endswith("_min") else col(column) <= bound
    if key in _TIME_FILTERS:
        op, text = split_filter_op(raw)
        if op not in _COMPARISONS:
            raise InvalidInput("Unable to filter on a unknown operator.")
        return _COMPARISONS[op](col(getattr(Image, key)), parse_time(text, key))
    if key in _COLUMN_FILTERS_WITH_OPS:
        column = col(getattr(Image, key))
        op, value = split_filter_op(raw)
        if op == "in":
            return column.in_(split_in_values(value))
        if op == "eq":
            return column == value
        raise InvalidInput(f"Unable to filter by unknown operator '{op}'.")
    if key in _EQUALITY_COLUMNS:
        column = col(getattr(Image, key))
        if key == "protected":
            return column == (raw.lower() == "true")
        if key in _INT_COLUMNS:
            return column == _int_filter(key, raw)
        return column == raw
    has_property = select(ImageProperty.image_id).where(ImageProperty.name == key,
                                                        ImageProperty.value == raw)
    return col(Image.id).in_(has_property)


# -- order and pages -------------------------------------------------------------------------


def _sort_value(row: Image, key: str) -> Any:
    value = getattr(row, key)
    if value is None:
        return 0 if key == "size" else ""
    return value


def _after(row: Image, marker: Image, sort: Sequence[tuple[str, str]]) -> bool:
    """Whether ``row`` comes after ``marker`` in the order ``sort`` gives."""
    for key, direction in sort:
        a, b = _sort_value(row, key), _sort_value(marker, key)
        if a == b:
            continue
        return bool(a > b) if direction == "asc" else bool(a < b)
    return False


def list_images(s: Session, ctx: RequestContext, query: ImageQuery) -> ImagePage:
    """Images ``ctx`` may list, filtered, sorted and paged after ``query.marker``."""
    stmt = select(Image).where(_listable(ctx, query)).where(
        col(Image.status).not_in(("killed", "deleted")),
        col(Image.os_hidden) == query.os_hidden)
    for key, raw in query.filters.items():
        stmt = stmt.where(_filter_condition(key, raw))
    for tag in query.tags:
        tagged = select(ImageTag.image_id).where(ImageTag.value == tag)
        stmt = stmt.where(col(Image.id).in_(tagged))
    rows = list(s.exec(stmt).all())
    # Glance breaks ties by created_at, then id: in the direction given when there is only
    # one, else descending.
    sort = list(query.sort)
    directions = {d for _, d in sort}
    tie = directions.pop() if len(directions) == 1 else "desc"
    for key in ("created_at", "id"):
        if key not in (k for k, _ in sort):
            sort.append((key, tie))
    for key, direction in reversed(sort):
        rows.sort(key=partial(_sort_value, key=key), reverse=direction == "desc")
    if query.marker is not None:
        marker = s.get(Image, query.marker)
        if marker is None or not visible(s, ctx, marker):
            raise InvalidInput(f"No image found with ID {query.marker}")
        rows = [r for r in rows if _after(r, marker, sort)]
    page = rows[:query.limit]
    next_marker = page[-1].id if page and len(page) == query.limit else None
    return ImagePage([to_record(s, r) for r in page], next_marker)
