"""The state database's schema under Alembic (emulator/schema): on SQLite, and on the
PostgreSQL server ``NOVA_EMULATOR_TEST_DATABASE`` names when a run has one (CI's
conformance-postgresql stage)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from emulator import schema
from emulator.compute.aggregates.models import Aggregate
from emulator.db import Database, all_tables, make_engine, table_of
from emulator.testing_databases import (
    create_scratch_database,
    drop_scratch_database,
    scratch_server,
)

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
KINDS = ["sqlite", *(["postgresql"] if scratch_server() is not None else [])]


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    server = scratch_server()
    assert server is not None
    state = create_scratch_database(server)
    yield state
    drop_scratch_database(state)


def revision_at(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return schema.revision_of(connection)
    finally:
        engine.dispose()


def test_every_revision_from_nothing_gives_what_the_models_say(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            command.upgrade(schema.alembic_config(connection), "head")
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, all_tables()) == []
            assert schema.revision_of(connection) == schema.head()
    finally:
        engine.dispose()


def test_an_empty_database_is_created_at_the_newest_revision(url: str) -> None:
    Database(url).close()
    assert revision_at(url) == schema.head()
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in all_tables().sorted_tables} <= tables


def test_a_database_made_before_migrations_is_adopted(url: str) -> None:
    """The tables of an older emulator, no alembic_version: what it lacked is added,
    its rows stay, and it is stamped."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            all_tables().create_all(connection, tables=[
                t for t in all_tables().sorted_tables if t.name in schema.initial_tables()])
            connection.execute(text("DROP TABLE seededhost"))
            connection.execute(text("DROP INDEX ix_instance_deleted_created"))
            connection.execute(table_of(Aggregate).insert(), {
                "uuid": "9d6f0a3e-0000-4000-8000-000000000001", "name": "kept",
                "created_at": WHEN})
        assert revision_at(url) is None
    finally:
        engine.dispose()
    db = Database(url)
    try:
        with db.reading() as connection:
            assert schema.revision_of(connection) == schema.head()
            found = inspect(connection)
            assert found.has_table("seededhost")
            assert "ix_instance_deleted_created" in {
                i["name"] for i in found.get_indexes("instance")}
            names = connection.execute(select(table_of(Aggregate).c.name)).scalars().all()
            assert names == ["kept"]
    finally:
        db.close()


def test_a_newer_schema_is_refused_before_anything_is_written(url: str) -> None:
    Database(url).close()
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    with pytest.raises(schema.SchemaTooNew) as refused:
        Database(url)
    assert str(refused.value) == (
        f"its schema is at revision '9999', which this nova-emulator does not know (its "
        f"newest is '{schema.head()}'): a newer nova-emulator made it; run that one, or "
        "start on another state")
    assert revision_at(url) == "9999"


def test_a_copy_goes_to_a_file_and_back_with_its_ids_going_on(url: str,
                                                               tmp_path: Path) -> None:
    """``copy_to`` (a snapshot's database) and ``initial`` (a snapshot loaded) keep every
    row; a table's ids go on after the largest copied (PostgreSQL's sequences reset)."""
    aggregates = table_of(Aggregate)
    db = Database(url)
    with db.writing() as connection:
        for number, name in enumerate(("a", "b", "c")):
            connection.execute(aggregates.insert(), {
                "uuid": f"9d6f0a3e-0000-4000-8000-00000000000{number}",
                "name": name, "created_at": WHEN})
        connection.execute(aggregates.delete().where(aggregates.c.name == "a"))
    copy = tmp_path / "copy.db"
    db.copy_to(copy)
    with db.writing() as connection:
        connection.execute(aggregates.delete())
    db.close()
    loaded = Database(url, initial=copy)
    try:
        with loaded.writing() as connection:
            rows = connection.execute(select(aggregates.c.id, aggregates.c.name)
                                      .order_by(aggregates.c.id)).all()
            assert [name for _, name in rows] == ["b", "c"]
            connection.execute(aggregates.insert(), {
                "uuid": "9d6f0a3e-0000-4000-8000-0000000000dd", "name": "d",
                "created_at": WHEN})
            new_id = connection.execute(select(aggregates.c.id).where(
                aggregates.c.name == "d")).scalar_one()
            assert new_id > max(id_ for id_, _ in rows)
    finally:
        loaded.close()
