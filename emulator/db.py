"""The state database: one SQLModel engine built from the ``--state`` URL.

Every table module is imported before ``create_all`` so the schema is complete.

NOTE on concurrency: request handlers run on the event loop and call the database
synchronously. Within one process that serialises every transaction, which is what makes
claims and quota checks atomic without locks; it is cheap because SQLite answers in
microseconds. Several API workers need a server database (PostgreSQL) and per-row
generation checks instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import JSON, Integer, MetaData, TypeDecorator, event, text
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.schema import Table
from sqlmodel import Session, SQLModel, create_engine

#: A Core row of any columns (they answer by name: ``row.uuid``).
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


#: JSON texts most JSON columns hold, and their values (made anew each time: callers may
#: change what they are given). ``["default"]``: a server's security groups.
_COMMON_JSON: dict[str, Callable[[], Any]] = {
    "{}": dict, "[]": list, "null": lambda: None, '["default"]': lambda: ["default"]}


class JSONValue(TypeDecorator[Any]):
    """``JSON``, reading the commonest texts (``{}``, ``[]``, ``null``) without a parse: a
    page of 1,000 servers reads six JSON columns a server."""

    impl = JSON
    cache_ok = True
    #: As ``JSON``: None is stored as JSON ``null`` (not left out of an INSERT).
    should_evaluate_none = True

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], Any] | None:
        parse = super().result_processor(dialect, coltype)
        if parse is None:  # the driver decodes JSON itself (PostgreSQL's)
            return None

        def process(value: Any) -> Any:
            common = _COMMON_JSON.get(value) if isinstance(value, str) else None
            return common() if common is not None else parse(value)

        return process


def table_of(model: type[SQLModel]) -> Table:
    """The table of a table model (for Core statements)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


#: What a NUL in a parameter is sent to PostgreSQL as (see ``_no_nul``).
NUL_STAND_IN = "\U0010ffff"


def _no_nul(_connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
            executemany: bool) -> tuple[str, Any]:
    """PostgreSQL's text holds no NUL (psycopg refuses to send one): a NUL in a parameter
    goes as U+10FFFF, a noncharacter no client sends. A filter or marker with one then
    matches nothing, as on SQLite (the API refuses NULs in what it stores)."""
    rows = parameters if executemany else [parameters]
    for row in rows:
        if isinstance(row, dict):
            for key, value in row.items():
                if isinstance(value, str) and "\x00" in value:
                    row[key] = value.replace("\x00", NUL_STAND_IN)
    return statement, parameters


def make_engine(url: str) -> Engine:
    """An engine for ``url``; in-memory SQLite shares one connection across threads."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":  # psycopg 3: what nova-emulator[postgresql] installs
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            engine = create_engine(parsed, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(f"no database driver {exc.name!r}: install "
                                      "nova-emulator[postgresql]", name=exc.name) from exc
        event.listen(engine, "before_cursor_execute", _no_nul, retval=True)
        return engine
    in_memory = parsed.database in (None, "", ":memory:")
    if in_memory:
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def all_tables() -> MetaData:
    """The metadata of every table of the state (each table module imported)."""
    # Import every table module so that the metadata knows all tables.
    from emulator.compute import models as _compute_models  # noqa: F401
    from emulator.compute.aggregates import models as _aggregate_models  # noqa: F401
    from emulator.compute.migrations import models as _migration_models  # noqa: F401
    from emulator.compute.quotas import models as _quota_models  # noqa: F401
    from emulator.compute.server_groups import models as _group_models  # noqa: F401
    from emulator.compute.services import models as _service_models  # noqa: F401
    from emulator.compute.volumes import models as _bdm_models  # noqa: F401
    from emulator.identity import models as _identity_models  # noqa: F401
    from emulator.image import models as _image_models  # noqa: F401
    from emulator.network import models as _network_models  # noqa: F401
    from emulator.volume import models as _volume_models  # noqa: F401

    return SQLModel.metadata


def _replace_rows(source: Connection, target: Connection) -> None:
    """Every table of ``target`` emptied and given ``source``'s rows (both at the same
    schema revision); PostgreSQL's sequences then go on after the largest ids copied."""
    tables = all_tables().sorted_tables
    for table in reversed(tables):
        target.execute(table.delete())
    for table in tables:
        rows = [dict(row) for row in source.execute(table.select()).mappings()]
        if rows:
            target.execute(table.insert(), rows)
        keys = list(table.primary_key.columns)
        if target.dialect.name == "postgresql" and len(keys) == 1 and \
                isinstance(keys[0].type, Integer):
            # NULL (nothing set) when the key has no sequence.
            key = keys[0].name
            target.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key}'), "
                f"coalesce(max({key}), 0) + 1, false) FROM {table.name}"))


@contextmanager
def _sqlite_file(path: Path) -> Iterator[Engine]:
    """An engine on the SQLite file ``path`` (a snapshot's), its schema brought up to date;
    disposed of afterwards."""
    from emulator import schema

    file = make_engine(f"sqlite:///{path}")
    try:
        schema.bring_up_to_date(file)
        yield file
    finally:
        file.dispose()


class Database:
    """Owns the engine; hands out sessions that commit on success and roll back on error."""

    def __init__(self, url: str, initial: Path | None = None) -> None:
        """The database at ``url``; ``initial``: a SQLite file (a snapshot's) whose whole
        content replaces what ``url`` held before the schema is brought up to date."""
        from emulator import schema

        self.url = url
        self.engine = make_engine(url)
        #: ``reading``'s engine: a server database's reads in autocommit, as each statement
        #: sees its own snapshot in a READ COMMITTED transaction all the same (no BEGIN
        #: and ROLLBACK round trips); SQLite's reads as they are.
        self._reader = self.engine if self.engine.dialect.name == "sqlite" else \
            self.engine.execution_options(isolation_level="AUTOCOMMIT")
        if initial is not None and self.engine.dialect.name == "sqlite":
            self._backup(initial, into_engine=True)
        schema.bring_up_to_date(self.engine)
        if initial is not None and self.engine.dialect.name != "sqlite":
            with _sqlite_file(initial) as file, file.connect() as source, \
                    self.engine.begin() as target:
                _replace_rows(source, target)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends normally, rolled back otherwise."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read of Core statements on a connection: no session (whose begin, flush and
        commit cost as much as a server's reads)."""
        with self._reader.connect() as connection:
            yield connection

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction of Core statements on a connection (committed when the block ends
        normally, rolled back otherwise): a hot path's writes without a session."""
        with self.engine.begin() as connection:
            yield connection

    def copy_to(self, target: Path) -> None:
        """A consistent copy of the whole database in the SQLite file ``target``: SQLite's
        online backup (one step, so no write interleaves), or every row of a server
        database read in one repeatable-read transaction (one snapshot of it)."""
        if self.engine.dialect.name == "sqlite":
            self._backup(target, into_engine=False)
            return
        with _sqlite_file(target) as file, self.engine.connect().execution_options(
                isolation_level="REPEATABLE READ") as source, source.begin(), \
                file.begin() as copy:
            _replace_rows(source, copy)

    def _backup(self, other: Path, into_engine: bool) -> None:
        raw = self.engine.raw_connection()
        try:
            mine = raw.driver_connection
            assert isinstance(mine, sqlite3.Connection)
            with closing(sqlite3.connect(other)) as file:
                if into_engine:
                    file.backup(mine)
                else:
                    mine.backup(file)
        finally:
            raw.close()

    def close(self) -> None:
        self.engine.dispose()
