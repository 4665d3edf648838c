"""Scratch state databases for tests: a fresh PostgreSQL database per emulator, dropped
when it stops.

``NOVA_EMULATOR_TEST_DATABASE`` names a PostgreSQL server as a URL of a role that may
create databases (``postgresql://nova:nova@127.0.0.1/nova``): every emulator the harness
starts without a state of its own then gets a new, empty database on that server (SQLite in
memory otherwise), and tests that restart an emulator on durable state ask for one with
``durable_state``. Unset, nothing here touches a server.

``NOVA_EMULATOR_TEST_WORKERS`` (with it) runs each such emulator of the simulated backend
with that many API workers (``serve --workers``).
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError

#: The PostgreSQL server (a URL whose role has CREATEDB) scratch databases are made on.
TEST_DATABASE_ENV = "NOVA_EMULATOR_TEST_DATABASE"
#: API workers of every emulator on a scratch database (simulated backend).
TEST_WORKERS_ENV = "NOVA_EMULATOR_TEST_WORKERS"
#: Every scratch database's name starts so .
PREFIX = "nova_emulator_test_"


def scratch_server() -> URL | None:
    """The server ``NOVA_EMULATOR_TEST_DATABASE`` names, or None when it is unset."""
    url = os.environ.get(TEST_DATABASE_ENV, "").strip()
    if not url:
        return None
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"{TEST_DATABASE_ENV} must be a postgresql:// URL, not {url!r}")
    return parsed.set(drivername="postgresql+psycopg")


def test_workers(state: str | None, backend: str) -> int:
    """The API workers an emulator of the tests runs with (1 unless asked for and
    possible: a PostgreSQL state, the simulated backend)."""
    workers = int(os.environ.get(TEST_WORKERS_ENV, "").strip() or 1)
    if state is None or backend != "simulated" or \
            make_url(state).get_backend_name() != "postgresql":
        return 1
    return workers


def _run_on_server(server: URL, statement: str) -> None:
    """``statement`` on the server's maintenance database, outside a transaction (as
    CREATE and DROP DATABASE must be)."""
    engine = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


def create_scratch_database(server: URL) -> str:
    """A new, empty database on ``server``; its URL (as ``--state`` takes it)."""
    name = PREFIX + secrets.token_hex(6)
    _run_on_server(server, f'CREATE DATABASE "{name}"')
    return server.set(database=name).render_as_string(hide_password=False)


def drop_scratch_database(state: str, attempts: int = 50) -> None:
    """Drop the scratch database ``state`` (its sessions ended first: a killed emulator's
    may linger); a database not made here is left alone.

    NOTE: before PostgreSQL 16 a role that is not a superuser (nor in ``pg_signal_backend``)
    cannot end an autovacuum worker that happens to be in the database: the drop is tried
    again until the worker is done (a fraction of a second on these databases)."""
    parsed = make_url(state)
    name = parsed.database or ""
    if not name.startswith(PREFIX):
        return
    for attempt in range(attempts):
        try:
            _run_on_server(parsed.set(drivername="postgresql+psycopg"),
                           f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def durable_state(directory: Path) -> str:
    """A state that outlives a restart: a scratch PostgreSQL database when the tests have a
    server, else a SQLite file in ``directory``."""
    server = scratch_server()
    if server is None:
        return f"sqlite:///{directory / 'state.db'}"
    return create_scratch_database(server)
