"""The hot paths' reads and writes: each statement built once, compiled once, run on the
driver.

A server's show and a page of the server list are a handful of keyed reads (the instance,
its metadata, tags, addresses, fault, group, volumes). Building and cache-keying an ORM
statement costs about ten times what SQLite takes to answer it, and even a prebuilt Core
statement spends most of its time in SQLAlchemy's execution machinery (about 15 us a
statement against SQLite's 2). A ``KeyedRead`` compiles its statement once per dialect,
runs it on the driver's cursor of the caller's connection (in the caller's transaction,
after a session's pending changes are flushed), and converts each column with its type's
own result processor, as SQLAlchemy would: the rows are what a Core read gives, as named
tuples (``row.uuid``). A ``Prebuilt`` write (an UPDATE, a DELETE, an INSERT) runs the same
way, its parameters converted by their types' bind processors.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import bindparam
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Delete, Insert, Select, Update
from sqlmodel import Session

#: What a read runs in: a session (a write path's, its changes flushed first) or a bare
#: connection (``Database.reading``).
Reader: TypeAlias = Session | Connection

#: The dialects whose driver's cursor the hot paths use directly (SQLite's: the costs above
#: are its own). On PostgreSQL a round trip costs more than SQLAlchemy's machinery, and
#: psycopg's converters need the types its cursor reports: its statements go through
#: SQLAlchemy's execution (same statements, same rows by name).
RAW_DIALECTS = frozenset({"sqlite"})

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


def _row_type(statement: Select[Any]) -> Any:
    """The named tuple of a read's rows (``row.uuid``, ``row._replace``)."""
    return namedtuple("KeyedRow", [c.key for c in statement.selected_columns],  # type: ignore[misc]
                      rename=True)


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
        self.row: Any = _row_type(one)
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
        self._row: Any = _row_type(self._one)

    def __call__(self, s: Reader, keys: Sequence[Any], **params: Any) -> list[KeyedRow]:
        if not keys:
            return []
        connection = connection_of(s)
        if connection.dialect.name not in RAW_DIALECTS:
            result = (connection.execute(self._one, {"key": keys[0], **params})
                      if len(keys) == 1 else
                      connection.execute(self._many, {"keys": list(keys), **params}))
            return [self._row._make(values) for values in result]
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


#: Parameters of one execution of a write, by bind name (an INSERT's: by column).
Params: TypeAlias = Mapping[str, Any]


class _WritePlan:
    """A write compiled for one dialect (and, for an INSERT, one set of columns)."""

    def __init__(self, statement: Insert | Update | Delete, dialect: Dialect,
                 columns: Sequence[str] | None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=columns)
        #: The columns left out whose default is Python's (a constant, or a callable's
        #: value): made per row, as SQLAlchemy makes them.
        self.defaults: dict[str, Any] = {}
        made: Any = [*getattr(compiled, "insert_prefetch", ()),
                     *getattr(compiled, "update_prefetch", ())]
        for column in made:
            default = column.default if isinstance(statement, Insert) else column.onupdate
            if default is None or not (default.is_scalar or default.is_callable):
                raise TypeError(f"column {column.key!r}: a value SQL makes: give it")
            self.defaults[column.key] = default
        order = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        # The statement's own values (``task_state=None`` too), not its parameters.
        given = {name: bind.value for name, bind in compiled.binds.items()
                 if not bind.required and not bind.callable}
        self.form = _Compiled(compiled.string, order, given)
        self.processors = {
            name: processor for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
            is not None}

    def arguments(self, params: Params) -> Sequence[Any] | dict[str, Any]:
        values = {**self.form.given, **params}
        for name, default in self.defaults.items():
            values[name] = default.arg(None) if default.is_callable else default.arg
        for name, process in self.processors.items():
            if name in values:
                values[name] = process(values[name])
        return values if self.form.order is None else tuple(
            values[name] for name in self.form.order)


class Prebuilt:
    """A write built once and run on the driver's cursor of the caller's connection (in
    its transaction: a ``Database.writing`` block or a session's, whose pending changes
    are flushed first); ``__call__`` returns the rows it changed. An INSERT of values is
    compiled for the columns its parameters give, the others' defaults made as
    SQLAlchemy makes them."""

    def __init__(self, statement: Insert | Update | Delete) -> None:
        self._statement = statement
        #: An INSERT of values (not of a SELECT's rows) is compiled for its columns.
        self._insert = isinstance(statement, Insert) and statement.select is None
        self._plans: dict[tuple[str, tuple[str, ...] | None], _WritePlan] = {}

    def __call__(self, s: Reader, params: Params | Sequence[Params]) -> int:
        many = not isinstance(params, Mapping)
        rows: Sequence[Params] = params if not isinstance(params, Mapping) else [params]
        if not rows:
            return 0
        connection = connection_of(s)
        if connection.dialect.name not in RAW_DIALECTS:
            result = connection.execute(self._statement, list(rows) if many else rows[0])
            return int(result.rowcount)
        columns = tuple(rows[0]) if self._insert else None
        key = (connection.dialect.name, columns)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _WritePlan(self._statement, connection.dialect, columns)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if many:
                cursor.executemany(plan.form.sql, [plan.arguments(row) for row in rows])
            else:
                cursor.execute(plan.form.sql, plan.arguments(rows[0]))
            return int(cursor.rowcount)
        finally:
            cursor.close()
