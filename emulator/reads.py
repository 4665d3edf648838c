"""The hot paths' reads: each statement built once, compiled once, run on the driver.

A server's show and a page of the server list are a handful of keyed reads (the instance,
its metadata, tags, addresses, fault, group, volumes). Building and cache-keying an ORM
statement costs about ten times what SQLite takes to answer it, and even a prebuilt Core
statement spends most of its time in SQLAlchemy's execution machinery (about 15 us a
statement against SQLite's 2). A ``KeyedRead`` compiles its statement once per dialect,
runs it on the driver's cursor of the caller's connection (in the caller's transaction,
after a session's pending changes are flushed), and converts each column with its type's
own result processor, as SQLAlchemy would: the rows are what a Core read gives, as named
tuples (``row.uuid``).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select
from sqlmodel import Session

#: What a read runs in: a session (a write path's, its changes flushed first) or a bare
#: connection (``Database.reading``).
Reader: TypeAlias = Session | Connection

#: A row of a keyed read: a named tuple of its statement's columns (``row.uuid``).
KeyedRow: TypeAlias = Any

def connection_of(s: Reader) -> Connection:
    """The connection a read runs on, with what ``s`` holds flushed."""
    if isinstance(s, Connection):
        return s
    s.flush()
    return s.connection()


@dataclass(frozen=True)
class _Compiled:
    """A statement compiled for one dialect: its SQL, the names of its positional
    parameters in order (None: the driver takes them by name), and the values of those
    the statement itself gave (``column == ""``)."""

    sql: str
    order: tuple[str, ...] | None
    given: dict[str, Any]

    def arguments(self, params: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        params = {**self.given, **params} if self.given else params
        return params if self.order is None else tuple(params[name] for name in self.order)


class _Plan:
    """A read compiled for one dialect: its one-key and many-key forms, its rows' converters."""

    def __init__(self, one: Select[Any], many: Select[Any], dialect: Dialect) -> None:
        compiled = one.compile(dialect=dialect)
        for name, bind in compiled.binds.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise TypeError(f"parameter {name!r} needs converting: not a keyed read's")
        order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        given = {name: bind.value for name, bind in compiled.binds.items()
                 if bind.value is not None and not bind.callable}
        self.one = _Compiled(compiled.string, order, given)
        self.many_compiled = many.compile(dialect=dialect)
        columns = list(one.selected_columns)
        self.row: Any = namedtuple("KeyedRow", [c.key for c in columns], rename=True)  # type: ignore[misc]
        processors = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                      for c in columns]
        self.converters: tuple[Callable[[Any], Any] | None, ...] | None = (
            tuple(processors) if any(processors) else None)

    def many_form(self, params: dict[str, Any]) -> tuple[_Compiled, dict[str, Any]]:
        """The statement with one parameter a key (a page's: made again each time, which
        costs well under 1 % of a page's read), and the parameters by its names."""
        expanded = self.many_compiled.construct_expanded_state(params)
        order = expanded.positiontup
        return (_Compiled(expanded.statement, tuple(order) if order is not None else None, {}),
                dict(expanded.parameters))

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[KeyedRow]:
        make, converters = self.row._make, self.converters
        if converters is None:
            return [make(values) for values in raw]
        return [make([value if convert is None else convert(value)
                      for convert, value in zip(converters, values, strict=True)])
                for values in raw]


class KeyedRead:
    """A read of the rows whose key column is one of some keys.

    ``build(match)`` makes the statement, ``match(column)`` its condition on the key;
    further parameters (``**params``) are bound by name and must be values the driver
    takes as they are (strings, numbers).
    """

    def __init__(self, build: Callable[[Callable[[Any], Any]], Select[Any]]) -> None:
        self._one = build(lambda column: column == bindparam("key"))
        self._many = build(lambda column: column.in_(bindparam("keys", expanding=True)))
        self._plans: dict[str, _Plan] = {}

    def __call__(self, s: Reader, keys: Sequence[Any], **params: Any) -> list[KeyedRow]:
        if not keys:
            return []
        connection = connection_of(s)
        plan = self._plans.get(connection.dialect.name)
        if plan is None:
            plan = self._plans[connection.dialect.name] = _Plan(
                self._one, self._many, connection.dialect)
        if len(keys) == 1:
            form, arguments = plan.one, {"key": keys[0], **params}
        else:
            form, arguments = plan.many_form({"keys": list(keys), **params})
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(form.sql, form.arguments(arguments))
            return plan.rows(cursor.fetchall())
        finally:
            cursor.close()
