"""A page of the server list costs its page, not the table: the statements a marker page runs
and the work SQLite does for it stay the same at 2,000 and 20,000 servers. And the
indexes that make it so reach a state file made before them."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, inspect, text

from emulator.compute.listing import ServerQuery, list_servers
from emulator.compute.models import Instance
from emulator.db import Database
from emulator.schema import initial_tables

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LIMIT = 100
#: SQLite calls the progress handler every this many virtual machine instructions.
STEP = 100


def _rows(count: int) -> list[dict[str, Any]]:
    """``count`` servers, three in four of project p1, one in ten stopped, one in seven
    deleted, several created in the same second (ties the ``id`` key breaks)."""
    return [dict(uuid=str(uuid.UUID(int=index + 1)), display_name=f"s{index}",
                 hostname=f"s{index}", project_id="p2" if index % 4 == 3 else "p1",
                 user_id="u1", flavor_id="1", requested_networks=[],
                 vm_state="stopped" if index % 10 == 0 else "active",
                 created_at=T0 + timedelta(seconds=index // 3),
                 updated_at=T0 + timedelta(seconds=index // 3), deleted=index % 7 == 0)
            for index in range(count)]


@dataclass
class Cost:
    statements: int = 0  # SELECTs SQLite ran
    steps: int = 0  # SQLite VM instructions, in STEPs


@contextmanager
def counted(db: Database) -> Iterator[Cost]:
    cost = Cost()

    def traced(statement: str) -> None:
        cost.statements += statement.lstrip().upper().startswith("SELECT")

    def stepped() -> int:
        cost.steps += 1
        return 0

    with db.engine.connect() as connection:  # in memory: the one shared connection
        raw = connection.connection.dbapi_connection
        assert isinstance(raw, sqlite3.Connection)
        raw.set_trace_callback(traced)
        raw.set_progress_handler(stepped, STEP)
        try:
            yield cost
        finally:
            raw.set_progress_handler(None, STEP)
            raw.set_trace_callback(None)


def _database(count: int) -> Database:
    db = Database("sqlite://")
    with db.engine.begin() as connection:
        connection.execute(insert(Instance), _rows(count))
    return db


@pytest.fixture(scope="module")
def databases() -> dict[int, Database]:
    return {count: _database(count) for count in (2_000, 20_000)}


#: Marker pages (the marker: the server in the middle of the table) of the common kinds.
QUERIES = {
    "status ACTIVE": ServerQuery(project_id="p1", vm_state=frozenset({"active"})),
    "no filter": ServerQuery(project_id="p1"),
    "ascending": ServerQuery(project_id="p1", sort=(("created_at", "asc"), ("id", "asc"))),
    "all projects": ServerQuery(vm_state=frozenset({"active"})),
    "name regex": ServerQuery(project_id="p1", name="^s[0-9]*[02468]$"),
    "deleted": ServerQuery(project_id="p1", deleted=True),
}


@pytest.mark.parametrize("name", QUERIES)
def test_a_marker_page_costs_its_page(databases: dict[int, Database], name: str) -> None:
    costs: dict[int, Cost] = {}
    for count, db in databases.items():
        query = replace(QUERIES[name], limit=LIMIT, marker=str(uuid.UUID(int=count // 2)))
        with db.session() as s, counted(db) as cost:
            page = list_servers(s, query, [])
        assert len(page) == LIMIT
        costs[count] = cost
    small, large = costs[2_000], costs[20_000]
    # The marker, the page, and one read of each side table for the whole page (metadata,
    # tags, addresses, faults, groups, volumes), at either size.
    assert small.statements == large.statements == 2 + 6
    # Ten times the servers: the same work (the B-tree is a level deeper at most).
    assert large.steps <= small.steps * 1.3, (small, large)


def test_indexes_reach_an_older_state_file(tmp_path: Path) -> None:
    """A state file whose instance table predates the list's indexes (made before
    migrations began: no alembic_version) loads, gets them, and lists its servers."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    db = Database(url)
    wanted = {index.name for index in Instance.__table__.indexes}  # type: ignore[attr-defined]
    with db.engine.begin() as connection:
        for name in ("ix_instance_project_deleted_created", "ix_instance_deleted_created"):
            connection.execute(text(f"DROP INDEX {name}"))
        connection.execute(text("DROP TABLE alembic_version"))
        for later in set(inspect(connection).get_table_names()) - set(initial_tables()):
            connection.execute(text(f"DROP TABLE {later}"))  # what came after migrations
        connection.execute(insert(Instance), _rows(3))
    db.close()

    reopened = Database(url)
    present = {index["name"] for index in inspect(reopened.engine).get_indexes("instance")}
    assert wanted <= present
    with reopened.session() as s:
        page = list_servers(s, ServerQuery(project_id="p1", vm_state=frozenset({"active"})), [])
    assert [r.instance.display_name for r in page] == ["s2", "s1"]
    reopened.close()
