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

from sqlalchemy import JSON, TypeDecorator, event, inspect
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


def make_engine(url: str) -> Engine:
    """An engine for ``url``; in-memory SQLite shares one connection across threads."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":  # psycopg 3: what nova-emulator[postgresql] installs
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(f"no database driver {exc.name!r}: install "
                                      "nova-emulator[postgresql]", name=exc.name) from exc
    in_memory = parsed.database in (None, "", ":memory:")
    if in_memory:
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
    else:
        engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class Database:
    """Owns the engine; hands out sessions that commit on success and roll back on error."""

    def __init__(self, url: str, initial: Path | None = None) -> None:
        """The database at ``url``; ``initial``: a SQLite file (a snapshot's) whose whole
        content replaces what ``url`` held before the schema is brought up to date."""
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

        self.url = url
        self.engine = make_engine(url)
        if initial is not None:
            self._copy(initial, into_engine=True)
        existing = set(inspect(self.engine).get_table_names())
        SQLModel.metadata.create_all(self.engine)
        # create_all skips a table that exists, indexes and all: a state file made by an
        # older version gets the indexes added since here.
        for table in SQLModel.metadata.sorted_tables:
            if table.name in existing:
                for index in table.indexes:
                    index.create(self.engine, checkfirst=True)

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
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction of Core statements on a connection (committed when the block ends
        normally, rolled back otherwise): a hot path's writes without a session."""
        with self.engine.begin() as connection:
            yield connection

    def copy_to(self, target: Path) -> None:
        """A consistent copy of the whole database in the SQLite file ``target`` (SQLite's
        online backup: one step, so no write interleaves)."""
        self._copy(target, into_engine=False)

    def _copy(self, other: Path, into_engine: bool) -> None:
        if self.engine.dialect.name != "sqlite":
            raise ValueError(f"a {self.engine.dialect.name} database is not copied by "
                             "the emulator (SQLite only)")
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
